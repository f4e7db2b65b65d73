"""Starting, checking and ending login sessions (see models.sessions).

A session ends on logout, after `idle` without a request, `absolute` after login
whatever happens, and when the person's password changes or their account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grants.core.clock import clock
from grants.core.models.sessions import LoginSession

# Writing last_seen on every request would make every page a write; a minute is
# precise enough for an idle timeout measured in tens of minutes.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user_id: int) -> str:
    """A new session for `user_id`; returns the token for the browser's cookie."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_hash(token), user_id=user_id))
    return token


def check(
    session: Session, token: str | None, user_id: int, *, idle: timedelta, absolute: timedelta
) -> LoginSession | None:
    """The live session behind `token`, or None (ending it if it has just timed out)."""
    if not token:
        return None
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(token)))
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None
    now = clock.now()
    reason = None
    if now - row.created_at >= absolute:
        reason = "expired"
    elif now - row.last_seen_at >= idle:
        reason = "idle"
    if reason:
        row.ended_at, row.ended_reason = now, reason
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, token: str | None, reason: str = "logout") -> None:
    if token:
        session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == _hash(token), LoginSession.ended_at.is_(None))
            .values(ended_at=clock.now(), ended_reason=reason)
        )


def end_all(session: Session, user_id: int, reason: str, *, keep: str | None = None) -> int:
    """End every live session of a person (but `keep`, the one making the change)."""
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(LoginSession.token_hash != _hash(keep))
    return session.execute(query.values(ended_at=clock.now(), ended_reason=reason)).rowcount
