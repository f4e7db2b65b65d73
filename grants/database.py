"""The Flask side of the database: one engine per app, one session per app context."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.local import LocalProxy

from grants.core.db import make_engine


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"], **app.config.get("ENGINE_OPTIONS", {}))
    app.extensions["grants.engine"] = engine
    app.extensions["grants.sessionmaker"] = sessionmaker(engine)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The session of the current request or CLI command, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["grants.sessionmaker"]()
    return g.db_session


def get_engine():
    return current_app.extensions["grants.engine"]


def _close_session(_error: BaseException | None) -> None:
    # Whatever was not committed is rolled back: no request commits halfway.
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


db: Session = LocalProxy(get_session)  # type: ignore[assignment]
