import sys

import click
from flask import current_app
from sqlalchemy import select

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.enrolment_csv import (
    CsvProblem,
    RowsInvalid,
    check_places,
    import_rows,
    read_enrolment_csv,
)
from grants.core.models.cohorts import Cohort
from grants.core.models.people import Role, User
from grants.database import db

group = Group("enrol", help="Enrolling ambassadors.")

MAX_FILE_BYTES = 20 * 1024 * 1024


@group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--cohort", "cohort_id", type=int, required=True, help="The cohort's id.")
@click.option(
    "--as",
    "staff_email",
    required=True,
    help="Email of the staff member the import is recorded against.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and stop.")
def import_command(file, cohort_id: int, staff_email: str, dry_run: bool) -> None:
    """Invite everyone in a CSV FILE (name, artist_name, email, country) to a cohort.

    Nothing is imported while any row is invalid; each bad row is listed with why.
    """
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        raise click.ClickException(f"there is no cohort {cohort_id}")
    staff = db.scalar(select(User).where(User.email == staff_email.strip().lower()))
    if staff is None or not staff.has_role(Role.STAFF):
        raise click.ClickException(f"{staff_email} is not a member of staff")
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise click.ClickException(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        rows = check_places(db, cohort, read_enrolment_csv(data))
    except CsvProblem as error:
        raise click.ClickException(error.message) from None
    _report_bad_rows(rows)
    if dry_run:
        click.echo(f"{len(rows)} rows are fine; nothing imported (--dry-run)")
        return

    with click.progressbar(
        length=len(rows),
        label=f"Inviting to {cohort.name}",
        show_pos=True,
        file=sys.stderr,
    ) as bar:
        try:
            count = commit_with_retry(
                db,
                lambda: import_rows(
                    db,
                    db.get(User, staff.id),
                    db.get(Cohort, cohort_id),
                    rows,
                    progress=bar.update,
                ),
                attempts=1,
            )
        except RowsInvalid as error:
            _report_bad_rows(error.rows)
            raise
    click.echo(f"{count} invitations queued; `flask --app wsgi outbox send` delivers them")
    if current_app.config["MAIL_BACKEND"] == "none":
        click.echo("(no mail server is configured: they wait in the outbox)")


def _report_bad_rows(rows) -> None:
    bad = [row for row in rows if row.errors]
    if not bad:
        return
    for row in bad:
        click.echo(f"line {row.line}: {'; '.join(row.errors)}", err=True)
    raise click.ClickException(f"{len(bad)} of {len(rows)} rows cannot be imported, so nothing was")
