"""Queueing email in the outbox and the state of each message as senders work on it.

Delivery itself (rendering and SMTP) is at the edge, in grants.mailer. Senders claim a
message with a conditional UPDATE before sending, so two senders on two hosts never send
the same message; a claim is a lease, so a sender that dies mid-way does not lose it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from grants.core.bulk import insert_returning
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
    message = OutboxMessage(to_address=to, template=template, params=params, locale=locale or "en")
    session.add(message)
    session.flush()
    session.info.setdefault("outbox_new", []).append(message.id)
    return message


def enqueue_many(session: Session, messages: list[dict[str, Any]]) -> None:
    """Queue many emails at once (a bulk import): dicts of enqueue()'s keyword arguments."""
    if not messages:
        return
    # One INSERT for the lot rather than an ORM object per message: a bulk import queues
    # thousands. Nothing reads them back in this transaction, so none need be in the session.
    messages_table = OutboxMessage.__table__
    queued = insert_returning(
        session,
        messages_table,
        [
            {
                "to_address": m["to"],
                "template": m["template"],
                "params": m["params"],
                "locale": _locale(m.get("locale", "en")),
            }
            for m in messages
        ],
        messages_table.c.id,
    )
    ids = sorted(message_id for (message_id,) in queued)
    session.info.setdefault("outbox_new", []).extend(ids)


def _locale(locale: str | None) -> str:
    # A locale of None falls back to the column's default, as an ORM object's would.
    return "en" if locale is None else locale


def _due():
    now = clock.now()
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        # A sender that claimed a message and vanished: its lease ran out.
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.lease_until < now),
    )


def claim(
    session: Session, *, ids: list[int] | None = None, limit: int = 100
) -> tuple[str, list[int]]:
    """Claim up to `limit` due messages (or the due ones among `ids`) for this sender.

    Each claim is a conditional UPDATE that only one sender can win, and carries a token
    that the sender must still hold when it sends and when it records the outcome. The
    caller commits the claims before sending anything, so no lock is held over the network.
    """
    query = select(OutboxMessage.id).where(_due()).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    token = secrets.token_hex(16)
    claimed = []
    now = clock.now()
    for message_id in session.scalars(query).all():
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, _due())
            .values(
                status=OutboxStatus.SENDING,
                lease_until=now + LEASE,
                claim_token=token,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:
            claimed.append(message_id)
    return token, claimed


def _held(message_id: int, token: str):
    return (
        OutboxMessage.id == message_id,
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.claim_token == token,
    )


def renew(session: Session, message_id: int, token: str) -> bool:
    """Just before sending: extend the lease if this sender still holds the message."""
    result = session.execute(
        update(OutboxMessage)
        .where(*_held(message_id, token))
        .values(lease_until=clock.now() + LEASE)
    )
    return result.rowcount == 1


def mark_sent(session: Session, message_id: int, token: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(*_held(message_id, token))
        .values(
            status=OutboxStatus.SENT,
            sent_at=clock.now(),
            lease_until=None,
            claim_token=None,
            last_error=None,
        )
    )


def mark_failed(
    session: Session,
    message_id: int,
    token: str,
    error: str,
    *,
    permanent: bool,
    forget: bool = False,
) -> None:
    """Record a failed attempt: try again later, or (refused for good) stop. `forget`
    blanks the address and parameters of a message that will never be sent (a reset asked
    for an address with no account: a stranger's typing is not kept)."""
    message = session.scalar(select(OutboxMessage).where(*_held(message_id, token)))
    if message is None:
        return
    if forget:
        message.to_address, message.params = "", {}
    message.last_error = error[:500]
    message.lease_until = None
    message.claim_token = None
    if permanent:
        message.status = OutboxStatus.FAILED
    else:
        message.status = OutboxStatus.PENDING
        message.next_attempt_at = clock.now() + retry_delay(message.attempts)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... doubling, never more than an hour between attempts."""
    return min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 12), LONGEST_WAIT)
