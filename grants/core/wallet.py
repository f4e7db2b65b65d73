"""What a credit holder sees of their own sessions: balances per cohort, and the history of
their movements in plain words. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from grants.core.funding import WALLET, allowance_left, open_request
from grants.core.models.cohorts import Cohort, Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant, GrantKind
from grants.core.models.ledger import Account, Transfer


@dataclass
class CohortWallet:
    cohort: Cohort
    available: int = 0
    pending_out: int = 0  # gifted or booked, not settled yet
    pending_in: int = 0  # gifted to them, not accepted yet
    enrolment: Enrolment | None = None  # their own place, if they are an ambassador here
    allowance_left: int = 0
    open_request: Grant | None = None

    @property
    def can_ask(self) -> bool:
        return (
            self.enrolment is not None
            and self.enrolment.status == EnrolmentStatus.ACTIVE
            and self.cohort.status == "current"
            and self.open_request is None
            and self.allowance_left > 0
        )


def wallets(session: Session, user_id: int) -> list[CohortWallet]:
    """One entry per cohort where the user holds credits or an active place."""
    found: dict[int, CohortWallet] = {}
    for account, cohort in session.execute(
        select(Account, Cohort)
        .join(Cohort, Cohort.ledger_id == Account.ledger_id)
        .where(Account.user_id == user_id, Account.code == WALLET)
    ):
        found[cohort.id] = CohortWallet(
            cohort=cohort,
            available=account.available,
            pending_out=account.debits_pending,
            pending_in=account.credits_pending,
        )
    for enrolment in session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ):
        entry = found.setdefault(enrolment.cohort_id, CohortWallet(cohort=enrolment.cohort))
        entry.enrolment = enrolment
        entry.allowance_left = allowance_left(session, enrolment)
        entry.open_request = open_request(session, enrolment.id)
    return sorted(found.values(), key=lambda w: (w.cohort.status != "current", w.cohort.name))


@dataclass
class HistoryLine:
    at: datetime
    cohort: str
    text: str


def history(
    session: Session, user_id: int, *, page: int, per_page: int = 20
) -> tuple[list[HistoryLine], int]:
    """The user's wallet movements, newest first, in plain words; and how many in all."""
    wallet_ids = select(Account.id).where(Account.user_id == user_id, Account.code == WALLET)
    touching = or_(
        Transfer.debit_account_id.in_(wallet_ids), Transfer.credit_account_id.in_(wallet_ids)
    )
    total = session.scalar(select(func.count()).select_from(Transfer).where(touching))
    rows = session.execute(
        select(Transfer, Cohort, Grant)
        .join(Cohort, Cohort.ledger_id == Transfer.ledger_id)
        .outerjoin(Grant, Grant.transfer_id == Transfer.id)
        .where(touching)
        .order_by(Transfer.created_at.desc(), Transfer.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [
        HistoryLine(transfer.created_at, cohort.name, _describe(transfer, grant))
        for transfer, cohort, grant in rows
    ], total


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _describe(transfer: Transfer, grant: Grant | None) -> str:
    if grant is not None:
        if grant.kind == GrantKind.UPFRONT:
            return f"{_sessions(transfer.amount)} issued when you joined"
        if grant.sessions_approved < grant.sessions_asked:
            return f"{_sessions(transfer.amount)} approved (of {grant.sessions_asked} asked for)"
        return f"{_sessions(transfer.amount)} approved"
    return f"{_sessions(transfer.amount)} moved"
