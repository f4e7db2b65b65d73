import click
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core.models.outbox import OutboxMessage
from grants.database import db
from grants.jobs import send_outbox

group = Group("outbox", help="Email waiting to be sent.")


@group.command("send")
@click.option("--limit", default=1000, show_default=True, help="Send at most this many.")
def send(limit: int) -> None:
    """Send every due email; failed ones are retried later with growing waits. (`flask jobs
    run` does this every 30 seconds.)"""
    result = send_outbox(most=limit, on_error=lambda line: click.echo(f"  {line}", err=True))
    click.echo(f"outbox: {result}")


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
