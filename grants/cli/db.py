import click

from grants.cli.group import Group
from grants.core import schema
from grants.database import get_engine

group = Group("db", help="The database schema.")


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
    revision = schema.current_revision(engine)
    state = "up to date" if schema.is_current(engine) else f"behind {schema.head_revision()}"
    click.echo(f"{revision or 'empty'} ({state})")
