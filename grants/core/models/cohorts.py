"""Cohorts (a programme's intake in one region) and ambassadors' enrolments in them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime
from grants.core.models.ledger import Ledger
from grants.core.models.people import User
from grants.core.models.programmes import ConsentText, Programme


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


class CohortStatus(StrEnum):
    UPCOMING = "upcoming"
    CURRENT = "current"
    CLOSED = "closed"


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    # ISO 3166-1 alpha-2: "US", "GB" (shown as UK), any country later.
    region: Mapped[str] = mapped_column(String(2))
    intake_name: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default=CohortStatus.UPCOMING)
    currency: Mapped[str] = mapped_column(String(3))
    # Money in minor units (cents, pence): integers, never floats.
    session_value: Mapped[int] = mapped_column(BigInteger)
    session_allowance: Mapped[int] = mapped_column()
    # The planned number of sessions; funding it is a ledger transfer.
    session_budget: Mapped[int] = mapped_column()
    gift_expiry_days: Mapped[int] = mapped_column(default=30)
    # A grant of more sessions than this needs a second approver before credits move.
    approval_threshold: Mapped[int] = mapped_column(default=6, server_default="6")
    # Issue the whole allowance as soon as an enrolment becomes active.
    upfront_allowance: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Gift rules. Whether people who were gifted credits may pass them on; the most one
    # recipient may receive from one giver; the most gifts a giver may have waiting.
    allow_regift: Mapped[bool] = mapped_column(default=False, server_default=false())
    gift_limit_per_recipient: Mapped[int] = mapped_column(default=6, server_default="6")
    open_gift_limit: Mapped[int] = mapped_column(default=5, server_default="5")
    # What a late cancel or no-show does: "pay" (the credit counts as used, the partner is
    # paid) or "return" (the credit goes back, nobody is paid).
    missed_session_policy: Mapped[str] = mapped_column(
        String(6), default="pay", server_default="pay"
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The cohort's own credits ledger (unit: one session).
    ledger_id: Mapped[int] = mapped_column(ForeignKey("ledgers.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    programme: Mapped[Programme] = relationship(lazy="joined")
    ledger: Mapped[Ledger] = relationship()

    __table_args__ = (
        UniqueConstraint("programme_id", "region", "intake_name"),
        CheckConstraint(_in("status", tuple(CohortStatus)), name="known_status"),
        CheckConstraint("session_value > 0", name="session_value_positive"),
        CheckConstraint("session_allowance > 0", name="allowance_positive"),
        CheckConstraint("session_budget >= 0", name="budget_not_negative"),
        CheckConstraint("gift_expiry_days > 0", name="gift_expiry_positive"),
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("region = upper(region)", name="region_upper_case"),
        CheckConstraint("approval_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("gift_limit_per_recipient > 0", name="gift_limit_positive"),
        CheckConstraint("open_gift_limit > 0", name="open_gift_limit_positive"),
        CheckConstraint("missed_session_policy IN ('pay', 'return')", name="known_missed_policy"),
    )

    @property
    def region_label(self) -> str:
        return region_label(self.region)

    @property
    def name(self) -> str:
        return f"{self.programme.code} {self.region_label} {self.intake_name}"

    def __repr__(self) -> str:
        return f"<Cohort {self.id}>"


def region_label(code: str) -> str:
    """How the programme writes a region: the UK is "UK", not its ISO code "GB"."""
    return "UK" if code == "GB" else code


class EnrolmentStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    CLOSED = "closed"
    REVOKED = "revoked"  # an invitation withdrawn before it was accepted


# An enrolment in these states holds a place in its cohort.
HOLDING_STATES = (EnrolmentStatus.INVITED, EnrolmentStatus.ACTIVE)


class Enrolment(Base):
    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    artist_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default=EnrolmentStatus.INVITED)
    # The secret half of the current invitation link; replaced on resend, cleared once used
    # or revoked, so each link works once and only the newest one works.
    invite_nonce: Mapped[str | None] = mapped_column(String(32))
    invitations_sent: Mapped[int] = mapped_column(default=0)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    consent_text: Mapped[ConsentText | None] = relationship()

    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id"),
        CheckConstraint(_in("status", tuple(EnrolmentStatus)), name="known_status"),
        CheckConstraint(
            "status <> 'active' OR (consent_text_id IS NOT NULL AND consented_at IS NOT NULL)",
            name="active_has_consent",
        ),
    )

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} {self.status}>"
