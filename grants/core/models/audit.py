"""The audit log: who did what to which object, when and from where. Append-only: triggers
on both databases refuse UPDATE and DELETE. Ids in details, never personal details."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.clock import clock
from grants.core.db import Base, UTCDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    # None when the system itself acted (a scheduled job, a CLI command without a user).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the change came from: the client's address for a web request, "cli" for a
    # command. Set by the edge through grants.core.audit.origin, never by operations.
    origin: Mapped[str | None] = mapped_column(String(45))
