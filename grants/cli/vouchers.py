import click

from grants.cli.group import Group
from grants.core.sweep import sweep
from grants.core.vouchers import expire_voucher, lapsed_voucher_ids
from grants.database import db

group = Group("vouchers", help="Booked sessions.")


@group.command("expire")
def expire() -> None:
    """Record every booking not confirmed in time as expired (its session goes back to the
    holder). Safe to run on several hosts at once."""
    click.echo(f"vouchers: {sweep(db, lapsed_voucher_ids, expire_voucher)} expired")
