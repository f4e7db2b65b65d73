import click

from grants.cli.group import Group
from grants.core.gifts import expire_gift, lapsed_gift_ids
from grants.core.sweep import sweep
from grants.database import db

group = Group("gifts", help="Gifts between credit holders.")


@group.command("expire")
def expire() -> None:
    """Record every gift past its time as expired (its sessions go back to the giver).
    Safe to run on several hosts at once: each gift is settled once."""
    click.echo(f"gifts: {sweep(db, lapsed_gift_ids, expire_gift)} expired")
