"""Backups and restores, the way docs/backup.md tells an operator to make them:
`flask db backup FILE`, then `flask db restore FILE` into a new, empty database gives back
every row of every table, a ledger that verifies, and the append-only guards. A database
that holds anything is refused and left exactly as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import uuid

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from grants import create_app
from grants.cli.db import _libpq
from grants.core.db import make_engine
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import BASE_URL, PG_URL
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits, logged_in, send_gift, wallet_of

POSTGRES_ONLY = pytest.mark.skipif(
    not (PG_URL or "").startswith("postgresql"),
    reason="PostgreSQL only (pg_dump/pg_restore): set GRANTS_TEST_DATABASE_URL="
    "postgresql+psycopg://... to run it",
)
SQLITE_ONLY = pytest.mark.skipif(
    bool(PG_URL), reason="SQLite only (the online backup API and the write-ahead log)"
)


@pytest.fixture
def new_database(database_template, tmp_path):
    """new_database(): the URL of a new database with nothing in it (not even migrated),
    on the same server; PostgreSQL ones are dropped afterwards."""
    made: list[str] = []
    server = (
        None if database_template.is_sqlite else make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    )

    def make() -> str:
        if server is None:
            return f"sqlite:///{tmp_path / f'new_{len(made)}.db'}"
        name = f"test_restore_{uuid.uuid4().hex[:12]}"
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if server is not None:
        with server.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def app_on():
    """app_on(url): the application on another database (no email is sent from it)."""
    apps = []

    def make(url: str):
        app = create_app(
            {"DATABASE_URL": url, "BASE_URL": BASE_URL, "MAIL_BACKEND": "none"}, env="test"
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["grants.engine"].dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table in the database (whatever tables it has), in key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)  # one connection: SQLite's writer lock is one too
            tables = {}
            for name in sorted(inspector.get_table_names()):
                key = inspector.get_pk_constraint(name)["constrained_columns"]
                order = ", ".join(f'"{column}"' for column in key) or "1"
                rows = connection.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY {order}')
                tables[name] = [tuple(row) for row in rows]
            return tables
    finally:
        engine.dispose()


def schema_objects(url: str) -> list[tuple]:
    """The indexes, constraints and triggers that guard the data (unique keys, foreign keys,
    the append-only triggers): a restore that lost one would still hold every row."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    else:
        query = """
            -- A CHECK's text is deparsed afresh (same meaning, other casts): its name only.
            SELECT 'constraint', conname, conrelid::regclass::text,
                   CASE contype WHEN 'c' THEN 'check' ELSE pg_get_constraintdef(oid) END
              FROM pg_constraint WHERE connamespace = 'public'::regnamespace
            UNION ALL
            -- Likewise a partial index's WHERE: its columns, uniqueness and being partial.
            SELECT 'index', c.relname, t.relname,
                   concat_ws(' ', i.indisunique, i.indkey, i.indpred IS NOT NULL)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              WHERE c.relnamespace = 'public'::regnamespace
            UNION ALL
            SELECT 'trigger', tgname, tgrelid::regclass::text, pg_get_triggerdef(oid)
              FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT 'function', proname, '', pg_get_functiondef(oid)
              FROM pg_proc WHERE pronamespace = 'public'::regnamespace
            ORDER BY 1, 2, 3
        """
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(query)]
    finally:
        engine.dispose()


def balances(url: str) -> dict[int, tuple[int, int, int, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, debits_pending, debits_posted, credits_pending, credits_posted "
                    "FROM accounts ORDER BY id"
                )
            )
            return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        engine.dispose()


def is_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.fixture
def populated(app, runner, make_user, make_cohort, mailbox):
    """The demo's people, cohorts, requests, gifts, partners, vouchers and payouts, plus an
    ambassador with funded credits who has just gifted two of them (held, not yet answered)."""
    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    staff = make_user("staff", email="jo@example.org")
    maya = make_user("ambassador", email="maya@example.org", name="Maya Okafor")
    cohort_id = make_cohort(
        funded=100, session_allowance=20, approval_threshold=20, intake_name="Backup test"
    )
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 10, staff)
    assert send_gift(logged_in(app, maya), cohort_id).status_code == 302
    assert wallet_of(app, maya.email, cohort_id) == (8, 2, 0)
    return {"maya": maya, "cohort_id": cohort_id}


