"""Settling what has lapsed (gifts, bookings), one item per transaction: used by the CLI
commands and the scheduled jobs alike."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from grants.core.db import commit_with_retry


def sweep(
    session: Session, find: Callable[[Session], list[int]], settle: Callable[[Session, int], bool]
) -> int:
    """Settle everything `find` returns, one item per transaction (few locks held; a conflict
    costs one item). Safe beside other sweepers: an item settled elsewhere is skipped."""
    total = 0
    while ids := find(session):
        session.rollback()  # the look-up holds nothing
        settled = [commit_with_retry(session, lambda i=i: settle(session, i)) for i in ids]
        total += sum(settled)
        if not any(settled):
            break  # what is left is being settled elsewhere
    return total
