import click

from grants.cli.group import Group
from grants.core.gifts import sweep_lapsed_gifts
from grants.database import db

group = Group("gifts", help="Gifts between credit holders.")


@group.command("expire")
def expire() -> None:
    """Record every gift past its time as expired (its sessions go back to the giver).
    Safe to run on several hosts at once: each gift is settled once."""
    click.echo(f"gifts: {sweep_lapsed_gifts(db)} expired")
