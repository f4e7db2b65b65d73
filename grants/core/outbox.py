"""Queueing email in the outbox and the state of each message as senders work on it.

Delivery itself (rendering and SMTP) is at the edge, in grants.mailer. Senders claim a
message with a conditional UPDATE before sending, so two senders on two hosts never send
the same message; a claim is a lease, so a sender that dies mid-way does not lose it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from grants.core.clock import clock
from grants.core.models.outbox import OutboxMessage, OutboxStatus

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


# Which queued messages are safe to send: only those whose transaction committed. The web
# edge reads "outbox_committed" after a request to send them straight away.
@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    new = session.info.pop("outbox_new", None)
    if new:
        session.info.setdefault("outbox_committed", []).extend(new)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("outbox_new", None)


def enqueue(
    session: Session, *, to: str, template: str, params: dict[str, Any], locale: str = "en"
) -> OutboxMessage:
    """Queue an email in the caller's transaction. It is sent only if that commits."""
    message = OutboxMessage(to_address=to, template=template, params=params, locale=locale)
    session.add(message)
    session.flush()
    session.info.setdefault("outbox_new", []).append(message.id)
    return message


def enqueue_many(session: Session, messages: list[dict[str, Any]]) -> None:
    """Queue many emails at once (a bulk import): dicts of enqueue()'s keyword arguments."""
    rows = [
        OutboxMessage(
            to_address=m["to"],
            template=m["template"],
            params=m["params"],
            locale=m.get("locale", "en"),
        )
        for m in messages
    ]
    session.add_all(rows)
    session.flush()
    session.info.setdefault("outbox_new", []).extend(row.id for row in rows)


def _due():
    now = clock.now()
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        # A sender that claimed a message and vanished: its lease ran out.
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    )


def claim(session: Session, *, ids: list[int] | None = None, limit: int = 100) -> list[int]:
    """Claim up to `limit` due messages (or the due ones among `ids`) for this sender.

    Each claim is a conditional UPDATE that only one sender can win. The caller commits
    the claims before sending anything, so no lock is held over the network.
    """
    query = select(OutboxMessage.id).where(_due()).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    claimed = []
    now = clock.now()
    for message_id in session.scalars(query).all():
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due())
            .values(
                status=OutboxStatus.SENDING,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    return claimed


def mark_sent(session: Session, message_id: int) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.SENT, sent_at=clock.now(), lease_until=None, last_error=None)
    )


def mark_failed(session: Session, message_id: int, error: str, *, permanent: bool) -> None:
    """Record a failed attempt: try again later, or (the server refused for good) stop."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.status != OutboxStatus.SENDING:
        return
    message.last_error = error[:500]
    message.lease_until = None
    if permanent:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + retry_delay(message.attempts)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling, never more than an hour between attempts."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 12), LONGEST_WAIT)
