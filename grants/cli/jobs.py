"""`flask jobs run|run-once|status`: the scheduled work, safe on several hosts at once."""

import signal
import threading

import click

from grants.cli.group import Group
from grants.core import jobs as leases
from grants.core.clock import clock
from grants.database import db
from grants.jobs import JOBS, run_forever, run_job

group = Group("jobs", help="Scheduled work: email, expiries, the resource check.")


@group.command("run")
@click.option(
    "--tick",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600),
    help="Seconds between looks at what is due.",
)
def run(tick: float) -> None:
    """Run every job on its interval until stopped (SIGTERM or Ctrl-C). Start it on one host
    or on several: each job runs on one of them at a time, and its schedule is kept in the
    database, not here. A job under way is finished before the runner stops."""
    stop = threading.Event()

    def _stop(signum, _frame):
        click.echo(f"jobs: {signal.Signals(signum).name}, stopping after the job under way")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    click.echo(f"jobs: running {', '.join(JOBS)} (every {tick:g} s, a look at what is due)")
    run_forever(stop, tick=tick)


@group.command("run-once")
@click.argument("name", type=click.Choice(list(JOBS)))
def run_once(name: str) -> None:
    """Run job NAME now, due or not (for a timer or by hand), unless another runner is
    doing it at this moment: then there is nothing to do here, and it exits 0."""
    outcome = run_job(name, force=True)
    if outcome.ran:
        click.echo(f"{name}: {outcome.result}")
        if not outcome.ok:
            raise SystemExit(1)
    elif outcome.held_by:
        click.echo(f"{name}: another runner ({outcome.held_by}) is doing it now; nothing to do")
    else:
        raise click.ClickException(f"{name}: {outcome.result or 'not run'}")


@group.command("status")
def status() -> None:
    """Each job: its interval, its last run and what it did, when it is next due, and who
    holds it now."""
    rows = {row.name: row for row in leases.states(db)}
    now = clock.now()
    for name, job in JOBS.items():
        row = rows.get(name)
        every = f"every {_span(job.every.total_seconds())}"
        if row is None:
            click.echo(f"{name:22} {every:14} never run")
            continue
        last = (
            f"last {row.last_outcome} {_when(row.last_finished_at, now)}: {row.last_result}"
            if row.last_finished_at
            else "never finished"
        )
        due = f"due {_when(row.next_due_at, now)}"
        held = (
            f"; running on {row.holder}"
            if row.lease_until is not None and row.lease_until >= now
            else ""
        )
        click.echo(f"{name:22} {every:14} {last}; {due}{held}")


def _when(moment, now) -> str:
    seconds = (moment - now).total_seconds()
    if abs(seconds) < 1:
        return "now"
    return f"in {_span(seconds)}" if seconds > 0 else f"{_span(-seconds)} ago"


def _span(seconds: float) -> str:
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.0f} s"
