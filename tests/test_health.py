"""/healthz and /readyz (issue 12): the process is up; this worker can serve (the database
answers, its migrations are not behind, the shared rate-limit store answers). Neither says
anything about anyone, and neither sets a cookie."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text

from grants import create_app
from grants.core import schema
from grants.core.db import make_engine
from tests.conftest import PG_URL, scratch_postgres
from tests.test_partners import need_redis

PREVIOUS = "0009"  # the revision before the newest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_for(url: str, **settings):
    return create_app({"DATABASE_URL": url, **settings}, env="test")


def get(app, path: str):
    try:
        response = app.test_client().get(path)
        return response.status_code, response.get_json(), response.headers
    finally:
        app.extensions["grants.engine"].dispose()


def test_ready_on_a_current_database(app):
    status, body, headers = get(app, "/readyz")
    assert status == 200
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "current"},
        "revision": schema.head_revision(),
        "expected": schema.head_revision(),
    }
    assert headers["Cache-Control"] == "no-store" and "Set-Cookie" not in headers
    status, body, headers = get(app, "/healthz")
    assert (status, body) == (200, {"status": "ok"}) and "Set-Cookie" not in headers


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_not_ready_when_the_database_is_down_but_still_alive(tmp_path, where):
    """Pointed at a PostgreSQL port nobody listens on, or a SQLite file in a folder that
    does not exist: /readyz says the database is unreachable, /healthz that the process is
    up (so nothing restarts a worker for an outage it cannot fix)."""
    if where == "postgresql":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/grants?connect_timeout=2"
    else:
        url = f"sqlite:///{tmp_path}/no/such/folder/grants.db"
    status, body, _headers = get(app_for(url), "/readyz")
    assert status == 503
    assert body == {
        "status": "not ready",
        "checks": {"database": "unreachable", "migrations": "unknown"},
    }
    status, body, _headers = get(app_for(url), "/healthz")
    assert (status, body) == (200, {"status": "ok"})


@pytest.fixture
def scratch_url(tmp_path):
    """An empty database of its own (the suite's is shared on PostgreSQL): a file on
    SQLite, a new database on the PostgreSQL server."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path}/scratch.db"
        return
    with scratch_postgres(PG_URL, "grants_ready") as url:
        yield url


def test_not_ready_while_migrations_are_behind(scratch_url):
    engine = make_engine(scratch_url)
    try:
        status, body, _headers = get(app_for(scratch_url), "/readyz")
        assert status == 503 and body["checks"]["migrations"] == "behind"
        assert body["revision"] is None  # an empty database
        schema.upgrade(engine)
        schema.downgrade(engine, PREVIOUS)  # one step behind this code
        status, body, _headers = get(app_for(scratch_url), "/readyz")
        assert status == 503
        assert body["checks"] == {"database": "ok", "migrations": "behind"}
        assert (body["revision"], body["expected"]) == (PREVIOUS, schema.head_revision())
        schema.upgrade(engine)  # `flask db upgrade`, as on deploy
        assert get(app_for(scratch_url), "/readyz")[0] == 200
        # A newer release migrated the database before this worker was replaced: its
        # revision is unknown here. Migrations keep the release before working, so this
        # worker stays in service.
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
        status, body, _headers = get(app_for(scratch_url), "/readyz")
        assert status == 200 and body["checks"]["migrations"] == "ahead"
    finally:
        engine.dispose()


def test_not_ready_when_the_shared_rate_limit_store_is_down(database_url):
    need_redis()
    down = f"redis://127.0.0.1:{free_port()}/0"
    status, body, _headers = get(app_for(database_url, RATELIMIT_STORAGE_URI=down), "/readyz")
    assert status == 503 and body["checks"]["rate_limits"] == "unreachable"
    up = "redis://127.0.0.1:6379/0"
    status, body, _headers = get(app_for(database_url, RATELIMIT_STORAGE_URI=up), "/readyz")
    assert status == 200 and body["checks"]["rate_limits"] == "ok"


def test_production_answers_only_for_its_own_host_and_local_probes(monkeypatch, database_url):
    need_redis()
    monkeypatch.setenv("SECRET_KEY", "c4e1f9a7b3d5e2c8a6f0b4d9e7c1a3f5b8d2e6c0")
    monkeypatch.setenv("BASE_URL", "https://grants.example.org")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MAIL_BACKEND", "none")
    monkeypatch.setenv("GRANTS_ALLOW_SQLITE", "1")
    monkeypatch.delenv("TRUSTED_HOSTS", raising=False)
    app = create_app({"DATABASE_URL": database_url}, env="production")
    client = app.test_client()
    try:
        for base in ("https://grants.example.org", "http://127.0.0.1:8000", "http://localhost"):
            assert client.get("/readyz", base_url=base).status_code == 200, base
        refused = client.get("/auth/login", base_url="https://grants.example.org.evil.test")
        assert refused.status_code == 400
        assert refused.text == "This address is not served here.\n"
        assert "Set-Cookie" not in refused.headers
    finally:
        app.extensions["grants.engine"].dispose()
