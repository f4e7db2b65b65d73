"""Cohorts: the list, creating and editing one, its page, and funding its budget."""

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from grants.core.cohorts import (
    BUDGET,
    CohortSettings,
    cohort_funding,
    create_cohort,
    fund_cohort,
    update_cohort,
)
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment
from grants.core.models.funding import Grant
from grants.core.models.ledger import Account
from grants.core.models.people import User
from grants.core.models.programmes import Programme
from grants.core.money import to_minor
from grants.database import db
from grants.forms import ActionForm
from grants.listing import Order, paginate, sort_from_request
from grants.staff import bp
from grants.staff.forms import CohortForm, FundForm, InviteForm

PAGE_SIZE = 50
# A cohort's people: newest invitations first, or by name, artist or country.
MEMBER_ORDERS = {
    "invited": Order((Enrolment.invited_at, Enrolment.id), first="descending"),
    "name": Order((func.lower(User.name), Enrolment.id)),
    "artist": Order((func.lower(Enrolment.artist_name), Enrolment.id)),
    "country": Order((Enrolment.country, Enrolment.id)),
}


def load_cohort(cohort_id: int) -> Cohort:
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _programmes() -> list[Programme]:
    return db.scalars(select(Programme).order_by(Programme.code)).all()


@bp.route("/")
def home():
    cohorts = db.scalars(
        select(Cohort).join(Programme).order_by(Cohort.starts_on.desc(), Programme.code)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for cohort_id, status, total in db.execute(
        select(Enrolment.cohort_id, Enrolment.status, func.count()).group_by(
            Enrolment.cohort_id, Enrolment.status
        )
    ):
        counts.setdefault(cohort_id, {})[status] = total
    funded = dict(
        db.execute(
            select(Cohort.id, Account.credits_posted)
            .join(Account, Account.ledger_id == Cohort.ledger_id)
            .where(Account.code == BUDGET, Account.user_id.is_(None))
        ).all()
    )
    groups = {status: [c for c in cohorts if c.status == status] for status in CohortStatus}
    return render_template("staff/home.html", groups=groups, counts=counts, funded=funded)


def _settings(form: CohortForm) -> CohortSettings:
    return CohortSettings(
        programme_id=form.programme_id.data,
        region=form.region.data,
        intake_name=form.intake_name.data,
        status=form.status.data,
        currency=form.currency.data,
        session_value=to_minor(form.session_value.data, form.currency.data),
        session_allowance=form.session_allowance.data,
        session_budget=form.session_budget.data,
        gift_expiry_days=form.gift_expiry_days.data,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        approval_threshold=form.approval_threshold.data,
        upfront_allowance=bool(form.upfront_allowance.data),
        allow_regift=bool(form.allow_regift.data),
        gift_limit_per_recipient=form.gift_limit_per_recipient.data,
        open_gift_limit=form.open_gift_limit.data,
    )


@bp.route("/cohorts/new", methods=["GET", "POST"])
def new_cohort():
    form = CohortForm(programmes=_programmes())
    if form.validate_on_submit():
        try:
            settings = _settings(form)
            actor = current_user._get_current_object()
            cohort = commit_with_retry(db, lambda: create_cohort(db, actor, settings))
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(
                _(
                    "%(cohort)s is set up. Fund its budget to start issuing sessions.",
                    cohort=cohort.name,
                ),
                "success",
            )
            return redirect(url_for(".cohort", cohort_id=cohort.id))
    return render_template("staff/cohort_form.html", form=form, cohort=None)


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
def edit_cohort(cohort_id: int):
    cohort = load_cohort(cohort_id)
    form = CohortForm(programmes=_programmes(), obj=cohort)
    if request.method == "GET":
        form.session_value.data = cohort.session_value / 100
    if form.validate_on_submit():
        try:
            settings = _settings(form)
            actor = current_user._get_current_object()
            commit_with_retry(
                db, lambda: update_cohort(db, actor, load_cohort(cohort_id), settings)
            )
        except DomainError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The cohort's settings are saved."), "success")
            return redirect(url_for(".cohort", cohort_id=cohort_id))
    return render_template("staff/cohort_form.html", form=form, cohort=cohort)


@bp.route("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int):
    cohort = load_cohort(cohort_id)
    state = request.args.get("state") or None
    query = (
        select(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort.id)
    )
    if state:
        query = query.where(Enrolment.status == state)
    sort = sort_from_request(MEMBER_ORDERS, "-invited")
    listed = paginate(query.order_by(*sort.order_by()), PAGE_SIZE)
    enrolments = listed.items
    users = {e.user_id: e.user for e in enrolments}  # loaded once each, for names
    fund_form = FundForm(request_id=str(uuid.uuid4()))
    requests_by_state = dict(
        db.execute(
            select(Grant.status, func.count())
            .where(Grant.cohort_id == cohort.id)
            .group_by(Grant.status)
        ).all()
    )
    return render_template(
        "staff/cohort.html",
        cohort=cohort,
        funding=cohort_funding(db, cohort),
        enrolments=enrolments,
        users=users,
        state=state,
        sort=sort,
        **listed.place,
        fund_form=fund_form,
        requests_by_state=requests_by_state,
        invite_form=InviteForm(country=cohort.region),
        action_form=ActionForm(),
    )


@bp.route("/cohorts/<int:cohort_id>/fund", methods=["POST"])
def fund(cohort_id: int):
    load_cohort(cohort_id)
    form = FundForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for(".cohort", cohort_id=cohort_id))
    try:
        transfer_id = uuid.UUID(form.request_id.data)
    except ValueError:
        abort(400)
    actor = current_user._get_current_object()
    sessions = form.sessions.data
    try:
        commit_with_retry(
            db,
            lambda: fund_cohort(
                db, actor, load_cohort(cohort_id), sessions, transfer_id=transfer_id
            ),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(ngettext("%(num)s session funded.", "%(num)s sessions funded.", sessions), "success")
    return redirect(url_for(".cohort", cohort_id=cohort_id))
