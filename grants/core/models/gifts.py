"""Gifts: credits a holder passes to a bandmate or crew member. Held as a pending ledger
transfer until the recipient accepts (posted) or declines, the giver revokes, or time runs
out (voided or expired). The giver learns the gift's state, never what became of it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime
from grants.core.i18n import _
from grants.core.models.cohorts import Cohort
from grants.core.models.people import User
from grants.core.models.programmes import ConsentText


class GiftStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Relationship(StrEnum):
    BANDMATE = "bandmate"
    CREW = "crew"
    TEAM = "team"  # team or management
    OTHER = "other"


# Messages (see grants.core.i18n): translate() them where they are shown.
RELATIONSHIP_LABELS = {
    Relationship.BANDMATE: _("a bandmate"),
    Relationship.CREW: _("crew"),
    Relationship.TEAM: _("team or management"),
    Relationship.OTHER: _("someone else"),
}


class Gift(Base):
    __tablename__ = "gifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_name: Mapped[str] = mapped_column(String(200))  # as the giver wrote it
    relationship_: Mapped[str] = mapped_column("relationship", String(10))
    message: Mapped[str] = mapped_column(String(280), default="")
    sessions: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default=GiftStatus.PENDING)
    # The pending transfer that holds the credits; chosen by the gift form, so a double
    # submit makes one gift.
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("transfers.id"), unique=True)
    # The secret half of the recipient's link.
    nonce: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))

    cohort: Mapped[Cohort] = relationship(lazy="joined")
    giver: Mapped[User] = relationship(foreign_keys=[giver_id])
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])
    consent_text: Mapped[ConsentText | None] = relationship()

    __table_args__ = (
        # At most one waiting gift from a giver to a recipient in a cohort: a second one is
        # refused (revoke and send again), so nobody receives two links for one intention.
        Index(
            "uq_gifts_one_pending_per_pair",
            "cohort_id",
            "giver_id",
            "recipient_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # The sweep's look-up of waiting gifts past their time, in id order: without it every
        # page read every gift there has ever been (and, a page at a time through a backlog,
        # all of them again each page).
        Index(
            "ix_gifts_waiting",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("sessions > 0", name="sessions_positive"),
        CheckConstraint("giver_id <> recipient_id", name="not_to_oneself"),
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')",
            name="known_status",
        ),
        CheckConstraint(
            "relationship IN ('bandmate', 'crew', 'team', 'other')", name="known_relationship"
        ),
    )

    def state_at(self, now: datetime) -> str:
        """The state everyone should see: a pending gift past its time is expired, whether
        or not the sweep has recorded it yet."""
        if self.status == GiftStatus.PENDING and now >= self.expires_at:
            return GiftStatus.EXPIRED
        return self.status

    def __repr__(self) -> str:
        return f"<Gift {self.id} {self.status}>"
