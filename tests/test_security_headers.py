"""Headers and cookies on every response, and a production configuration that refuses to
start unsafe."""

from __future__ import annotations

import pytest

import config
from grants import create_app
from tests.conftest import AuthActions

PAGES = ["/auth/login", "/resources/", "/auth/reset", "/no-such-page"]


def _check_common(response, url):
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp, url
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, url
    assert "default-src 'self'" in csp and "object-src 'none'" in csp, url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["Referrer-Policy"] == "same-origin", url


def test_every_response_carries_the_security_headers(client, make_user):
    for url in PAGES:
        _check_common(client.get(url), url)
    maya = make_user("ambassador")
    AuthActions(client).login(maya.email)
    for url in ("/wallet/", "/resources/", "/auth/security"):
        response = client.get(url)
        _check_common(response, url)
        assert response.headers["Cache-Control"] == "no-store", url
    # No page uses inline script, so the policy above costs nothing.
    assert "<script" not in client.get("/wallet/").text


def test_a_signed_in_persons_downloads_are_not_cached(client, make_user):
    staff = make_user("staff")
    AuthActions(client).login(staff.email)
    response = client.get("/staff/resources/export.csv")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def production_env(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "a3f9c1e07b6d4e2fa8b5c3d1e9f7a6b4c2d0e8f6a4b2c0d8")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example.org/grants")
    monkeypatch.setenv("BASE_URL", "https://grants.example.org")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("GRANTS_ALLOW_SQLITE", raising=False)
    return monkeypatch


def test_production_refuses_debug_weak_keys_and_sqlite(production_env):
    config.load("production")  # the complete environment is accepted
    production_env.setenv("FLASK_DEBUG", "1")
    with pytest.raises(config.ConfigError, match="debug"):
        config.load("production")
    production_env.delenv("FLASK_DEBUG")
    for weak in ("test-only-secret-key", "short", "a" * 40):
        production_env.setenv("SECRET_KEY", weak)
        with pytest.raises(config.ConfigError, match="SECRET_KEY must be long and random"):
            config.load("production")
    production_env.setenv("SECRET_KEY", "a3f9c1e07b6d4e2fa8b5c3d1e9f7a6b4c2d0e8f6a4b2c0d8")
    production_env.setenv("DATABASE_URL", "sqlite:////srv/grants.db")
    with pytest.raises(config.ConfigError, match="GRANTS_ALLOW_SQLITE=1"):
        config.load("production")
    production_env.setenv("GRANTS_ALLOW_SQLITE", "1")
    assert config.load("production")["DATABASE_URL"].startswith("sqlite")


def test_production_cookies_and_hsts(production_env, database_url, make_user):
    production_env.setenv("DATABASE_URL", database_url)
    production_env.setenv("GRANTS_ALLOW_SQLITE", "1")
    app = create_app(env="production")
    try:
        client = app.test_client()
        response = client.get("/auth/login", base_url="https://grants.example.org")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=")
        for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
            assert flag in cookie, flag
        assert "Domain=" not in cookie
    finally:
        app.extensions["grants.engine"].dispose()
