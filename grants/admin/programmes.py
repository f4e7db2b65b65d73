"""Programmes and their consent texts."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from grants.admin import bp
from grants.admin.forms import ConsentForm, ProgrammeForm
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.programmes import Programme
from grants.core.programmes import create_programme, publish_consent
from grants.database import db


@bp.route("/programmes", methods=["GET", "POST"])
def programmes():
    form = ProgrammeForm()
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        data = {"code": form.code.data, "name": form.name.data, "consent": form.consent.data}
        try:
            programme = commit_with_retry(db, lambda: create_programme(db, actor, **data))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Programme %(code)s added.", code=programme.code), "success")
            return redirect(url_for(".programmes"))
    listed = db.scalars(select(Programme).order_by(Programme.code)).all()
    return render_template("admin/programmes.html", programmes=listed, form=form)


@bp.route("/programmes/<int:programme_id>/consent", methods=["GET", "POST"])
def consent(programme_id: int):
    programme = db.get(Programme, programme_id)
    if programme is None:
        abort(404)
    current = programme.consent_texts[-1]
    form = ConsentForm(consent=current.body)
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        body = form.consent.data
        try:
            text = commit_with_retry(
                db, lambda: publish_consent(db, actor, db.get(Programme, programme_id), body)
            )
        except DomainError as error:
            form.consent.errors.append(error.message)
        else:
            flash(
                _("Version %(version)s of the consent text is published.", version=text.version),
                "success",
            )
            return redirect(url_for(".programmes"))
    return render_template("admin/consent.html", programme=programme, current=current, form=form)
