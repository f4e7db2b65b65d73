"""Payout batches: what finance pays partners, per currency, up to a cut-off date.

A batch is built (draft), approved by a second finance user (each line becomes a pending
ledger transfer from the partner's payable), and each line is then paid (posted) or failed
(voided: owed again). Each line lists exactly which ledger credits it pays, so exports add
up to the ledger and nothing is paid twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime
from grants.core.models.partners import Partner


class BatchStatus(StrEnum):
    DRAFT = "draft"  # built, nothing held yet
    APPROVED = "approved"  # lines held on the ledger, being paid
    CLOSED = "closed"  # every line paid or failed
    DISCARDED = "discarded"  # a draft thrown away


class LineStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"  # approved: held from the partner's payable
    PAID = "paid"
    FAILED = "failed"  # the payment did not go through: owed again


class PayoutBatch(Base):
    __tablename__ = "payout_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    cutoff: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=BatchStatus.DRAFT)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[PayoutLine]] = relationship(
        back_populates="batch", order_by="PayoutLine.id", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'approved', 'closed', 'discarded')", name="known_status"
        ),
    )

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


class PayoutLine(Base):
    __tablename__ = "payout_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=LineStatus.DRAFT)
    hold_transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    paid_on: Mapped[date | None] = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[PayoutBatch] = relationship(back_populates="lines")
    partner: Mapped[Partner] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('draft', 'pending', 'paid', 'failed')", name="known_status"),
    )


class PayoutItem(Base):
    """One ledger credit to a partner's payable (a confirmed session, a partner grant) that
    a payout line pays."""

    __tablename__ = "payout_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("payout_lines.id"), index=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("transfers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)
