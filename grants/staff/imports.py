"""Enrolling from a CSV file: upload, preview with an error per bad row, confirm."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from grants.core import audit
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.enrolment_csv import (
    CsvProblem,
    RowsInvalid,
    check_places,
    import_rows,
    read_enrolment_csv,
    rows_from_dicts,
)
from grants.core.errors import DomainError
from grants.core.models.imports import EnrolmentImport
from grants.database import db
from grants.forms import ActionForm
from grants.i18n import current_language
from grants.staff import bp
from grants.staff.forms import ImportForm
from grants.staff.views import load_cohort

PREVIEW_ROWS = 200  # rows shown in the preview table; errors are always all shown


@bp.route("/cohorts/<int:cohort_id>/import", methods=["GET", "POST"])
def upload(cohort_id: int):
    cohort = load_cohort(cohort_id)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            rows = read_enrolment_csv(upload.read())
        except CsvProblem as error:
            form.file.errors.append(error.message)
            return render_template("staff/import_upload.html", cohort=cohort, form=form), 400
        rows = check_places(db, cohort, rows)
        if any(row.errors for row in rows):
            db.rollback()
            return _preview(cohort, rows, staged=None), 400
        actor = current_user._get_current_object()

        def stage():
            staged = EnrolmentImport(
                cohort_id=cohort_id,
                created_by_id=actor.id,
                filename=(upload.filename or "upload.csv")[:255],
                rows=[row.as_dict() for row in rows],
                row_count=len(rows),
            )
            db.add(staged)
            db.flush()
            audit.record(
                db, actor, "enrolment.import_upload", staged, cohort_id=cohort_id, rows=len(rows)
            )
            return staged.id

        staged_id = commit_with_retry(db, stage)
        return redirect(url_for(".import_preview", import_id=staged_id))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/import_upload.html", cohort=cohort, form=form), status


def _already(status: str) -> str:
    if status == "imported":
        return _("That list was already imported.")
    if status == "discarded":
        return _("That list was already discarded.")
    return _("That list was already %(status)s.", status=status)


def _preview(cohort, rows, *, staged):
    bad = [row for row in rows if row.errors]
    return render_template(
        "staff/import_preview.html",
        cohort=cohort,
        rows=rows[:PREVIEW_ROWS],
        bad=bad,
        total=len(rows),
        staged=staged,
        action_form=ActionForm(),
    )


def _load_import(import_id: int) -> EnrolmentImport:
    staged = db.get(EnrolmentImport, import_id)
    if staged is None:
        abort(404)
    return staged


@bp.route("/imports/<int:import_id>")
def import_preview(import_id: int):
    staged = _load_import(import_id)
    cohort = load_cohort(staged.cohort_id)
    if staged.status != "preview":
        flash(_already(staged.status), "info")
        return redirect(url_for(".cohort", cohort_id=cohort.id))
    return _preview(cohort, rows_from_dicts(staged.rows), staged=staged)


@bp.route("/imports/<int:import_id>/confirm", methods=["POST"])
def import_confirm(import_id: int):
    staged = _load_import(import_id)
    cohort_id = staged.cohort_id
    actor = current_user._get_current_object()
    locale = current_language()  # for newcomers' emails: they have not chosen one yet

    def run() -> int | None:
        # Locked, so two clicks (or two staff) cannot import the same list twice.
        row = db.get(EnrolmentImport, import_id, with_for_update=True, populate_existing=True)
        if row.status != "preview":
            return None
        count = import_rows(
            db,
            actor,
            load_cohort(cohort_id),
            rows_from_dicts(row.rows),
            import_id=import_id,
            locale=locale,
        )
        row.status, row.rows, row.finished_at = "imported", [], clock.now()
        return count

    try:
        count = commit_with_retry(db, run)
    except RowsInvalid as error:
        flash(error.message, "error")
        return _preview(load_cohort(cohort_id), error.rows, staged=None), 409
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".cohort", cohort_id=cohort_id))
    if count is None:
        flash(_("That list was already imported."), "info")
    else:
        flash(ngettext("%(num)s invitation sent.", "%(num)s invitations sent.", count), "success")
    return redirect(url_for(".cohort", cohort_id=cohort_id))


@bp.route("/imports/<int:import_id>/discard", methods=["POST"])
def import_discard(import_id: int):
    staged = _load_import(import_id)
    cohort_id = staged.cohort_id
    actor = current_user._get_current_object()

    def run() -> None:
        row = db.get(EnrolmentImport, import_id, with_for_update=True, populate_existing=True)
        if row.status == "preview":
            row.status, row.rows, row.finished_at = "discarded", [], clock.now()
            audit.record(db, actor, "enrolment.import_discard", row, cohort_id=cohort_id)

    commit_with_retry(db, run)
    flash(_("The list was discarded; nobody was invited."), "info")
    return redirect(url_for(".cohort", cohort_id=cohort_id))
