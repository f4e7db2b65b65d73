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
