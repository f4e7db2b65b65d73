import click

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.gifts import expire_lapsed_gifts
from grants.database import db

group = Group("gifts", help="Gifts between credit holders.")


@group.command("expire")
def expire() -> None:
    """Record every gift past its time as expired (its sessions go back to the giver).
    Safe to run on several hosts at once: each gift is settled once."""
    total = 0
    while True:
        done = commit_with_retry(db, lambda: expire_lapsed_gifts(db))
        total += done
        if not done:
            break
    click.echo(f"gifts: {total} expired")
