"""`flask resources import|export`: share or update the resource hub's directory in bulk."""

import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core import resources as directory
from grants.core.db import commit_with_retry
from grants.core.errors import InvalidInput
from grants.core.models.resources import Resource
from grants.database import db

group = Group("resources", help="The resource hub's directory of crisis lines and support.")

MAX_FILE_BYTES = 10 * 1024 * 1024


def _format(path: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if suffix in {".csv", ".json"}:
        return suffix[1:]
    raise click.ClickException("say --format csv or --format json (the file name does not)")


@group.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "kind", type=click.Choice(["csv", "json"]), help="Default: by suffix.")
@click.option("--if-empty", is_flag=True, help="Only when the directory has no entries yet.")
def import_command(file: str | None, kind: str | None, if_empty: bool) -> None:
    """Add and update entries from FILE (CSV or JSON; "-" reads standard input). Without
    FILE, the directory shipped with the app is loaded.

    Entries are matched by country and name: new ones are added, known ones updated,
    none deleted. Every row is checked first; if any is bad, each is listed with why and
    nothing is imported.
    """
    if if_empty and db.scalar(select(func.count()).select_from(Resource)):
        click.echo("the directory already has entries; nothing imported")
        return
    path = file or str(directory.SEED_FILE)
    kind = _format(path, kind) if path != "-" else (kind or "json")
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise click.ClickException(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise click.ClickException("the file is larger than 10 MB")
    try:
        document = directory.read_csv(data) if kind == "csv" else directory.read_json(data)
        report = commit_with_retry(db, lambda: directory.import_directory(db, None, document))
    except directory.DirectoryInvalid as error:
        db.rollback()
        for problem in error.problems:
            click.echo(f"row {problem.row}: {problem.message}", err=True)
        raise click.ClickException(str(error)) from None
    except InvalidInput as error:
        db.rollback()
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.emergency_numbers} emergency numbers"
    )


@group.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@click.option("--format", "kind", type=click.Choice(["csv", "json"]), default="json")
@click.option("--active-only", is_flag=True, help="Leave out retired entries.")
def export_command(file, kind: str, active_only: bool) -> None:
    """Write the directory to FILE (default: standard output) as JSON or CSV; the output
    imports back unchanged."""
    export = directory.export_csv if kind == "csv" else directory.export_json
    file.write(export(db, include_retired=not active_only))
