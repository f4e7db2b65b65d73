"""Settling what has lapsed (gifts, bookings): used by the CLI commands and the scheduled
jobs alike."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from grants.core.db import commit_with_retry
from grants.core.errors import DomainError


def sweep(
    session: Session,
    find: Callable[[Session], list[int]],
    settle: Callable[[Session, int], bool],
    *,
    settle_many: Callable[[Session, list[int]], int] | None = None,
) -> int:
    """Settle everything `find` returns. With `settle_many`, each page `find` returns is
    settled in one transaction; should one item in it be refused, the page is settled
    again one item per transaction with `settle`, so one bad item costs only itself. Safe
    beside other sweepers: an item settled (or held) elsewhere is skipped."""
    total = 0
    while ids := find(session):
        session.rollback()  # the look-up holds nothing
        settled = _together(session, ids, settle_many) if settle_many else None
        if settled is None:
            settled = sum(commit_with_retry(session, lambda i=i: settle(session, i)) for i in ids)
        total += settled
        if not settled:
            break  # what is left is being settled elsewhere
    return total


def _together(session: Session, ids: list[int], settle_many) -> int | None:
    try:
        return commit_with_retry(session, lambda: settle_many(session, ids))
    except DomainError:
        return None  # rolled back: the items go one by one instead
