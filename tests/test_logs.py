"""Logs (issue 12): under production one JSON object a line, each request with its id,
route, method, status, duration and user id; and nothing personal in any line. A few real
requests (a failed and a good login, a gift, a bad form, a page that is not there with an
address in its query string, a password reset, a crash whose message quotes a person) are
sent to a production app, its standard error is captured, and every line is searched for
the people's names, addresses, the amounts and the words they typed."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import uuid

import pytest

import config
from grants import create_app
from tests.conftest import PASSWORD, csrf_token
from tests.test_gifts import maya  # noqa: F401  (the fixture: Maya Okafor, 10 credits)
from tests.test_partners import need_redis

SITE = "https://grants.example.org"
GIFT_NOTE = "Thinking of you after Lisbon"
SECRETS_TYPED = ("sam@example.org", "Sam Rivera", "Rivera", GIFT_NOTE, "Lisbon", PASSWORD)
SECRETS_TYPED += ("Kit Keys", "kit@crew.example")
REQUEST_KEYS = {"time", "level", "logger", "message", "request_id", "method", "route"}
REQUEST_KEYS |= {"status", "duration_ms", "user_id"}


@pytest.fixture
def production(monkeypatch, database_url, smtp_server, app):
    """The suite's database and SMTP server, run under the production profile."""
    need_redis()
    monkeypatch.setenv("SECRET_KEY", "e7b2c9f4a1d8e3b6c0f5a2d7e4b9c1f6a3d8e5b0")
    monkeypatch.setenv("BASE_URL", SITE)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(smtp_server.port))
    monkeypatch.setenv("GRANTS_ALLOW_SQLITE", "1")
    monkeypatch.setenv("PROXY_HOPS", "1")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    # The test's own SMTP server logs what it receives at INFO; it is not the app.
    monkeypatch.setattr(logging.getLogger("mail.log"), "level", logging.WARNING)
    for name in ("LOG_FORMAT", "TRUSTED_HOSTS", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    # The test's own SMTP server logs what it receives at INFO; it is not the app.
    # Rate-limit counts of this test alone, in the Redis other tests share.
    overrides = {"DATABASE_URL": database_url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    production = create_app(overrides, env="production")
    yield production
    production.extensions["grants.engine"].dispose()


class Browser:
    """A test client on the production site: HTTPS, and the Referer a browser sends (the
    CSRF check insists on it over HTTPS)."""

    def __init__(self, app) -> None:
        self.client = app.test_client()

    def get(self, path: str, **headers):
        return self.client.get(path, base_url=SITE, headers=headers)

    def post(self, path: str, data: dict, page: str | None = None):
        form = self.get(page or path)
        response = self.client.post(
            path,
            base_url=SITE,
            data={**data, "csrf_token": csrf_token(form.text)},
            headers={"Referer": SITE + (page or path)},
        )
        response.get_data()
        response.close()  # as a server does: queued email goes now
        return response


def test_production_logs_are_json_lines_with_nothing_personal(
    production,
    maya,  # noqa: F811
    mailbox,
    capsys,
):
    def crash():  # a bug whose error quotes a person, an address and an amount
        raise ValueError(f"no wallet for Maya Okafor <{maya.email}> holding 12000")

    production.add_url_rule("/crash-for-the-test", view_func=crash)
    capsys.readouterr()
    browser = Browser(production)
    login = {"email": maya.email, "password": "not her password"}
    assert browser.post("/auth/login", login).status_code == 200  # refused: told again
    login["password"] = PASSWORD
    assert browser.post("/auth/login", login).status_code == 302
    assert browser.get("/wallet/").status_code == 200
    gift = {
        "recipient_name": "Sam Rivera",
        "recipient_email": "sam@example.org",
        "relationship": "crew",
        "sessions": "3",
        "message": GIFT_NOTE,
        "request_id": str(uuid.uuid4()),
    }
    page = f"/wallet/cohorts/{maya.cohort_id}/gift"
    assert browser.post(page, gift).status_code == 302
    assert mailbox.to("sam@example.org")  # the gift really went
    too_many = {**gift, "sessions": "999", "request_id": str(uuid.uuid4())}
    too_many.update(recipient_name="Kit Keys", recipient_email="kit@crew.example")
    refused = browser.post(page, too_many)
    assert refused.status_code == 200 and "at most 6 sessions from you" in refused.text
    assert browser.get(f"/wallet/gifts/999999?email={maya.email}").status_code == 404
    sane = browser.get("/wallet/", **{"X-Request-ID": "edge-7f3a9c21"})
    assert sane.headers["X-Request-ID"] == "edge-7f3a9c21"  # from the proxy in front, kept
    forged = browser.get("/wallet/", **{"X-Request-ID": maya.email})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])  # replaced
    assert browser.get("/crash-for-the-test").status_code == 500
    assert browser.post("/auth/reset", {"email": maya.email}).status_code == 302

    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    requests = [e for e in entries if e["logger"] == "grants.requests"]
    assert len(requests) >= 14
    for entry in requests:
        assert set(entry) <= REQUEST_KEYS, entry
        assert re.fullmatch(r"[A-Za-z0-9-]{8,64}", entry["request_id"])
        assert entry["method"] in {"GET", "POST"} and isinstance(entry["duration_ms"], float)
    routes = {(e["method"], e["route"], e["status"]) for e in requests}
    assert ("POST", "/auth/login", 200) in routes and ("POST", "/auth/login", 302) in routes
    assert ("POST", "/wallet/cohorts/<int:cohort_id>/gift", 302) in routes
    assert ("GET", "/wallet/gifts/<int:gift_id>", 404) in routes  # the rule, not the path
    assert ("GET", "/crash-for-the-test", 500) in routes
    signed_in = [e for e in requests if e["route"] == "/wallet/" and e["status"] == 200]
    assert signed_in and {e["user_id"] for e in signed_in} == {maya.id}
    assert "edge-7f3a9c21" in {e["request_id"] for e in requests}
    [crashed] = [e for e in entries if e.get("error") == "ValueError"]
    assert crashed["stack"][-1].endswith(" in crash")
    assert crashed["request_id"] == request_id_of("/crash-for-the-test", requests)

    secrets = [maya.email, maya.email.split("@")[0], "Maya Okafor", "Okafor", *SECRETS_TYPED]
    secrets += ["12000", "120.00", "120,00", "?email", "%40"]
    for line in lines:
        lowered = line.lower()
        for secret in secrets:
            assert secret.lower() not in lowered, f"{secret!r} in the log: {line}"


def request_id_of(route: str, requests: list[dict]) -> str:
    """The id on the request's own line: an error logged while serving it carries it too."""
    [line] = [e for e in requests if e["route"] == route]
    return line["request_id"]


def test_development_logs_a_readable_line_per_request(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("GRANTS_INSTANCE_PATH", str(tmp_path))
    for name in ("LOG_FORMAT", "LOG_LEVEL", "SECRET_KEY", "MAIL_SERVER", "MAIL_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    development = create_app({"DATABASE_URL": database_url}, env="development")
    try:
        captured = io.StringIO()
        monkeypatch.setattr(sys, "stderr", captured)
        development.test_client().get("/auth/login?next=/wallet/")
    finally:
        development.extensions["grants.engine"].dispose()
    [line] = captured.getvalue().splitlines()
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO grants\.requests: GET /auth/login 200 [\d.]+ ms \[[0-9a-f]{32}\]",
        line,
    ), line


def test_a_bad_log_setting_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(config.ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO"):
        config.load("development")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert config.load("development")["LOG_LEVEL"] == "WARNING"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(config.ConfigError, match="LOG_FORMAT must be one of json, text"):
        config.load("development")
