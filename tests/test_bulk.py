"""Statements over many rows at once (grants.core.bulk): the same rows on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from grants.core import outbox
from grants.core.bulk import insert_returning, one_of
from grants.core.clock import clock
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User

USERS = User.__table__


def test_insert_returning_fills_defaults_and_keeps_every_row(session):
    clock.set(datetime(2027, 3, 1, 9, 30, tzinfo=UTC))
    rows = [{"email": f"p{n}@example.org", "name": "Same Name"} for n in range(3)]
    created = insert_returning(session, USERS, rows, USERS.c.email, USERS.c.id)
    assert sorted(email for email, _ in created) == [
        "p0@example.org",
        "p1@example.org",
        "p2@example.org",
    ]
    users = session.scalars(select(User).where(User.id.in_([id for _, id in created]))).all()
    assert {(u.name, u.active, u.session_generation, u.created_at) for u in users} == {
        ("Same Name", True, 1, clock.now())
    }
    assert insert_returning(session, USERS, [], USERS.c.id) == []


def test_messages_all_alike_are_each_queued(session):
    """Rows with nothing that differs still make one row each (unnest needs an array)."""
    alike = {"to": "a@example.org", "template": "invitation", "params": {"x": 1}, "locale": None}
    outbox.enqueue_many(session, [alike, alike])
    outbox.enqueue_many(session, [{**alike, "locale": "es"}])
    ids = session.info["outbox_new"]
    messages = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    ).all()
    assert ids == [m.id for m in messages]
    assert [(m.to_address, m.params, m.locale, m.status, m.attempts) for m in messages] == [
        ("a@example.org", {"x": 1}, "en", "pending", 0),
        ("a@example.org", {"x": 1}, "en", "pending", 0),
        ("a@example.org", {"x": 1}, "es", "pending", 0),
    ]


def test_one_of_matches_a_list_or_nothing(session):
    insert_returning(
        session, USERS, [{"email": e, "name": e} for e in ("a@x.org", "b@x.org")], USERS.c.id
    )

    def emails(values: list[str]) -> list[str]:
        query = select(User.email).where(one_of(session, User.email, values))
        return session.scalars(query.order_by(User.email)).all()

    assert emails(["b@x.org", "c@x.org", "a@x.org"]) == ["a@x.org", "b@x.org"]
    assert emails([]) == []
