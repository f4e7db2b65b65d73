"""Partners (therapy providers and nonprofits), the sessions booked with them through
vouchers, and the money given to them directly (partner grants)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime
from grants.core.models.cohorts import Cohort
from grants.core.models.people import User


class PartnerKind(StrEnum):
    THERAPY = "therapy"  # delivers sessions, paid per confirmed session
    NONPROFIT = "nonprofit"  # receives direct support (partner grants)


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    # Only the masked form is ever stored ("•••• 6789"): payouts name it, nothing needs more.
    payout_reference: Mapped[str] = mapped_column(String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    regions: Mapped[list[PartnerRegion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (CheckConstraint("kind IN ('therapy', 'nonprofit')", name="known_kind"),)

    @property
    def region_codes(self) -> list[str]:
        return sorted(r.region for r in self.regions)

    def __repr__(self) -> str:
        return f"<Partner {self.id}>"


class PartnerRegion(Base):
    __tablename__ = "partner_regions"

    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(2), primary_key=True)


class VoucherStatus(StrEnum):
    BOOKED = "booked"  # a credit is held; the partner has not confirmed yet
    CONFIRMED = "confirmed"  # delivered: credit used, partner owed
    CANCELLED = "cancelled"  # by the holder before confirmation: credit back
    MISSED = "missed"  # late cancel or no-show, reported by the partner
    EXPIRED = "expired"  # never confirmed in time: credit back


class Voucher(Base):
    __tablename__ = "vouchers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short and unguessable, from letters and digits nobody confuses (no O/0, I/1/L).
    code: Mapped[str] = mapped_column(String(12), unique=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=VoucherStatus.BOOKED)
    hold_transfer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    session_date: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the partner is owed for it, snapshotted from the cohort at confirmation.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    partner: Mapped[Partner] = relationship(lazy="joined")
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])

    __table_args__ = (
        # The sweep's look-up of bookings past their time, in id order, among the few still
        # booked rather than every session ever delivered.
        Index(
            "ix_vouchers_booked",
            "id",
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        CheckConstraint(
            "status IN ('booked', 'confirmed', 'cancelled', 'missed', 'expired')",
            name="known_status",
        ),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
    )

    def state_at(self, now: datetime) -> str:
        if self.status == VoucherStatus.BOOKED and now >= self.expires_at:
            return VoucherStatus.EXPIRED
        return self.status


class SessionTotal(Base):
    """The paid sessions of one cohort in one currency and calendar month, and what they are
    worth: a running total that `confirm_session` adds to in the same transaction, so the
    finance home reads a row per cohort and month instead of summing every session ever
    delivered. `grants.core.session_totals` keeps it and checks it against the vouchers."""

    __tablename__ = "session_totals"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    sessions: Mapped[int]
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units

    __table_args__ = (
        CheckConstraint("sessions >= 0", name="sessions_not_negative"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class PartnerGrantStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class PartnerGrant(Base):
    """Money given straight to a partner: proposed by one member of staff, approved by
    another, then moved on the ledger from programme funding to the partner's payable."""

    __tablename__ = "partner_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    purpose: Mapped[str] = mapped_column(String(500))
    # Chosen when the proposal form is drawn: sent twice, it proposes once.
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    status: Mapped[str] = mapped_column(String(10), default=PartnerGrantStatus.PENDING)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_message: Mapped[str | None] = mapped_column(String(1000))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    partner: Mapped[Partner] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'declined', 'withdrawn')", name="known_status"
        ),
        CheckConstraint(
            "(status = 'approved') = (transfer_id IS NOT NULL)", name="approved_has_transfer"
        ),
    )
