"""Writing the audit log, in the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from grants.core.models.audit import AuditEntry
from grants.core.models.people import User


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
    )
    session.add(entry)
    return entry
