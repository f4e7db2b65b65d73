"""The migrations build exactly the schema the models describe, on both databases, and
the core stays free of Flask."""

from __future__ import annotations

import subprocess
import sys
import warnings
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from grants.core import schema
from grants.core.db import Base


@contextmanager
def quiet_about_expression_indexes():
    """Alembic and SQLAlchemy cannot reflect expression indexes (the account owner index)
    on SQLite, and warn so; the suite turns warnings into errors."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        yield


def test_migrations_match_the_models(engine):
    with engine.connect() as connection, quiet_about_expression_indexes():
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_database_is_at_the_newest_revision(engine):
    assert schema.is_current(engine)


def test_constraint_names_follow_the_convention(engine):
    inspector = inspect(engine)
    checks = {check["name"] for check in inspector.get_check_constraints("transfers")}
    assert "ck_transfers_amount_positive" in checks
    assert inspector.get_pk_constraint("transfers")["name"] == "pk_transfers"
    # SQLite does not reflect expression indexes: ask each catalogue directly.
    catalogue = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounts'",
        "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts'",
    }[engine.dialect.name]
    with engine.connect() as connection:
        indexes = set(connection.exec_driver_sql(catalogue).scalars())
    assert "uq_accounts_ledger_code_owner" in indexes


def test_downgrade_to_nothing_and_back(engine):
    schema.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(engine)
    assert schema.is_current(engine)
    assert {"transfers", "accounts", "ledgers", "users"} <= set(inspect(engine).get_table_names())


def test_the_core_never_imports_flask():
    code = (
        "import pkgutil, importlib, sys, grants.core\n"
        "for module in pkgutil.walk_packages(grants.core.__path__, 'grants.core.'):\n"
        "    importlib.import_module(module.name)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in {'flask', 'werkzeug',"
        " 'flask_login', 'flask_wtf'}], sorted(m for m in sys.modules if 'flask' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("with_partners", [True, False])
def test_migrations_step_down_and_up_over_real_data(engine, monkeypatch, with_partners):
    """SQLite rebuilds tables to alter them; with data in them (and rows pointing at them)
    every step must still go through, and the append-only triggers must survive."""
    from sqlalchemy.orm import Session

    from grants.core import demo, passwords

    passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)
    if not with_partners:  # data every older revision can hold, to walk all the way down
        monkeypatch.setattr(demo, "_partners", lambda session, users: None)
    with Session(engine) as session:
        demo.seed(session)
        session.commit()
    revisions = [script.revision for script in _scripts()]
    for revision in revisions[1:]:  # down one step at a time, as far as the data allows
        before = schema.current_revision(engine)
        try:
            schema.downgrade(engine, revision)
        except RuntimeError as refusal:
            # A step down that would lose track of money refuses, and changes nothing.
            assert with_partners and "hold money on the ledger" in str(refusal)
            assert schema.current_revision(engine) == before
            break
    else:
        assert not with_partners
    schema.upgrade(engine)  # and all the way back up over the same data
    assert schema.is_current(engine)
    with engine.begin() as connection, pytest.raises(DBAPIError, match="append-only"):
        connection.exec_driver_sql("DELETE FROM transfers")


def _scripts():
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(schema.alembic_config()).walk_revisions())
