"""Inviting one ambassador, and resending, withdrawing or closing an enrolment."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from grants.core.db import commit_with_retry
from grants.core.enrolment import (
    Invitee,
    close_enrolment,
    resend_invitation,
    revoke_invitation,
)
from grants.core.enrolment import invite as invite_person
from grants.core.errors import DomainError
from grants.core.models.cohorts import Enrolment
from grants.database import db
from grants.i18n import current_language
from grants.staff import bp
from grants.staff.forms import InviteForm
from grants.staff.views import load_cohort


@bp.route("/cohorts/<int:cohort_id>/invite", methods=["GET", "POST"])
def invite(cohort_id: int):
    cohort = load_cohort(cohort_id)
    form = InviteForm(country=cohort.region)
    if form.validate_on_submit():
        invitee = Invitee(
            name=form.name.data,
            artist_name=form.artist_name.data,
            email=form.email.data,
            country=form.country.data,
        )
        actor = current_user._get_current_object()
        locale = current_language()  # for a newcomer's email: they have not chosen one yet
        try:
            commit_with_retry(
                db,
                lambda: invite_person(db, actor, load_cohort(cohort_id), invitee, locale=locale),
            )
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Invitation sent to %(name)s.", name=invitee.name), "success")
            return redirect(url_for(".cohort", cohort_id=cohort_id))
    return render_template("staff/invite.html", cohort=cohort, form=form)


ACTIONS = {
    "resend": (
        lambda db, actor, enrolment: resend_invitation(
            db, actor, enrolment, locale=current_language()
        ),
        _l("The invitation was sent again; earlier links stop working."),
    ),
    "revoke": (revoke_invitation, _l("The invitation was withdrawn; its link no longer works.")),
    "close": (close_enrolment, _l("The enrolment is closed.")),
}


@bp.route("/enrolments/<int:enrolment_id>/<any(resend, revoke, close):action>", methods=["POST"])
def enrolment_action(enrolment_id: int, action: str):
    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None:
        abort(404)
    cohort_id = enrolment.cohort_id
    operation, done = ACTIONS[action]
    actor = current_user._get_current_object()
    try:
        commit_with_retry(db, lambda: operation(db, actor, db.get(Enrolment, enrolment_id)))
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(str(done), "success")
    return redirect(url_for(".cohort", cohort_id=cohort_id))
