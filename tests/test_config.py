import pytest

import config
from grants import create_app


def test_production_refuses_to_start_without_its_settings(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY and DATABASE_URL"):
        create_app(env="production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(config.ConfigError, match="needs DATABASE_URL"):
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
