"""Partner grants: money given straight to a partner, proposed by one member of staff and
approved by another."""

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from grants.core.db import commit_with_retry
from grants.core.errors import DomainError, Forbidden
from grants.core.models.partners import Partner, PartnerGrant, PartnerGrantStatus
from grants.core.models.people import User
from grants.core.money import to_minor
from grants.core.partners import (
    approve_partner_grant,
    decline_partner_grant,
    propose_partner_grant,
    withdraw_partner_grant,
)
from grants.database import db
from grants.forms import ActionForm
from grants.listing import Order, paginate, sort_from_request
from grants.staff import bp
from grants.staff.forms import DeclineForm, PartnerGrantForm
from grants.web import money_filter

# Waiting grants first (they need someone), newest first within each state.
ORDERS = {
    "state": Order(
        (
            (PartnerGrant.status != PartnerGrantStatus.PENDING),
            PartnerGrant.created_at.desc(),
            PartnerGrant.id.desc(),
        )
    ),
    "proposed": Order((PartnerGrant.created_at, PartnerGrant.id), first="descending"),
    "partner": Order((func.lower(Partner.name), PartnerGrant.id)),
    "amount": Order((PartnerGrant.amount, PartnerGrant.id), first="descending"),
}
PAGE_SIZE = 50


def _page(form: PartnerGrantForm, status: int = 200):
    sort = sort_from_request(ORDERS, "state")
    listed = paginate(
        select(PartnerGrant)
        .join(Partner, Partner.id == PartnerGrant.partner_id)
        .order_by(*sort.order_by()),
        PAGE_SIZE,
    )
    grants = listed.items
    people = {
        u.id: u
        for u in db.scalars(
            select(User).where(
                User.id.in_({g.proposed_by_id for g in grants} | {g.decided_by_id for g in grants})
            )
        )
    }
    return render_template(
        "staff/partner_grants.html",
        form=form,
        grants=grants,
        people=people,
        action_form=ActionForm(),
        decline_form=DeclineForm(),
        sort=sort,
        **listed.place,
    ), status


def _form() -> PartnerGrantForm:
    form = PartnerGrantForm(request_id=str(uuid.uuid4()))
    partners = db.scalars(select(Partner).where(Partner.active).order_by(Partner.name)).all()
    form.partner_id.choices = [SelectChoice(p.id, f"{p.name} ({p.currency})") for p in partners]
    return form


@bp.route("/partner-grants", methods=["GET", "POST"])
def partner_grants():
    form = _form()
    if form.validate_on_submit():
        try:
            request_id = uuid.UUID(form.request_id.data)
        except ValueError:
            abort(400)
        partner = db.get(Partner, form.partner_id.data)
        try:
            amount = to_minor(form.amount.data, partner.currency)
            purpose = form.purpose.data
            actor = current_user._get_current_object()
            commit_with_retry(
                db,
                lambda: propose_partner_grant(
                    db,
                    actor,
                    db.get(Partner, partner.id),
                    amount=amount,
                    purpose=purpose,
                    request_id=request_id,
                ),
            )
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
            return _page(form, 422)
        flash(
            _(
                "Proposed %(amount)s for %(partner)s. A different member of staff must approve "
                "it before any money moves.",
                amount=money_filter(amount, partner.currency),
                partner=partner.name,
            ),
            "success",
        )
        return redirect(url_for(".partner_grants"))
    return _page(form, 422 if form.is_submitted() else 200)


ACTIONS = {
    "approve": (
        lambda actor, grant_id, form: approve_partner_grant(db, actor, grant_id),
        _l("Approved: the money is now owed to the partner."),
    ),
    "withdraw": (
        lambda actor, grant_id, form: withdraw_partner_grant(db, actor, grant_id),
        _l("Withdrawn."),
    ),
    "decline": (
        lambda actor, grant_id, form: decline_partner_grant(
            db, actor, grant_id, form.get("message", "")
        ),
        _l("Declined."),
    ),
}


@bp.get("/partner-grants/<int:grant_id>/approve")
def confirm_partner_grant(grant_id: int):
    """Check, then confirm: who gets how much, and the real form. Changes nothing."""
    grant = db.get(PartnerGrant, grant_id)
    if grant is None:
        abort(404)
    if grant.status != PartnerGrantStatus.PENDING:
        flash(_("This partner grant has already been decided."), "info")
        return redirect(url_for(".partner_grants"))
    if grant.proposed_by_id == current_user.id:
        flash(_("A different member of staff must approve what you proposed."), "error")
        return redirect(url_for(".partner_grants"))
    return render_template(
        "staff/partner_grant_confirm.html",
        grant=grant,
        proposer=db.get(User, grant.proposed_by_id),
        form=ActionForm(),
    )


@bp.route(
    "/partner-grants/<int:grant_id>/<any(approve, withdraw, decline):action>", methods=["POST"]
)
def partner_grant_action(grant_id: int, action: str):
    if db.get(PartnerGrant, grant_id) is None:
        abort(404)
    operation, done = ACTIONS[action]
    actor = current_user._get_current_object()
    data = request.form.to_dict()
    try:
        commit_with_retry(db, lambda: operation(actor, grant_id, data))
    except (DomainError, Forbidden) as error:
        flash(error.message, "error")
    else:
        flash(str(done), "success")
    return redirect(url_for(".partner_grants"))