def test_a_backup_restored_into_a_new_database_gives_back_everything(
    app, runner, database_url, populated, new_database, app_on, tmp_path
):
    original = snapshot(database_url)
    for table in (
        "users",
        "cohorts",
        "enrolments",
        "grants",
        "gifts",
        "accounts",
        "transfers",
        "outbox_messages",
        "audit_entries",
        "vouchers",
        "payout_batches",
    ):
        assert original[table], f"{table} is empty: the comparison below would prove little"

    backups = tmp_path / "backups"
    backups.mkdir()
    backup = backups / "grants.backup"
    made = runner.invoke(args=["db", "backup", str(backup)])
    assert made.exit_code == 0, made.output
    assert f"to {backup}" in made.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # personal and health data
    assert [path.name for path in backups.iterdir()] == ["grants.backup"]  # no leftovers

    target = new_database()
    restored = app_on(target)
    restorer = restored.test_cli_runner()
    result = restorer.invoke(args=["db", "restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert "(up to date)" in result.output

    current = restorer.invoke(args=["db", "current"])
    assert current.exit_code == 0 and "(up to date)" in current.output
    verified = restorer.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "every invariant holds" in verified.output

    copy = snapshot(target)
    assert sorted(copy) == sorted(original)
    assert schema_objects(target) == schema_objects(database_url)
    assert {name: len(rows) for name, rows in copy.items()} == {
        name: len(rows) for name, rows in original.items()
    }
    assert copy == original
    assert balances(target) == balances(database_url)
    assert any(any(values) for values in balances(target).values())
    maya, cohort_id = populated["maya"], populated["cohort_id"]
    assert wallet_of(restored, maya.email, cohort_id) == (8, 2, 0)
    assert wallet_of(restored, "sam@example.org", cohort_id) == (0, 0, 2)

    # The restored database goes on working: new rows get fresh ids...
    created = restorer.invoke(
        args=[
            "users",
            "create",
            "--email",
            "new@example.org",
            "--name",
            "New Person",
            "--role",
            "staff",
            "--password",
            "a long enough password",
        ]
    )
    assert created.exit_code == 0, created.output
    with restored.app_context():
        newest = get_session().scalar(select(User).order_by(User.id.desc()))
        assert newest.email == "new@example.org"
        assert newest.id > max(row[0] for row in original["users"])
    # ...and the ledger is still append-only.
    engine = make_engine(target)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("UPDATE transfers SET amount = amount + 1")
    finally:
        engine.dispose()
    assert snapshot(database_url) == original  # backing up changed nothing


def test_restore_refuses_a_database_that_holds_anything_and_changes_nothing(
    app, runner, database_url, make_user, new_database, app_on, tmp_path
):
    backup = tmp_path / "grants.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    make_user("admin", email="after-the-backup@example.org")
    before = snapshot(database_url)

    result = runner.invoke(args=["db", "restore", str(backup)])
    assert result.exit_code != 0
    assert "is not empty" in result.output and "nothing was restored" in result.output
    assert "new, empty database" in result.output
    assert snapshot(database_url) == before  # the person added after the backup is still there

    # Even one stray table is enough to refuse.
    stray = new_database()
    engine = make_engine(stray)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql("INSERT INTO notes VALUES (1, 'keep me')")
    engine.dispose()
    result = app_on(stray).test_cli_runner().invoke(args=["db", "restore", str(backup)])
    assert result.exit_code != 0 and "notes" in result.output
    assert snapshot(stray) == {"notes": [(1, "keep me")]}


def test_a_damaged_or_foreign_backup_leaves_the_new_database_empty(
    runner, make_user, new_database, app_on, tmp_path
):
    make_user("admin")
    backup = tmp_path / "grants.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    whole = backup.read_bytes()
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(whole[: len(whole) // 2])
    other_kind = tmp_path / "other.backup"
    other_kind.write_bytes(
        b"PGDMP" + b"\0" * 100 if PG_URL is None else b"SQLite format 3\x00" + b"\0" * 100
    )
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a backup\n")
    expected = {
        truncated: "nothing was restored",
        other_kind: "it is a PostgreSQL dump" if PG_URL is None else "it is a SQLite database",
        text_file: "neither a SQLite database nor a PostgreSQL dump",
    }
    if PG_URL:
        # Damage the last table's data (each is a zlib stream, 78 9c): pg_restore fails
        # after it has created every table, and the single transaction takes them away.
        damaged = bytearray(whole)
        start = damaged.rfind(b"\x78\x9c")
        assert start > len(whole) // 2
        for index in range(start + 2, min(start + 40, len(damaged))):
            damaged[index] ^= 0x5A
        corrupt = tmp_path / "corrupt.backup"
        corrupt.write_bytes(bytes(damaged))
        expected[corrupt] = "pg_restore failed, nothing was restored"
    for file, message in expected.items():
        target = new_database()
        result = app_on(target).test_cli_runner().invoke(args=["db", "restore", str(file)])
        assert result.exit_code != 0, file
        assert message in result.output, result.output
        assert "Traceback" not in result.output
        assert is_empty(target), file


def test_a_backup_never_overwrites_a_file(runner, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    existing = backups / "grants.backup"
    existing.write_bytes(b"last night's backup")
    result = runner.invoke(args=["db", "backup", str(existing)])
    assert result.exit_code != 0 and "already exists" in result.output
    assert existing.read_bytes() == b"last night's backup"
    assert [path.name for path in backups.iterdir()] == ["grants.backup"]


@SQLITE_ONLY
def test_a_sqlite_backup_includes_what_is_still_in_the_write_ahead_log(
    app, runner, database_url, make_user, tmp_path
):
    make_user("admin", email="only-in-the-wal@example.org")
    live = make_url(database_url).database
    assert os.path.getsize(live + "-wal") > 0
    # What a plain file copy of the live database gets: not the newest commit.
    naive = tmp_path / "naive-copy.db"
    shutil.copyfile(live, naive)
    with sqlite3.connect(naive) as connection:
        assert connection.execute("SELECT email FROM users").fetchall() == []

    backup = tmp_path / "grants.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    assert not (tmp_path / "grants.backup-wal").exists()
    with sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert connection.execute("SELECT email FROM users").fetchall() == [
            ("only-in-the-wal@example.org",)
        ]


@POSTGRES_ONLY
def test_pg_dump_failing_is_reported_and_leaves_no_file(app_on, tmp_path):
    missing = make_url(PG_URL).set(database=f"test_restore_missing_{uuid.uuid4().hex[:8]}")
    app = app_on(missing.render_as_string(hide_password=False))
    backups = tmp_path / "backups"
    backups.mkdir()
    result = app.test_cli_runner().invoke(args=["db", "backup", str(backups / "grants.backup")])
    assert result.exit_code != 0
    assert "pg_dump failed" in result.output and "does not exist" in result.output
    assert list(backups.iterdir()) == []  # no half-written file left behind


@POSTGRES_ONLY
def test_missing_postgresql_client_tools_are_named(runner, monkeypatch, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    result = runner.invoke(args=["db", "backup", str(backups / "grants.backup")])
    assert result.exit_code != 0
    assert "pg_dump is not installed" in result.output and "postgresql-client" in result.output
    assert list(backups.iterdir()) == []


def test_the_postgresql_password_goes_in_the_environment_not_the_command_line():
    engine = create_engine(
        "postgresql+psycopg://grants:s3cret%40pw@db.internal:5433/grants?sslmode=require"
    )
    uri, environment = _libpq(engine)
    assert uri == "postgresql://grants@db.internal:5433/grants?sslmode=require"
    assert "s3cret" not in uri
    assert environment["PGPASSWORD"] == "s3cret@pw"
    engine.dispose()
