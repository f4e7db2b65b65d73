"""The double-entry ledger's tables, after TigerBeetle's model.

A ledger is a unit (sessions of one cohort, or one currency's minor units). Accounts hold
four running balances; transfers are immutable rows that move an integer amount from a
debit account to a credit account on the same ledger. Only grants.core.ledger writes here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class TransferKind(StrEnum):
    SINGLE = "single"  # posted at once
    PENDING = "pending"  # holds the amount until posted, voided or expired
    POST = "post"  # completes a pending transfer (possibly for less)
    VOID = "void"  # cancels a pending transfer
    EXPIRE = "expire"  # records that a pending transfer's time ran out


RESOLVING_KINDS = (TransferKind.POST, TransferKind.VOID, TransferKind.EXPIRE)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class Ledger(Base):
    __tablename__ = "ledgers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A stable key the code looks ledgers up by, e.g. "cohort:12:credits" or "money:GBP".
    code: Mapped[str] = mapped_column(String(64), unique=True)
    # "session" for a credits ledger; an ISO 4217 code (minor units) for a money ledger.
    unit: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id"))
    # What kind of account: "budget", "wallet", "redeemed", "funding", "payable", ...
    code: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(default=False)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    __table_args__ = (
        # One account of a kind per owner per ledger. coalesce() because NULLs never clash
        # in a unique index, and system accounts have no owner.
        Index(
            "uq_accounts_ledger_code_owner",
            "ledger_id",
            "code",
            func.coalesce(user_id, 0),
            func.coalesce(partner_id, 0),
            unique=True,
        ),
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0"
            " AND credits_pending >= 0 AND credits_posted >= 0",
            name="balances_not_negative",
        ),
        CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="one_limit_flag",
        ),
        # The limits hold in the database itself, not only in the code that writes.
        CheckConstraint(
            "NOT debits_must_not_exceed_credits"
            " OR debits_pending + debits_posted <= credits_posted",
            name="debits_within_credits",
        ),
        CheckConstraint(
            "NOT credits_must_not_exceed_debits"
            " OR credits_pending + credits_posted <= debits_posted",
            name="credits_within_debits",
        ),
    )

    @property
    def available(self) -> int:
        """What can still be debited from an account that must not go below zero."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.code} ledger={self.ledger_id}>"


class Transfer(Base):
    """An immutable movement. Triggers on both databases refuse UPDATE and DELETE."""

    __tablename__ = "transfers"

    # Chosen by the caller: it is the idempotency key.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id"))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    # For post, void and expire: the pending transfer they resolve. Unique: once only.
    pending_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )
    # For pending transfers that lapse: seconds, and the moment they run out.
    timeout: Mapped[int | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the movement is for in the programme's words ("grant", "gift", ...).
    code: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    __table_args__ = (
        # Timed holds by the account they debit: the ledger looks for lapsed ones there.
        Index(
            "ix_transfers_timed_holds",
            "debit_account_id",
            "expires_at",
            sqlite_where=text("kind = 'pending' AND expires_at IS NOT NULL"),
            postgresql_where=text("kind = 'pending' AND expires_at IS NOT NULL"),
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("kind", tuple(TransferKind)), name="known_kind"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(
            f"({_in('kind', RESOLVING_KINDS)}) = (pending_id IS NOT NULL)",
            name="pending_id_iff_resolving",
        ),
        CheckConstraint(
            "timeout IS NULL OR (kind = 'pending' AND timeout > 0 AND expires_at IS NOT NULL)",
            name="timeout_only_pending",
        ),
    )

    def __repr__(self) -> str:
        return f"<Transfer {self.id} {self.kind} {self.amount}>"
