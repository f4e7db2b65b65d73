from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from grants.core import resources as directory
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.funding import allowance_left, ask_for_funding, withdraw_request
from grants.core.models.cohorts import Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant
from grants.core.wallet import bookings, gifts_sent, gifts_waiting, history, wallets
from grants.database import db
from grants.forms import ActionForm
from grants.resources.views import visitor_country
from grants.wallet import bp
from grants.wallet.forms import AskForm
from grants.web import page_number

PER_PAGE = 20


@bp.route("/")
def home():
    page = page_number()
    lines, total = history(db, current_user.id, page=page, per_page=PER_PAGE)
    country = visitor_country()
    return render_template(
        "wallet/home.html",
        help_lines=directory.help_lines(db, country),
        help_emergency=directory.emergency_number(db, country),
        wallets=wallets(db, current_user.id),
        sent=gifts_sent(db, current_user.id),
        bookings=bookings(db, current_user.id),
        waiting=gifts_waiting(db, current_user.id),
        lines=lines,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        action_form=ActionForm(),
    )


def _own_active_enrolment(cohort_id: int) -> Enrolment:
    enrolment = db.scalar(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort_id,
            Enrolment.user_id == current_user.id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    )
    if enrolment is None:
        abort(404)  # not theirs to ask in; say nothing about whether the cohort exists
    return enrolment


@bp.route("/cohorts/<int:cohort_id>/ask", methods=["GET", "POST"])
def ask(cohort_id: int):
    enrolment = _own_active_enrolment(cohort_id)
    form = AskForm()
    if form.validate_on_submit():
        sessions = form.sessions.data
        actor = current_user._get_current_object()
        try:
            commit_with_retry(
                db, lambda: ask_for_funding(db, actor, _own_active_enrolment(cohort_id), sessions)
            )
        except DomainError as error:
            form.sessions.errors.append(error.message)
        else:
            flash(
                ngettext(
                    "Your request for %(num)s session is with programme staff. We will email "
                    "you when they decide.",
                    "Your request for %(num)s sessions is with programme staff. We will email "
                    "you when they decide.",
                    sessions,
                ),
                "success",
            )
            return redirect(url_for(".home"))
    return render_template(
        "wallet/ask.html", form=form, enrolment=enrolment, left=allowance_left(db, enrolment)
    )


@bp.route("/requests/<int:grant_id>/withdraw", methods=["POST"])
def withdraw(grant_id: int):
    grant = db.get(Grant, grant_id)
    if grant is None or grant.user_id != current_user.id:
        abort(404)
    actor = current_user._get_current_object()
    try:
        commit_with_retry(db, lambda: withdraw_request(db, actor, db.get(Grant, grant_id)))
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Your request is withdrawn. You can ask again whenever you like."), "success")
    return redirect(url_for(".home"))
