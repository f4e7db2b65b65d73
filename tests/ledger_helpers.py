"""Short ways to build accounts and transfers in ledger tests."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core.ledger import (
    NewTransfer,
    TransferKind,
    apply_transfers,
    get_or_create_ledger,
    open_account,
)
from grants.core.models.ledger import Account


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def single(debit, credit, amount, *, id=None, code="test") -> NewTransfer:
    return NewTransfer(
        id=id or new_id(),
        debit_account_id=_id(debit),
        credit_account_id=_id(credit),
        amount=amount,
        code=code,
    )


def pending(debit, credit, amount, *, id=None, timeout=None, code="hold") -> NewTransfer:
    return NewTransfer(
        id=id or new_id(),
        debit_account_id=_id(debit),
        credit_account_id=_id(credit),
        amount=amount,
        kind=TransferKind.PENDING,
        timeout=timeout,
        code="hold",
    )


def resolve(kind, pending_id, *, amount=None, id=None) -> NewTransfer:
    return NewTransfer(id=id or new_id(), kind=kind, pending_id=pending_id, amount=amount)


def post(pending_id, **kw) -> NewTransfer:
    return resolve(TransferKind.POST, pending_id, **kw)


def void(pending_id, **kw) -> NewTransfer:
    return resolve(TransferKind.VOID, pending_id, **kw)


def expire(pending_id, **kw) -> NewTransfer:
    return resolve(TransferKind.EXPIRE, pending_id, **kw)


def _id(account) -> int:
    # Accounts or raw ids; anything else passes through so tests can send bad input.
    return getattr(account, "id", account)


def balances(session: Session, account) -> tuple[int, int, int, int]:
    """(debits_pending, debits_posted, credits_pending, credits_posted), read afresh."""
    row = session.execute(
        select(
            Account.debits_pending,
            Account.debits_posted,
            Account.credits_pending,
            Account.credits_posted,
        ).where(Account.id == _id(account))
    ).one()
    return tuple(row)


class Books:
    """A ledger with a source account (no limit) and helpers to open funded wallets."""

    def __init__(self, session: Session, code: str = "test:credits") -> None:
        self.session = session
        self.ledger = get_or_create_ledger(session, code, unit="session", name=code)
        self.source = open_account(session, self.ledger, "source")
        self._count = 0

    def wallet(self, funded: int = 0) -> Account:
        """A wallet that must not go below zero, holding `funded` posted credits."""
        self._count += 1
        account = open_account(
            self.session, self.ledger, f"wallet{self._count}", debits_must_not_exceed_credits=True
        )
        if funded:
            apply_transfers(self.session, [single(self.source, account, funded)])
        return account

    def sink(self) -> Account:
        self._count += 1
        return open_account(self.session, self.ledger, f"sink{self._count}")
