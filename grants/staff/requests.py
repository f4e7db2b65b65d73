"""The review queue: funding requests waiting for a decision, and deciding one."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import bindparam, func, select

from grants.core.cohorts import BUDGET
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.funding import allowance_left, approve, decline
from grants.core.models.cohorts import Cohort
from grants.core.models.funding import OPEN_STATES, Grant, GrantStatus
from grants.core.models.ledger import Account
from grants.core.models.people import User
from grants.database import db
from grants.forms import ActionForm
from grants.i18n import current_language
from grants.listing import Order, list_args, paginate, sort_from_request
from grants.staff import bp
from grants.staff.forms import ApproveForm, DeclineForm
from grants.web import MAX_ID

PAGE_SIZE = 50


# The orders the queue can be read in; oldest first is the fair default.
ORDERS = {
    "asked": Order((Grant.created_at, Grant.id), words=(_l("oldest first"), _l("newest first"))),
    "name": Order((func.lower(User.name), Grant.id), words=(_l("by name"), _l("by name, Z to A"))),
    "sessions": Order(
        (Grant.sessions_asked, Grant.id),
        first="descending",
        words=(_l("fewest sessions first"), _l("most sessions first")),
    ),
}


# The open states written into the SQL as constants rather than sent as parameters: a
# statement PostgreSQL prepares once and reuses can then still use the partial index of open
# requests (ix_grants_open_created_at), which it cannot prove a parameter matches.
_OPEN = Grant.status.in_(
    bindparam(
        "open_states", [state.value for state in OPEN_STATES], expanding=True, literal_execute=True
    )
)


@bp.route("/requests")
def requests():
    cohort_id = request.args.get("cohort", type=int)
    if cohort_id is not None and not 0 < cohort_id <= MAX_ID:
        cohort_id = None
    query = select(Grant).where(_OPEN)
    if cohort_id:
        query = query.where(Grant.cohort_id == cohort_id)
    sort = sort_from_request(ORDERS, "asked")
    if sort.key == "name":  # only this order needs the people; the count never does
        query = query.join(User, User.id == Grant.user_id)
    listed = paginate(query.order_by(*sort.order_by()), PAGE_SIZE)
    grants = listed.items
    # What each row needs, in one query per kind rather than one per row.
    people = {
        u.id: u
        for u in db.scalars(
            select(User).where(
                User.id.in_(
                    {g.user_id for g in grants}
                    | {g.first_approver_id for g in grants if g.first_approver_id}
                )
            )
        )
    }
    issued = dict(
        db.execute(
            select(Grant.enrolment_id, func.sum(Grant.sessions_approved))
            .where(
                Grant.enrolment_id.in_([g.enrolment_id for g in grants]),
                Grant.status == GrantStatus.APPROVED,
            )
            .group_by(Grant.enrolment_id)
        ).all()
    )
    budgets = dict(
        db.execute(
            select(
                Cohort.id, Account.credits_posted - Account.debits_posted - Account.debits_pending
            )
            .join(Account, Account.ledger_id == Cohort.ledger_id)
            .where(
                Cohort.id.in_({g.cohort_id for g in grants}),
                Account.code == BUDGET,
                Account.user_id.is_(None),
            )
        ).all()
    )
    cohorts = db.scalars(select(Cohort).order_by(Cohort.starts_on.desc())).all()
    return render_template(
        "staff/requests.html",
        grants=grants,
        people=people,
        issued=issued,
        budgets=budgets,
        cohorts=cohorts,
        cohort_id=cohort_id,
        sort=sort,
        filters=list_args(cohort=cohort_id),
        total=listed.total,
        page=listed.number,
        pages=listed.pages,
    )


def _load(grant_id: int) -> Grant:
    grant = db.get(Grant, grant_id)
    if grant is None:
        abort(404)
    return grant


@bp.route("/requests/<int:grant_id>")
def review(grant_id: int):
    grant = _load(grant_id)
    return _review_page(
        grant, ApproveForm(sessions=grant.sessions_proposed or grant.sessions_asked), DeclineForm()
    )


def _review_page(grant, approve_form, decline_form, status=200):
    from grants.core.cohorts import cohort_funding

    return render_template(
        "staff/review.html",
        grant=grant,
        approve_form=approve_form,
        decline_form=decline_form,
        left=allowance_left(db, grant.enrolment),
        funding=cohort_funding(db, grant.cohort),
        first_approver=db.get(User, grant.first_approver_id) if grant.first_approver_id else None,
    ), status


def _explain(error: DomainError, field, grant: Grant) -> None:
    """Next to the field while the request is still open; otherwise as a message, since
    the page no longer shows the forms."""
    if grant.is_open:
        field.errors.append(error.message)
    else:
        flash(error.message, "error")


@bp.get("/requests/<int:grant_id>/approve")
def confirm_approve(grant_id: int):
    """Check, then confirm: what approving this many sessions will do, and the real form.
    Changes nothing; the review page's form comes here with ?sessions=."""
    grant = _load(grant_id)
    if not grant.is_open:
        flash(_("This request has already been decided."), "info")
        return redirect(url_for(".review", grant_id=grant_id))
    if grant.status == GrantStatus.AWAITING_SECOND and grant.first_approver_id == current_user.id:
        flash(
            _("You gave the first approval; a different member of staff must give the second."),
            "error",
        )
        return redirect(url_for(".review", grant_id=grant_id))
    sessions = grant.sessions_proposed or grant.sessions_asked
    if "sessions" in request.args:
        form = ApproveForm(formdata=request.args, meta={"csrf": False})
        if not form.validate():
            return _review_page(grant, form, DeclineForm(), 400)
        sessions = form.sessions.data
    cohort = grant.cohort
    return render_template(
        "staff/approve_confirm.html",
        grant=grant,
        sessions=sessions,
        # A first approval above the threshold only records itself; a second one issues.
        needs_second=grant.status == GrantStatus.PENDING and sessions > cohort.approval_threshold,
        value=sessions * cohort.session_value,
        left=allowance_left(db, grant.enrolment),
        first_approver=db.get(User, grant.first_approver_id) if grant.first_approver_id else None,
        form=ActionForm(),
    )


