import click

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.vouchers import expire_voucher, lapsed_voucher_ids
from grants.database import db

group = Group("vouchers", help="Booked sessions.")


@group.command("expire")
def expire() -> None:
    """Record every booking not confirmed in time as expired (its session goes back to the
    holder). Safe to run on several hosts at once."""
    total = 0
    while ids := lapsed_voucher_ids(db):
        db.rollback()
        settled = [commit_with_retry(db, lambda i=i: expire_voucher(db, i)) for i in ids]
        total += sum(settled)
        if not any(settled):
            break
    click.echo(f"vouchers: {total} expired")
