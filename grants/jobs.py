"""The scheduled jobs, and running them: once on demand, or in a loop on their intervals.

Each job is safe on several hosts at once. A runner first claims the job's lease
(grants.core.jobs): one runner wins, the others skip it. And the work itself is idempotent
(each email claimed before it is sent, each gift and voucher settled under a lock and only
if still open, each resource flagged only if not flagged yet), so even a runner that outlived
its lease shares the work and never does it twice.

The loop keeps no schedule of its own: when each job is next due lives in the database,
so loops on two hosts keep one schedule between them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import DBAPIError

from grants.core import audit
from grants.core import jobs as leases
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.gifts import sweep_lapsed_gifts
from grants.core.stale_resources import flag_stale
from grants.core.sweep import sweep
from grants.core.vouchers import expire_voucher, lapsed_voucher_ids
from grants.database import db
from grants.mailer import deliver

log = logging.getLogger("grants.jobs")

OUTBOX_BATCH = 100
OUTBOX_MOST_PER_RUN = 1000


class Lease:
    """The running job's hold on its row: `keep()` between batches extends it, and says
    whether this runner still holds it (if not, stop: another runner has the job)."""

    def __init__(self, name: str, token: str) -> None:
        self.name, self.token = name, token

    def keep(self) -> bool:
        maker = current_app.extensions["grants.sessionmaker"]
        with maker() as session:
            return commit_with_retry(session, lambda: leases.renew(session, self.name, self.token))


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    work: Callable[[Lease], str]  # does the work, returns what it did in counts
    sends_mail: bool = False  # left to another host where MAIL_BACKEND=none


def send_outbox(
    lease: Lease | None = None,
    most: int = OUTBOX_MOST_PER_RUN,
    on_error: Callable[[str], None] | None = None,
) -> str:
    """Send every due email (at most `most`); failed ones wait, doubling, to be retried.
    Each failure is told to `on_error` (default: the log) by message id and error type."""
    on_error = on_error or (lambda line: log.warning("outbox: %s", line))
    sent = retrying = failed = 0
    while sent + retrying + failed < most:
        report = deliver(limit=min(OUTBOX_BATCH, most - sent - retrying - failed))
        sent, retrying, failed = (
            sent + report.sent,
            retrying + report.retrying,
            failed + report.failed,
        )
        for error in report.errors:
            on_error(error)
        if not (report.sent or report.retrying or report.failed):
            break
        if report.retrying and not report.sent:
            break  # the server is refusing everything right now: stop and wait
        if lease is not None and not lease.keep():
            break
    return f"{sent} sent, {retrying} to retry later, {failed} refused for good"


def _expire_gifts(lease: Lease) -> str:
    """Settle gifts past their time: the sessions go back to the giver, who is told."""
    return f"{sweep_lapsed_gifts(db)} expired"


def _expire_vouchers(lease: Lease) -> str:
    """Settle bookings never confirmed in time: the credit goes back to its holder."""
    return f"{sweep(db, lapsed_voucher_ids, expire_voucher)} expired"


def _flag_stale_resources(lease: Lease) -> str:
    """Flag directory entries unchecked for 12 months and tell staff (by email, which the
    outbox job sends later in the same turn of the loop)."""
    report = commit_with_retry(db, lambda: flag_stale(db, clock.today()))
    return f"{report.flagged} newly due a check, {report.cleared} cleared, {report.told} staff told"


# In the order a turn of the loop runs them: email last, so what the others queue (a
# giver told their gift lapsed) goes out in the same turn.
JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("gifts-expire", timedelta(minutes=5), _expire_gifts),
        Job("vouchers-expire", timedelta(minutes=15), _expire_vouchers),
        Job("resources-flag-stale", timedelta(hours=6), _flag_stale_resources),
        Job("outbox-send", timedelta(seconds=30), send_outbox, sends_mail=True),
    )
}


@dataclass(frozen=True)
class Outcome:
    name: str
    ran: bool  # False: another runner held it (or, in the loop, it was not due)
    ok: bool = True
    result: str = ""
    held_by: str | None = None


def _mail_is_on() -> bool:
    return current_app.config["MAIL_BACKEND"] != "none"


def run_job(name: str, *, force: bool = False, holder: str | None = None) -> Outcome:
    """Run job `name` if this runner can claim it: when it is due, or at once if `force`.
    Needs an application context; the work runs in a fresh one (its own database session)."""
    job = JOBS[name]
    if job.sends_mail and not _mail_is_on():
        # Not even claimed, so that a host that does send email gets it.
        return Outcome(name, ran=False, ok=False, result="MAIL_BACKEND=none: no email here")
    holder = holder or leases.holder_name()
    maker = current_app.extensions["grants.sessionmaker"]
    with maker() as session:
        commit_with_retry(session, lambda: leases.ensure(session, [name]))
        token = commit_with_retry(
            session, lambda: leases.claim(session, name, holder=holder, force=force)
        )
        if token is None:
            other, _until = leases.held_by(session, name)
            session.rollback()
            return Outcome(name, ran=False, held_by=other)
    started = time.monotonic()
    try:
        with current_app.app_context(), audit.origin("job"):
            result, ok = job.work(Lease(name, token)), True
    except Exception as error:
        result, ok = f"failed: {type(error).__name__}", False
        # The type and the stack: an error's text can quote the values it was given.
        log.error("job %s failed: %s", name, type(error).__name__, exc_info=True)
    with maker() as session:
        commit_with_retry(
            session,
            lambda: leases.finish(session, name, token, ok=ok, result=result, every=job.every),
        )
    took = round((time.monotonic() - started) * 1000)
    log.info("job %s %s in %d ms: %s", name, "done" if ok else "failed", took, result)
    return Outcome(name, ran=True, ok=ok, result=result)


def run_due(holder: str | None = None) -> list[Outcome]:
    """One turn of the loop: each job that is due, if no other runner has it."""
    return [run_job(name, holder=holder) for name in JOBS]


def run_forever(stop: threading.Event, *, tick: float = 10.0) -> None:
    """Run the jobs on their intervals until `stop` is set (SIGTERM, Ctrl-C). A database
    that cannot be reached is waited for: the loop never dies of it."""
    holder = leases.holder_name()
    log.info("jobs runner %s started: %s", holder, ", ".join(JOBS))
    while not stop.is_set():
        try:
            run_due(holder)
        except DBAPIError as error:
            log.warning("jobs: database unavailable (%s); trying again", type(error).__name__)
        stop.wait(tick)
    log.info("jobs runner %s stopped", holder)
