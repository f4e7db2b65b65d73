"""Grants: session credits an ambassador asked for (or was given on joining), and the
staff decisions on them. An approved grant points at the ledger transfer that issued it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.people import User


class GrantStatus(StrEnum):
    PENDING = "pending"  # waiting for staff
    AWAITING_SECOND = "second"  # above the cohort's threshold: one approval in, one to go
    APPROVED = "approved"  # credits issued
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # by the ambassador, while still open


OPEN_STATES = (GrantStatus.PENDING, GrantStatus.AWAITING_SECOND)


class GrantKind(StrEnum):
    REQUEST = "request"  # asked for by the ambassador
    UPFRONT = "upfront"  # the whole allowance, issued when the enrolment became active


class Grant(Base):
    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=GrantKind.REQUEST)
    status: Mapped[str] = mapped_column(String(10), default=GrantStatus.PENDING)
    # Counts of sessions only: no reason, diagnosis or any clinical field, by design.
    sessions_asked: Mapped[int] = mapped_column()
    sessions_proposed: Mapped[int | None] = mapped_column()  # by the first of two approvers
    sessions_approved: Mapped[int | None] = mapped_column()
    first_approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_message: Mapped[str | None] = mapped_column(String(1000))
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("transfers.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    # Loaded with the grants, in one query for a page of them (the staff queue shows each
    # one's artist name): lazily, it was one query per row.
    enrolment: Mapped[Enrolment] = relationship(lazy="selectin")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        # The staff queue: open requests, oldest (or newest) first, without reading the
        # decided ones, which grow with every grant ever made. Partial: a (status,
        # created_at) index cannot give two statuses in date order, so the planner walked
        # every grant by date instead. The queue writes the states into its SQL to match.
        Index(
            "ix_grants_open_created_at",
            "created_at",
            "id",
            sqlite_where=text("status IN ('pending', 'second')"),
            postgresql_where=text("status IN ('pending', 'second')"),
        ),
        # One open request per enrolment, whoever sends it and however fast.
        Index(
            "uq_grants_one_open_per_enrolment",
            "enrolment_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'second')"),
            postgresql_where=text("status IN ('pending', 'second')"),
        ),
        CheckConstraint("sessions_asked > 0", name="asked_positive"),
        CheckConstraint(
            "sessions_approved IS NULL OR"
            " (sessions_approved > 0 AND sessions_approved <= sessions_asked)",
            name="approved_within_asked",
        ),
        CheckConstraint(
            "(status = 'approved') = (transfer_id IS NOT NULL AND sessions_approved IS NOT NULL)",
            name="approved_has_transfer",
        ),
        CheckConstraint(
            "status IN ('pending', 'second', 'approved', 'declined', 'withdrawn')",
            name="known_status",
        ),
        CheckConstraint("kind IN ('request', 'upfront')", name="known_kind"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    def __repr__(self) -> str:
        return f"<Grant {self.id} {self.status}>"