@bp.route("/requests/<int:grant_id>/approve", methods=["POST"])
def approve_request(grant_id: int):
    grant = _load(grant_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        return _review_page(grant, form, DeclineForm(), 400)
    sessions = form.sessions.data
    actor = current_user._get_current_object()
    locale = current_language()  # the ambassador's email, if they have not chosen one
    try:
        decided = commit_with_retry(
            db, lambda: approve(db, actor, grant_id, sessions, locale=locale)
        )
    except DomainError as error:
        db.rollback()
        grant = _load(grant_id)
        _explain(error, form.sessions, grant)
        return _review_page(grant, form, DeclineForm(), 409)
    if decided.status == GrantStatus.AWAITING_SECOND:
        flash(
            ngettext(
                "First approval recorded for %(num)s session. A second member of staff "
                "must approve before the session is issued.",
                "First approval recorded for %(num)s sessions. A second member of staff "
                "must approve before the sessions are issued.",
                sessions,
            ),
            "success",
        )
    else:
        flash(
            ngettext(
                "%(num)s session approved and issued.",
                "%(num)s sessions approved and issued.",
                sessions,
            ),
            "success",
        )
    return redirect(url_for(".requests"))


@bp.route("/requests/<int:grant_id>/decline", methods=["POST"])
def decline_request(grant_id: int):
    grant = _load(grant_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _review_page(grant, ApproveForm(sessions=grant.sessions_asked), form, 400)
    message = form.message.data
    actor = current_user._get_current_object()
    locale = current_language()  # the ambassador's email, if they have not chosen one
    try:
        commit_with_retry(db, lambda: decline(db, actor, grant_id, message, locale=locale))
    except DomainError as error:
        db.rollback()
        grant = _load(grant_id)
        _explain(error, form.message, grant)
        return _review_page(grant, ApproveForm(sessions=grant.sessions_asked), form, 409)
    flash(_("The request is declined and the ambassador has been told."), "success")
    return redirect(url_for(".requests"))
