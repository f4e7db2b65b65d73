"""Login sessions kept on the server, so that logging out, a password change or a disabled
account ends a session even if someone kept a copy of its cookie."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random token in the browser's (signed) session cookie: a copy of
    # this table does not let anyone take over a session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # logout, idle, expired, password, disabled, erased
    ended_reason: Mapped[str | None] = mapped_column(String(16))


class RecoveryCode(Base):
    """A one-time code for signing in when the authenticator is lost. Only a SHA-256 of
    it is kept: the codes are random and long, so no slow hash is needed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
