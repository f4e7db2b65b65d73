import pytest

import config
from grants import create_app


def test_production_refuses_to_start_without_its_settings(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY, DATABASE_URL, BASE_URL"):
        create_app(env="production")
    monkeypatch.setenv("SECRET_KEY", "a3f9c1e07b6d4e2fa8b5c3d1e9f7a6b4c2d0e8f6")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example.org/grants")
    with pytest.raises(config.ConfigError, match="needs BASE_URL"):
        create_app(env="production")
    monkeypatch.setenv("BASE_URL", "http://grants.example.org")
    with pytest.raises(config.ConfigError, match="must start with https://"):
        create_app(env="production")
    monkeypatch.setenv("BASE_URL", "https://grants.example.org")
    with pytest.raises(config.ConfigError, match="RATELIMIT_STORAGE_URI=redis://"):
        create_app(env="production")


def test_an_unknown_profile_is_named(monkeypatch):
    with pytest.raises(config.ConfigError, match="'staging' is not a profile"):
        config.load("staging")


def test_development_defaults_to_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("GRANTS_INSTANCE_PATH", str(tmp_path))
    settings = config.load("development")
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'grants.db'}"
    # A generated key, kept so sessions survive a restart.
    assert settings["SECRET_KEY"] == config.load("development")["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.fixture
def production_env(monkeypatch):
    """Everything production needs, so each test can take one thing away."""
    monkeypatch.setenv("SECRET_KEY", "a3f9c1e07b6d4e2fa8b5c3d1e9f7a6b4c2d0e8f6")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db.example.org/grants")
    monkeypatch.setenv("BASE_URL", "https://grants.example.org")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://redis.example.org:6379/0")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    for name in ("MAIL_BACKEND", "TRUSTED_HOSTS", "PROXY_HOPS", "MAIL_PORT", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GRANTS_ALLOW_SQLITE", raising=False)
    return monkeypatch


def test_production_needs_a_mail_server_or_email_left_to_another_host(production_env):
    assert config.load("production")["MAIL_BACKEND"] == "smtp"
    production_env.delenv("MAIL_SERVER")
    with pytest.raises(config.ConfigError, match="production needs MAIL_SERVER"):
        config.load("production")
    production_env.setenv("MAIL_BACKEND", "none")  # said on purpose: another host sends
    assert config.load("production")["MAIL_BACKEND"] == "none"
    production_env.setenv("MAIL_BACKEND", "smtp")
    with pytest.raises(config.ConfigError, match="MAIL_BACKEND=smtp needs MAIL_SERVER"):
        config.load("production")
    production_env.setenv("MAIL_BACKEND", "console")  # would print sign-in links into logs
    with pytest.raises(config.ConfigError, match="never in production"):
        config.load("production")


def test_numbers_that_are_not_numbers_are_named(production_env):
    production_env.setenv("PROXY_HOPS", "one")
    with pytest.raises(config.ConfigError, match="PROXY_HOPS must be a whole number from 0 to 5"):
        config.load("production")
    production_env.setenv("PROXY_HOPS", "1")
    production_env.setenv("MAIL_PORT", "70000")
    with pytest.raises(config.ConfigError, match="MAIL_PORT must be a whole number"):
        config.load("production")
    production_env.setenv("MAIL_PORT", "587")
    settings = config.load("production")
    assert (settings["PROXY_HOPS"], settings["MAIL_PORT"]) == (1, 587)


def test_trusted_hosts_default_to_the_public_address_and_local_probes(production_env):
    assert config.load("production")["TRUSTED_HOSTS"] == [
        "grants.example.org",
        "localhost",
        "127.0.0.1",
    ]
    production_env.setenv("TRUSTED_HOSTS", "grants.example.org, .internal.example.org")
    assert config.load("production")["TRUSTED_HOSTS"] == [
        "grants.example.org",
        ".internal.example.org",
    ]
    for wrong in ("https://grants.example.org", "grants.example.org:443", "grants example"):
        production_env.setenv("TRUSTED_HOSTS", wrong)
        with pytest.raises(config.ConfigError, match="TRUSTED_HOSTS lists host names"):
            config.load("production")
    production_env.delenv("TRUSTED_HOSTS")
    assert config.load("development")["TRUSTED_HOSTS"] is None  # `make run`: any host
