"""Health checks for load balancers, containers and monitoring.

- /healthz: the process is up and answering. It touches nothing else, so a database outage
  never gets healthy workers restarted.
- /readyz: this worker can serve: the database answers, its schema is the one this code
  was written for (migrations not behind), and the shared rate-limit store answers.

Both say only what state each part is in: no personal data, no addresses, no versions
beyond the migration revision.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from grants.database import db
from grants.limits import limiter

bp = Blueprint("health", __name__)
log = logging.getLogger("grants.health")

ENDPOINTS = {"health.healthz", "health.readyz"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _migrations() -> tuple[str | None, set[str]]:
    """The code's own migrations (the newest, and every one), read at the first readiness
    check and kept: they do not change while the process runs. Not at start-up: Alembic
    and the scripts cost every CLI command a quarter of a second (docs/benchmarks.md)."""
    known = current_app.extensions.get("grants.migrations")
    if known is None:
        from alembic.script import ScriptDirectory

        from grants.core import schema

        scripts = ScriptDirectory.from_config(schema.alembic_config())
        known = scripts.get_current_head(), {s.revision for s in scripts.walk_revisions()}
        current_app.extensions["grants.migrations"] = known
    return known


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz():
    checks = {"database": "ok", "migrations": "unknown"}
    body: dict = {"checks": checks}
    head, known = _migrations()
    try:
        # The request's own session: on SQLite a second connection would queue behind the
        # write lock this request's transaction may already hold (a signed-in visitor's).
        connection = db.connection()
        connection.execute(text("SELECT 1"))
        current = _revision(connection)
    except SQLAlchemyError as error:
        checks["database"] = "unreachable"
        log.warning("readyz: database unreachable (%s)", type(error).__name__)
    else:
        body.update(revision=current, expected=head)
        if current == head:
            checks["migrations"] = "current"
        elif current is None or current in known:
            # Older than this code needs: `flask db upgrade` has not been run.
            checks["migrations"] = "behind"
        else:
            # Newer than this code knows: the upgrade ran before this worker was replaced.
            # Migrations are written so that the release before can run beside them.
            checks["migrations"] = "ahead"
    if not str(current_app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        checks["rate_limits"] = "ok" if _store_answers() else "unreachable"
    ready = checks["database"] == "ok" and checks["migrations"] in {"current", "ahead"}
    ready = ready and checks.get("rate_limits", "ok") == "ok"
    body["status"] = "ready" if ready else "not ready"
    return _answer(body, 200 if ready else 503)


def _revision(connection) -> str | None:
    """The database's migration revision, read plainly (Alembic's own reader logs two lines
    each time, and probes come every few seconds)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _store_answers() -> bool:
    try:
        return bool(limiter.storage.check())
    except Exception as error:  # any client error means the same: it cannot be used now
        log.warning("readyz: rate-limit store unreachable (%s)", type(error).__name__)
        return False
