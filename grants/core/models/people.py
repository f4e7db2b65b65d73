"""People who use the system and the roles they hold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class Role(StrEnum):
    AMBASSADOR = "ambassador"
    RECIPIENT = "recipient"
    PARTNER = "partner"
    STAFF = "staff"
    FINANCE = "finance"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so one person cannot hold two accounts by changing case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The language the person chose ("es"); None until they choose, so their browser's
    # language is used.
    locale: Mapped[str | None] = mapped_column(String(16))
    # The language their browser asked for when they last logged in: emails use it when
    # they have not chosen one.
    browser_locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped when a password changes or the user is disabled: sessions carrying the old
    # value stop working (see grants.auth).
    session_generation: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Two-factor sign-in (RFC 6238 TOTP): the shared secret once set up, when it was
    # switched on, and the last time step used (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # For partner users: the one partner they act for.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower_case"),)

    # What a login session needs to know of a user (Flask-Login's protocol, written out
    # here so the core does not import it). The generation in the id ends old sessions.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def language(self) -> str | None:
        """The language to write to them in: their choice, else their browser's."""
        return self.locale or self.browser_locale

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(role.role for role in self.roles)

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds any of `roles`."""
        return not self.role_names.isdisjoint(roles)

    def __repr__(self) -> str:  # ids only: names and emails stay out of logs
        return f"<User {self.id}>"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{role}'" for role in ROLES) + ")", name="known_role"
        ),
    )
