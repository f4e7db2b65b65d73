"""Who runs a scheduled job now: a lease on the job's row, claimed with a conditional UPDATE.

Every runner, on every host, tries the same UPDATE ... WHERE the lease is free (and, unless
forced, the job is due); the database lets exactly one of them change the row, and the row
count tells each whether it won. It works alike on PostgreSQL (the second UPDATE waits for
the first to commit, then finds the lease taken) and SQLite (writers queue behind BEGIN
IMMEDIATE). A runner that dies holding a lease loses nothing: when the lease runs out,
another claims the job. The jobs' own work is idempotent as well, so a job that overruns
its lease only shares its work, never repeats it.

Each function flushes and never commits: the caller commits the claim before doing the work,
so no lock is held while the job runs.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from grants.core.clock import clock
from grants.core.db import insert_or_fetch
from grants.core.models.jobs import JobRun

LEASE = timedelta(minutes=10)


def holder_name() -> str:
    """Which runner holds a lease, for the operator: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def ensure(session: Session, names: list[str]) -> None:
    """A row for each job that has none yet, due at once (a new job, a new database)."""
    known = set(session.scalars(select(JobRun.name).where(JobRun.name.in_(names))))
    for name in names:
        if name not in known:
            insert_or_fetch(
                session,
                JobRun(name=name, next_due_at=clock.now(), runs=0),
                select(JobRun).where(JobRun.name == name),
            )


def claim(session: Session, name: str, *, holder: str, force: bool = False) -> str | None:
    """Claim `name` for this runner if no one holds it and (unless `force`) it is due.
    The token to renew and finish with, or None when another runner has it (or it is not
    due yet)."""
    now = clock.now()
    token = secrets.token_hex(16)
    conditions = [
        JobRun.name == name,
        or_(JobRun.lease_until.is_(None), JobRun.lease_until < now),
    ]
    if not force:
        conditions.append(JobRun.next_due_at <= now)
    result = session.execute(
        update(JobRun)
        .where(*conditions)
        .values(
            claim_token=token,
            holder=holder[:120],
            lease_until=now + LEASE,
            last_started_at=now,
        )
    )
    return token if result.rowcount == 1 else None


def renew(session: Session, name: str, token: str) -> bool:
    """Between batches of a long job: extend the lease if this runner still holds it."""
    result = session.execute(
        update(JobRun)
        .where(JobRun.name == name, JobRun.claim_token == token)
        .values(lease_until=clock.now() + LEASE)
    )
    return result.rowcount == 1


def finish(
    session: Session, name: str, token: str, *, ok: bool, result: str, every: timedelta
) -> bool:
    """Record how the run went, free the lease and set when the job is next due. False
    when the lease had been taken over (the other runner records its own run)."""
    now = clock.now()
    done = session.execute(
        update(JobRun)
        .where(JobRun.name == name, JobRun.claim_token == token)
        .values(
            claim_token=None,
            holder=None,
            lease_until=None,
            last_finished_at=now,
            last_outcome="ok" if ok else "failed",
            last_result=result[:200],
            next_due_at=now + every,
            runs=JobRun.runs + 1,
        )
    )
    return done.rowcount == 1


def held_by(session: Session, name: str) -> tuple[str | None, datetime | None]:
    """Who holds `name`'s lease now and until when (None, None when it is free)."""
    row = session.get(JobRun, name)
    if row is None or row.lease_until is None or row.lease_until < clock.now():
        return None, None
    return row.holder, row.lease_until


def states(session: Session) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.name)))
