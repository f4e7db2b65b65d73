import click
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core.models.outbox import OutboxMessage
from grants.database import db
from grants.mailer import deliver

group = Group("outbox", help="Email waiting to be sent.")


@group.command("send")
@click.option("--limit", default=1000, show_default=True, help="Send at most this many.")
def send(limit: int) -> None:
    """Send every due email; failed ones are retried later with growing waits."""
    sent = retrying = failed = 0
    while sent + retrying + failed < limit:
        report = deliver(limit=min(100, limit - sent - retrying - failed))
        if not (report.sent or report.retrying or report.failed):
            break
        sent, retrying, failed = (
            sent + report.sent,
            retrying + report.retrying,
            failed + report.failed,
        )
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        if report.retrying and not report.sent:
            break  # the server is refusing everything right now: stop and wait
    click.echo(f"outbox: {sent} sent, {retrying} to retry later, {failed} refused for good")


@group.command("status")
def status() -> None:
    """How many emails are in each state."""
    counts = dict(
        db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    )
    click.echo(
        ", ".join(
            f"{state}: {counts.get(state, 0)}" for state in ("pending", "sending", "sent", "failed")
        )
    )
