"""Alembic environment: the engine comes from the caller (grants.core.schema) or from the
application's configuration (DATABASE_URL) when Alembic is run by hand."""

from __future__ import annotations

from alembic import context

import grants.core.models  # noqa: F401  (registers every table on the metadata)
from grants.core.db import Base, UTCDateTime, make_engine

config = context.config
target_metadata = Base.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    import config as app_config

    return make_engine(app_config.load()["DATABASE_URL"])


def render_item(type_, obj, autogen_context):
    """Write the application's UTCDateTime as a plain DateTime, so migrations never import
    application code that may change after they are written."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations copy a table and drop the old one; with foreign keys enforced
            # SQLite refuses to drop a table other rows point at. Switched off outside any
            # transaction (where SQLite honours it), and checked again below.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=sqlite,
            compare_type=True,
            render_item=render_item,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:  # the pooled connection goes back enforcing foreign keys, whatever happened
                connection.rollback()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
