"""Running totals of paid sessions (per cohort, currency and month) for the finance reports.

Summing every confirmed voucher grows with the programme's history; these totals grow with
cohorts and months only. A session is counted once, when a partner's confirmation makes it
paid (`confirm_session`), in that same transaction: a confirmation that rolls back takes its
count with it. Nothing turns a paid session back into an unpaid one; a path that ever does
must subtract here too, and `drift` (run by the tests after every kind of change) says
whether the totals still equal a fresh sum over the vouchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from grants.core.models.partners import SessionTotal, Voucher, VoucherStatus

# The sessions the reports count: delivered, or missed under a policy that pays for them.
PAID_STATES = (VoucherStatus.CONFIRMED, VoucherStatus.MISSED)


def month_of(day: date) -> date:
    return day.replace(day=1)


def count_paid_session(session: Session, voucher: Voucher) -> None:
    """Add `voucher` (just made paid: status, session date and amount set) to its month."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SessionTotal).values(
        cohort_id=voucher.cohort_id,
        currency=voucher.currency,
        month=month_of(voucher.session_date),
        sessions=1,
        amount=voucher.amount,
    )
    # One statement whether or not the month has a row yet: two partners confirming at once
    # in a new month cannot both insert it.
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SessionTotal.cohort_id, SessionTotal.currency, SessionTotal.month],
            set_={
                "sessions": SessionTotal.sessions + 1,
                "amount": SessionTotal.amount + statement.excluded.amount,
            },
        )
    )


@dataclass(frozen=True)
class Drift:
    cohort_id: int
    currency: str
    month: date
    kept: tuple[int, int]  # (sessions, amount) in the totals
    counted: tuple[int, int]  # (sessions, amount) summed from the vouchers

    def __str__(self) -> str:
        return (
            f"cohort {self.cohort_id} {self.currency} {self.month:%Y-%m}: totals say "
            f"{self.kept[0]} sessions worth {self.kept[1]}, vouchers {self.counted[0]} "
            f"worth {self.counted[1]}"
        )


def _counted(session: Session) -> dict[tuple, tuple[int, int]]:
    """A fresh sum over every paid voucher (the slow way the totals replace)."""
    paid = session.execute(
        select(
            Voucher.cohort_id,
            Voucher.currency,
            Voucher.session_date,
            Voucher.amount,
        ).where(Voucher.status.in_(PAID_STATES), Voucher.amount.is_not(None))
    )
    counted: dict[tuple, tuple[int, int]] = {}
    for cohort_id, currency, session_date, amount in paid:
        key = (cohort_id, currency, month_of(session_date))
        sessions, total = counted.get(key, (0, 0))
        counted[key] = (sessions + 1, total + amount)
    return counted


def drift(session: Session) -> list[Drift]:
    """Every cohort, currency and month whose totals differ from its vouchers (empty when
    the totals are right). Reads every paid voucher: for checks, not for pages."""
    kept = {
        (row.cohort_id, row.currency, row.month): (row.sessions, int(row.amount))
        for row in session.scalars(select(SessionTotal))
    }
    counted = _counted(session)
    return [
        Drift(*key, kept.get(key, (0, 0)), counted.get(key, (0, 0)))
        for key in sorted(kept.keys() | counted.keys())
        if kept.get(key, (0, 0)) != counted.get(key, (0, 0))
    ]
