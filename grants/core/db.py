"""Database plumbing shared by every entry point: the model base, engines, and retries.

SQLite is the embedded default and PostgreSQL the real deployment; both run the same code.
On SQLite every transaction opens with BEGIN IMMEDIATE: SQLite has no row locks and
`SELECT ... FOR UPDATE` emits nothing there, so writers must be serialised up front or a
read-then-write balance check is not protected.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Constraint names must be the same on both databases, or migrations cannot name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; `timestamptz` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite set up for WAL, foreign keys and BEGIN IMMEDIATE.

    Bound parameters stay out of error messages and SQL logging: they hold names and
    email addresses, and an error's text ends up in logs (see grants.errors)."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # After a database restart pooled connections are dead: test each before use.
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if parsed.database and parsed.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # INSERT OR REPLACE deletes the old row without firing DELETE triggers unless
        # triggers are recursive: the append-only tables need them to fire.
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# Unique violations on these constraints mean another transaction wrote the same transfer
# id (or resolved the same pending transfer) first; a retry then sees it and answers.
RETRYABLE_CONSTRAINTS = {"pk_transfers", "uq_transfers_pending_id"}


def is_retryable(error: DBAPIError) -> bool:
    """Whether a database error is a transient conflict that a fresh attempt can clear."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in {"40001", "40P01"}:  # serialization failure, deadlock detected
        return True
    if sqlstate == "23505":
        diag = getattr(original, "diag", None)
        return getattr(diag, "constraint_name", None) in RETRYABLE_CONSTRAINTS
    # SQLite's "database is locked" is not retried: every transaction starts with BEGIN
    # IMMEDIATE and waits out the busy timeout first, so by the time it is raised a retry
    # would only wait as long again.
    return False


T = TypeVar("T")


def commit_with_retry(
    session: Session,
    work: Callable[[], T],
    *,
    attempts: int = 8,
    on_retry: Callable[[DBAPIError], None] | None = None,
) -> T:
    """Run `work()` and commit, retrying the whole unit on transient conflicts
    (PostgreSQL's serialization failures and deadlocks).

    `work` must do everything the transaction does, so a retry replays it from a clean
    rollback. Domain errors and anything else roll back and propagate at once.
    `on_retry` hears of each retried error (tests count them; logs may too).
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            session.commit()
            return result
        except DBAPIError as error:
            session.rollback()
            if attempt == attempts or not is_retryable(error):
                raise
            if on_retry is not None:
                on_retry(error)
            # Jittered backoff so the contenders do not collide again in step.
            time.sleep(random.uniform(0, 0.002 * 2**attempt))
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def insert_or_fetch(session: Session, row: Any, query: Any) -> Any:
    """Insert `row`; if a concurrent transaction inserted its twin first (a unique clash),
    return that one instead. The insert runs in a savepoint so the clash costs nothing else."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(query)
        if existing is None:
            raise
        return existing
    return row
