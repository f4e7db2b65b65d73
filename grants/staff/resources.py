"""Staff keep the resource hub current: add, edit, mark checked, retire and restore
entries, set emergency numbers, and download the directory. Entries not checked for 12
months are flagged here and in the staff navigation."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from grants.core import resources as directory
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError, NotFound
from grants.core.models.resources import EmergencyNumber, Resource
from grants.database import db
from grants.forms import ActionForm
from grants.i18n import current_language
from grants.listing import Order, paginate, sort_from_request
from grants.staff import bp
from grants.staff.resource_forms import EmergencyNumberForm, ResourceForm

SHOWS = ("active", "stale", "retired", "all")
PAGE_SIZE = 50
# The directory by country (the default), by name, or oldest check first (what is due).
ORDERS = {
    "country": Order((Resource.country, func.lower(Resource.name), Resource.id)),
    "name": Order((func.lower(Resource.name), Resource.id)),
    "checked": Order((Resource.checked_on, Resource.id)),
}


@bp.app_context_processor
def _stale_count():
    def stale_resources() -> int:
        """Entries and emergency numbers due a check, for the staff navigation."""
        before = directory.stale_before(clock.today())
        entries = db.scalar(
            select(func.count())
            .select_from(Resource)
            .where(Resource.retired_at.is_(None), Resource.checked_on <= before)
        )
        numbers = db.scalar(
            select(func.count())
            .select_from(EmergencyNumber)
            .where(EmergencyNumber.checked_on <= before)
        )
        return entries + numbers

    return {"stale_resources": stale_resources}


@bp.route("/resources")
def resources():
    show = request.args.get("show", "active")
    show = show if show in SHOWS else "active"
    query = select(Resource)
    if show in ("active", "stale"):
        query = query.where(Resource.retired_at.is_(None))
    elif show == "retired":
        query = query.where(Resource.retired_at.is_not(None))
    if show == "stale":  # as directory.stale_entries, a page at a time
        query = query.where(Resource.checked_on <= directory.stale_before(clock.today()))
    sort = sort_from_request(ORDERS, "checked" if show == "stale" else "country")
    listed = paginate(query.order_by(*sort.order_by()), PAGE_SIZE)
    numbers = db.scalars(select(EmergencyNumber).order_by(EmergencyNumber.country)).all()
    number_form = EmergencyNumberForm(checked_on=clock.today())
    return render_template(
        "staff/resources.html",
        entries=listed.items,
        sort=sort,
        **listed.place,
        show=show,
        stale=directory.stale_entries(db),
        numbers=numbers,
        number_form=number_form,
        action_form=ActionForm(),
        names=directory.localised_country_names(current_language()),
        is_stale=directory.is_stale,
    )


@bp.route("/resources/new", methods=["GET", "POST"])
def new_resource():
    form = ResourceForm(checked_on=clock.today())
    if form.validate_on_submit():
        try:
            entry = commit_with_retry(
                db, lambda: directory.add_entry(db, current_user, form.as_entry())
            )
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s is in the directory.", name=entry.name), "success")
            return redirect(url_for("staff.resources"))
    return render_template("staff/resource_form.html", form=form, entry=None)


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
def edit_resource(resource_id: int):
    entry = db.get(Resource, resource_id) or abort(404)
    form = ResourceForm(obj=entry) if request.method == "GET" else ResourceForm()
    if request.method == "GET":
        form.languages.data = ", ".join(entry.languages)
        form.channels.data = directory.channels_to_text(entry.channels)
        form.hours.data = directory.hours_to_text(entry.hours)
        form.free.data = {True: "yes", False: "no", None: "unknown"}[entry.free]
    if form.validate_on_submit():
        try:
            commit_with_retry(
                db, lambda: directory.edit_entry(db, current_user, resource_id, form.as_entry())
            )
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
        else:
            flash(_("Your changes to %(name)s are saved.", name=entry.name), "success")
            return redirect(url_for("staff.resources"))
    return render_template("staff/resource_form.html", form=form, entry=entry)


def _act(resource_id: int, action, done: str):
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("staff.resources"))
    try:
        entry = commit_with_retry(db, lambda: action(db, current_user, resource_id))
    except NotFound:
        abort(404)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
    else:
        flash(done % {"name": entry.name}, "success")
    show = "stale" if request.form.get("back") == "stale" else None
    return redirect(url_for("staff.resources", show=show))


@bp.post("/resources/<int:resource_id>/checked")
def check_resource(resource_id: int):
    return _act(resource_id, directory.mark_checked, _("%(name)s is marked as checked today."))


@bp.post("/resources/<int:resource_id>/retire")
def retire_resource(resource_id: int):
    return _act(
        resource_id, directory.retire_entry, _("%(name)s is retired: the hub no longer shows it.")
    )


@bp.post("/resources/<int:resource_id>/restore")
def restore_resource(resource_id: int):
    return _act(resource_id, directory.restore_entry, _("%(name)s is back in the hub."))


@bp.post("/resources/emergency-numbers")
def set_emergency_number():
    form = EmergencyNumberForm()
    if form.validate_on_submit():
        try:
            details = {
                "country": form.country.data,
                "number": form.number.data,
                "source": form.source.data,
                "checked_on": form.checked_on.data,
            }
            commit_with_retry(db, lambda: directory.set_emergency_number(db, current_user, details))
        except DomainError as error:
            db.rollback()
            flash(error.message, "error")
        else:
            flash(_("The emergency number is saved."), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("staff.resources"))


@bp.route("/resources/export.<any(csv, json):kind>")
def export_resources(kind: str):
    if kind == "csv":
        body, mimetype = directory.export_csv(db), "text/csv; charset=utf-8"
    else:
        body, mimetype = directory.export_json(db), "application/json"
    stamp = clock.today().isoformat()
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="resources-{stamp}.{kind}"'},
    )
