"""Partners and the people who log in for them."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from grants.admin import bp
from grants.admin.forms import PartnerForm, PartnerUserForm
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.partners import Partner
from grants.core.models.people import User
from grants.core.partners import PartnerSettings, add_partner_user, save_partner
from grants.database import db
from grants.listing import Order, paginate, sort_from_request
from grants.security import fresh_login_required

PAGE_SIZE = 50
ORDERS = {
    "name": Order((func.lower(Partner.name), Partner.id)),
    "kind": Order((Partner.kind, func.lower(Partner.name), Partner.id)),
    "currency": Order((Partner.currency, func.lower(Partner.name), Partner.id)),
    # Active first when ascending: most of the time those are the ones wanted.
    "state": Order((Partner.active.desc(), func.lower(Partner.name), Partner.id)),
}


@bp.route("/partners")
def partners():
    sort = sort_from_request(ORDERS, "name")
    listed = paginate(select(Partner).order_by(*sort.order_by()), PAGE_SIZE)
    return render_template(
        "admin/partners.html",
        partners=listed.items,
        sort=sort,
        **listed.place,
    )


def _settings(form: PartnerForm) -> PartnerSettings:
    return PartnerSettings(
        name=form.name.data,
        kind=form.kind.data,
        currency=form.currency.data,
        regions=tuple(form.regions.data or ()),
        contact_name=form.contact_name.data or "",
        contact_email=form.contact_email.data or "",
        payout_reference=form.payout_reference.data or "",
        active=bool(form.active.data),
    )


@bp.route("/partners/new", methods=["GET", "POST"])
@bp.route("/partners/<int:partner_id>", methods=["GET", "POST"])
@fresh_login_required  # payout details: the password again first, before the form opens
def partner(partner_id: int | None = None):
    existing = db.get(Partner, partner_id) if partner_id else None
    if partner_id and existing is None:
        abort(404)
    form = PartnerForm(obj=existing)
    if existing is not None and not form.is_submitted():
        form.regions.data = existing.region_codes
        form.payout_reference.data = ""
    if form.validate_on_submit():
        settings = _settings(form)
        actor = current_user._get_current_object()
        try:
            saved = commit_with_retry(
                db,
                lambda: save_partner(
                    db, actor, settings, db.get(Partner, partner_id) if partner_id else None
                ),
            )
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s is saved.", name=saved.name), "success")
            return redirect(url_for(".partner", partner_id=saved.id))
    people = (
        db.scalars(select(User).where(User.partner_id == partner_id).order_by(User.name)).all()
        if partner_id
        else []
    )
    return render_template(
        "admin/partner.html",
        form=form,
        partner=existing,
        people=people,
        user_form=PartnerUserForm(),
    )


@bp.route("/partners/<int:partner_id>/users", methods=["POST"])
@fresh_login_required
def partner_user(partner_id: int):
    if db.get(Partner, partner_id) is None:
        abort(404)
    form = PartnerUserForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for(".partner", partner_id=partner_id))
    email, name = form.email.data, form.name.data
    actor = current_user._get_current_object()
    try:
        commit_with_retry(
            db,
            lambda: add_partner_user(
                db, actor, db.get(Partner, partner_id), email=email, name=name
            ),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            _(
                "%(name)s can now log in for this partner; they have been emailed a link to "
                "choose a password.",
                name=name,
            ),
            "success",
        )
    return redirect(url_for(".partner", partner_id=partner_id))
