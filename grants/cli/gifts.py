import click

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.gifts import expire_gift, lapsed_gift_ids
from grants.database import db

group = Group("gifts", help="Gifts between credit holders.")


@group.command("expire")
def expire() -> None:
    """Record every gift past its time as expired (its sessions go back to the giver).
    Safe to run on several hosts at once: each gift is settled once."""
    total = 0
    while ids := lapsed_gift_ids(db):
        db.rollback()  # the look-up holds nothing; each gift gets its own transaction
        settled = [commit_with_retry(db, lambda i=i: expire_gift(db, i)) for i in ids]
        total += sum(settled)
        if not any(settled):
            break  # what is left is being settled elsewhere
    click.echo(f"gifts: {total} expired")
