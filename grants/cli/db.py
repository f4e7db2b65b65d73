import os
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from grants.cli.group import Group
from grants.core import schema
from grants.database import get_engine

group = Group("db", help="The database schema, backups and restores.")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"  # the first bytes of pg_dump's custom format (-Fc)


@group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    engine = get_engine()
    schema.upgrade(engine, revision)
    click.echo(f"database at revision {schema.current_revision(engine)}")


@group.command("current")
def current() -> None:
    """Print the database's revision, and whether it is the newest."""
    engine = get_engine()
    click.echo(_revision_state(engine))


@group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """Write a consistent copy of the whole database to FILE (a new file, readable only by
    its owner): SQLite's online backup, or `pg_dump -Fc` on PostgreSQL. It holds personal
    and health data: encrypt it before it leaves this machine (docs/backup.md)."""
    engine = get_engine()
    if file.exists():
        raise click.ClickException(f"{file} already exists; a backup never overwrites a file")
    if not file.parent.is_dir():
        raise click.ClickException(f"{file.parent} is not a directory")
    # Written under a temporary name and renamed when complete, so FILE is never half a backup.
    partial = file.with_name(f".{file.name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if _is_sqlite(engine):
            os.close(descriptor)
            _sqlite_backup(engine, partial)
        else:
            with os.fdopen(descriptor, "wb") as handle:
                _pg_dump(engine, handle)
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(partial, file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    click.echo(f"backed up {_describe(engine)} to {file} ({file.stat().st_size} bytes)")


@group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(file: Path) -> None:
    """Load a backup made by `db backup` into the database, which must be empty (new):
    a database that holds anything is refused and left as it is."""
    engine = get_engine()
    with file.open("rb") as handle:
        start = handle.read(len(SQLITE_MAGIC))
    found = _existing_objects(engine)
    if found:
        raise click.ClickException(
            f"{_describe(engine)} is not empty (it has {', '.join(found)}); nothing was "
            "restored. Restore only into a new, empty database: create one and point "
            "DATABASE_URL at it."
        )
    if _is_sqlite(engine):
        if not start.startswith(SQLITE_MAGIC):
            raise click.ClickException(f"{file} is not a SQLite backup ({_kind(start)})")
        _sqlite_restore(engine, file)
    else:
        if not start.startswith(PG_DUMP_MAGIC):
            raise click.ClickException(
                f"{file} is not a PostgreSQL custom-format dump ({_kind(start)})"
            )
        _pg_restore(engine, file)
    click.echo(f"restored {file} into {_describe(engine)}: {_revision_state(engine)}")
    click.echo("next: flask --app wsgi ledger verify")


def _revision_state(engine: Engine) -> str:
    revision = schema.current_revision(engine)
    state = "up to date" if schema.is_current(engine) else f"behind {schema.head_revision()}"
    return f"{revision or 'empty'} ({state})"


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _describe(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _kind(start: bytes) -> str:
    if start.startswith(SQLITE_MAGIC):
        return "it is a SQLite database"
    if start.startswith(PG_DUMP_MAGIC):
        return "it is a PostgreSQL dump"
    return "it is neither a SQLite database nor a PostgreSQL dump"


def _existing_objects(engine: Engine) -> list[str]:
    """A few of the tables, views, indexes, triggers or sequences already in the database."""
    if _is_sqlite(engine):
        query = "SELECT type || ' ' || name FROM sqlite_master ORDER BY name LIMIT 5"
    else:
        query = r"""
            SELECT n.nspname || '.' || c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
            ORDER BY 1 LIMIT 5
        """
    with engine.connect() as connection:
        return list(connection.execute(text(query)).scalars())


def _sqlite_backup(engine: Engine, target: Path) -> None:
    """SQLite's online backup API: a consistent snapshot that includes what is still in the
    write-ahead log, which copying the file would miss or tear."""
    source = engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            source.driver_connection.backup(copy)
            # One self-contained file: no -wal beside it to lose.
            copy.execute("PRAGMA journal_mode=DELETE")
            _check_integrity(copy)
        except sqlite3.DatabaseError as error:
            raise click.ClickException(f"the backup failed: {error}") from None
        finally:
            copy.close()
    finally:
        source.close()
    with target.open("rb") as handle:
        os.fsync(handle.fileno())


def _sqlite_restore(engine: Engine, file: Path) -> None:
    source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        _check_integrity(source)
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise click.ClickException(f"{file} is not a backup of this application's database")
        target = engine.raw_connection()
        try:
            # One step, one transaction on the target: all of it or (on an error) nothing.
            source.backup(target.driver_connection)
        finally:
            target.close()
    except sqlite3.DatabaseError as error:
        raise click.ClickException(
            f"{file} is damaged or not a SQLite database; nothing was restored: {error}"
        ) from None
    finally:
        source.close()


def _check_integrity(connection: sqlite3.Connection) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise sqlite3.DatabaseError(f"SQLite's integrity check failed: {result[:3]}")


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """DATABASE_URL as a libpq connection URI, with the password passed in the environment
    (PGPASSWORD) rather than on a command line other users can read."""
    url = make_url(engine.url)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    uri = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    return uri, environment


def _client(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise click.ClickException(
            f"{program} is not installed (or not on PATH): install the PostgreSQL client "
            "tools of the server's major version or newer, e.g. apt-get install "
            "postgresql-client-15"
        )
    return path


def _pg_dump(engine: Engine, handle) -> None:
    uri, environment = _libpq(engine)
    result = subprocess.run(
        [_client("pg_dump"), "--format=custom", "--no-password", "--dbname", uri],
        stdout=handle,
        stderr=subprocess.PIPE,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(f"pg_dump failed: {result.stderr.decode(errors='replace')}")


def _pg_restore(engine: Engine, file: Path) -> None:
    uri, environment = _libpq(engine)
    result = subprocess.run(
        [
            _client("pg_restore"),
            "--no-password",
            # All or nothing: a failed restore leaves the database as empty as it was.
            "--single-transaction",
            "--exit-on-error",
            # Objects belong to DATABASE_URL's role; grants to other roles are not replayed.
            "--no-owner",
            "--no-privileges",
            "--dbname",
            uri,
            str(file),
        ],
        capture_output=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(
            f"pg_restore failed, nothing was restored: {result.stderr.decode(errors='replace')}"
        )
