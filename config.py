"""Configuration from the environment.

GRANTS_ENV picks the profile: development (the default, for `make run`), test, production.
DATABASE_URL selects the database (default: SQLite under instance/). Production refuses to
start without what it needs, and says what is missing.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent


# Keys seen in examples and tests: never good enough for real data.
WEAK_SECRET_KEYS = {"test-only-secret-key", "change-me", "changeme", "secret", "dev", "development"}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


class Config:
    ENV_NAME = "development"
    SITE_NAME = "Creator Care"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    # A login session ends after this long without a request, and this long after login
    # whatever happens (ASVS 7.3): the server keeps the clock, not the cookie.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = 3600
    # Absolute links in emails are built from this, never from a request's Host header.
    BASE_URL = "http://127.0.0.1:5000"
    INVITATION_MAX_AGE = 14 * 24 * 3600
    PASSWORD_RESET_MAX_AGE = 3600
    # Uploads (CSV enrolment lists) larger than this are refused before they are read.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    # Mail: "smtp" when MAIL_SERVER is set; "console" prints emails (development without
    # a mail server); "none" leaves them queued for `flask outbox send`.
    MAIL_BACKEND = "none"
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Creator Care <no-reply@creator-care.invalid>"
    MAIL_SUPPRESS_SEND = False  # Flask-Mail would suppress under TESTING; we send for real
    MAIL_TIMEOUT = 15
    # Rate limits' storage: memory for one process; redis://... when several workers or
    # hosts must share the counts (production).
    RATELIMIT_STORAGE_URI = "memory://"
    # How many reverse proxies in front of the app add X-Forwarded-For (0: none, the
    # client's own address is used). Set PROXY_HOPS=1 behind one nginx.
    PROXY_HOPS = 0
    # Voucher codes a partner may enter: every attempt counts, real or not.
    VOUCHER_ENTRY_LIMIT = "30 per minute; 300 per hour"
    # Password guessing: per client address, and per account whatever the address (a
    # botnet guessing one person's password); the same for the second step's code and for
    # asking for reset links (which would otherwise flood a person's inbox).
    LOGIN_LIMIT = "20 per minute; 200 per hour"
    LOGIN_ACCOUNT_LIMIT = "10 per 15 minutes; 50 per day"
    RESET_LIMIT = "5 per minute; 30 per hour"
    RESET_ACCOUNT_LIMIT = "3 per hour"
    # Argon2id cost (RFC 9106's second recommended setting: 64 MiB, 3 passes).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024
    ARGON2_PARALLELISM = 4
    # Logs (grants.logs): "text" is a readable line, "json" one JSON object a line for a
    # log collector; None leaves logging as the host program set it up (the test runner).
    LOG_FORMAT: str | None = "text"
    LOG_LEVEL = "INFO"
    # Host names a request may be addressed to (Flask checks the Host header); None: any.
    # Production defaults to BASE_URL's host and the loopback names local probes use.
    TRUSTED_HOSTS: list[str] | None = None


class DevelopmentConfig(Config):
    MAIL_BACKEND = "console"


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-only-secret-key"
    # Cheap hashes keep the suite fast; the algorithm is the same.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    LOG_FORMAT = None  # pytest captures log records itself


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    # The __Host- prefix: the browser only accepts it over HTTPS, for this exact host.
    SESSION_COOKIE_NAME = "__Host-session"
    LOG_FORMAT = "json"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
# Probes on the machine itself (a container's health check, a curl from the host) address
# the app by a loopback name; they are trusted beside the public host unless
# TRUSTED_HOSTS is set.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


PROFILES = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def load(env: str | None = None, overrides: dict | None = None) -> dict:
    """The settings for `env` (default: $GRANTS_ENV, else development) as a plain dict."""
    env = env or os.environ.get("GRANTS_ENV", "development")
    try:
        profile = PROFILES[env]
    except KeyError:
        raise ConfigError(
            f"GRANTS_ENV={env!r} is not a profile; use one of {', '.join(PROFILES)}"
        ) from None
    settings = {name: getattr(profile, name) for name in dir(profile) if name.isupper()}
    instance = Path(os.environ.get("GRANTS_INSTANCE_PATH") or ROOT / "instance")
    settings["INSTANCE_PATH"] = str(instance)
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "BASE_URL",
        "MAIL_SERVER",
        "MAIL_USERNAME",
        "MAIL_PASSWORD",
        "MAIL_DEFAULT_SENDER",
        "MAIL_BACKEND",
        "RATELIMIT_STORAGE_URI",
        "LOG_FORMAT",
    ):
        if os.environ.get(name):
            settings[name] = os.environ[name]
    for name, lowest, highest in (("MAIL_PORT", 1, 65535), ("PROXY_HOPS", 0, 5)):
        if os.environ.get(name):
            settings[name] = _whole_number(name, os.environ[name], lowest, highest)
    if os.environ.get("LOG_LEVEL"):
        settings["LOG_LEVEL"] = os.environ["LOG_LEVEL"].strip().upper()
    if os.environ.get("TRUSTED_HOSTS"):
        settings["TRUSTED_HOSTS"] = _host_list(os.environ["TRUSTED_HOSTS"])
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
        if os.environ.get(name):
            settings[name] = os.environ[name].lower() in {"1", "true", "yes"}
    if os.environ.get("MAIL_SERVER") and not os.environ.get("MAIL_BACKEND"):
        settings["MAIL_BACKEND"] = "smtp"
    settings.update(overrides or {})
    if settings["MAIL_BACKEND"] not in {"smtp", "console", "none"}:
        raise ConfigError("MAIL_BACKEND must be smtp, console or none")
    if settings["LOG_LEVEL"] not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if settings["LOG_FORMAT"] is not None and settings["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")

    if settings["ENV_NAME"] == "production":
        required = ("SECRET_KEY", "DATABASE_URL", "BASE_URL")
        missing = [
            name
            for name in required
            if not os.environ.get(name) and not (overrides or {}).get(name)
        ]
        if missing:
            raise ConfigError(f"production needs {', '.join(missing)} set in the environment")
        if not settings["BASE_URL"].startswith("https://"):
            raise ConfigError("production's BASE_URL must start with https://")
        if settings.get("DEBUG") or os.environ.get("FLASK_DEBUG", "").lower() in {"1", "true"}:
            raise ConfigError("production never runs with debug on (it shows code and data)")
        key = str(settings["SECRET_KEY"])
        if len(key) < 32 or key in WEAK_SECRET_KEYS or len(set(key)) < 8:
            raise ConfigError(
                "production's SECRET_KEY must be long and random: "
                'python -c "import secrets; print(secrets.token_hex(32))"'
            )
        if (
            str(settings["DATABASE_URL"]).startswith("sqlite")
            and os.environ.get("GRANTS_ALLOW_SQLITE") != "1"
        ):
            raise ConfigError(
                "production runs on PostgreSQL; set GRANTS_ALLOW_SQLITE=1 to run a single "
                "small install on SQLite on purpose"
            )
        if not str(settings.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://")):
            raise ConfigError(
                "production needs RATELIMIT_STORAGE_URI=redis://... so every worker shares "
                "the same rate limits"
            )
        _check_production_mail(settings, overrides or {})
        if settings.get("TRUSTED_HOSTS") is None:
            settings["TRUSTED_HOSTS"] = [_host_of(settings["BASE_URL"]), *LOOPBACK_HOSTS]
    else:
        settings.setdefault("DATABASE_URL", "sqlite:///" + str(instance / "grants.db"))
        if not settings.get("SECRET_KEY"):
            settings["SECRET_KEY"] = _local_secret_key(instance)
    return settings


def _check_production_mail(settings: dict, overrides: dict) -> None:
    """A programme runs on email (invitations, gifts, password resets): production needs a
    mail server, or says on purpose that this host leaves email queued for another."""
    chosen = os.environ.get("MAIL_BACKEND") or overrides.get("MAIL_BACKEND")
    if settings["MAIL_BACKEND"] == "console":
        raise ConfigError(
            "MAIL_BACKEND=console prints every email, sign-in links and all, into the logs: "
            "never in production; set MAIL_SERVER"
        )
    if settings["MAIL_BACKEND"] == "smtp" and not settings.get("MAIL_SERVER"):
        raise ConfigError("MAIL_BACKEND=smtp needs MAIL_SERVER (the SMTP relay's host name)")
    if settings["MAIL_BACKEND"] == "none" and chosen != "none":
        raise ConfigError(
            "production needs MAIL_SERVER (the SMTP relay's host name) set in the environment, "
            "or MAIL_BACKEND=none to leave email queued for `flask jobs run` on another host"
        )


def _whole_number(name: str, value: str, lowest: int, highest: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or not lowest <= number <= highest:
        raise ConfigError(
            f"{name} must be a whole number from {lowest} to {highest}, not {value!r}"
        )
    return number


def _host_of(url: str) -> str:
    host = urlsplit(url).hostname
    if not host:
        raise ConfigError(
            f"BASE_URL must be an address such as https://grants.example.org, not {url!r}"
        )
    return host


def _host_list(value: str) -> list[str]:
    """TRUSTED_HOSTS: host names separated by commas (".example.org" trusts every
    subdomain). A name carries no scheme and no port: the Host header's port is ignored."""
    hosts = [host.strip().lower() for host in value.split(",") if host.strip()]
    for host in hosts:
        if not re.fullmatch(r"\.?[a-z0-9]([a-z0-9.-]*[a-z0-9])?", host):
            raise ConfigError(
                f"TRUSTED_HOSTS lists host names (no scheme, port or path); {host!r} is not one"
            )
    return hosts


def _local_secret_key(instance: Path) -> str:
    """A key kept under instance/, so sessions survive a restart of `make run`."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
