"""Writing the audit log, in the same transaction as the change it records.

Where a change came from is set once by the edge (the web app per request, the CLI per
command) through `origin`, so operations never need to know about requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy.orm import Session

from grants.core.bulk import insert_rows
from grants.core.clock import clock
from grants.core.models.audit import AuditEntry
from grants.core.models.people import User

_origin: ContextVar[str | None] = ContextVar("audit_origin", default=None)


def set_origin(value: str | None) -> Token:
    """Record `value` as the origin of changes from now on; reset_origin(token) undoes it."""
    return _origin.set(value[:45] if value else value)


def reset_origin(token: Token) -> None:
    _origin.reset(token)


@contextmanager
def origin(value: str | None) -> Iterator[None]:
    """Record `value` (a client address, "cli", "job") as the origin of changes inside."""
    token = set_origin(value)
    try:
        yield
    finally:
        reset_origin(token)


def record(
    session: Session,
    actor: User | None,
    action: str,
    obj: Any = None,
    **details: Any,
) -> AuditEntry:
    """Add an audit entry for `action` on `obj` by `actor`. Pass ids in details, not names."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=type(obj).__name__ if obj is not None else None,
        object_id=str(obj.id) if obj is not None else None,
        details=details,
        origin=_origin.get(),
    )
    session.add(entry)
    return entry


def record_many(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_ids: list[Any],
    **details: Any,
) -> None:
    """One entry for each of `object_ids`, as record() would add them, in one statement: for
    the sweeps and imports that touch hundreds of rows at once."""
    if not object_ids:
        return
    now = clock.now()
    origin_ = _origin.get()
    insert_rows(
        session,
        AuditEntry.__table__,
        [
            {
                "at": now,
                "actor_id": actor.id if actor is not None else None,
                "action": action,
                "object_type": object_type,
                "object_id": str(object_id),
                "details": details,
                "origin": origin_,
            }
            for object_id in object_ids
        ],
    )
