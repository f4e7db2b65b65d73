"""The audit log, paged and filtered."""

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from grants.admin import bp
from grants.admin.forms import AuditFilterForm
from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.database import db
from grants.listing import Order, paginate, sort_from_request

PAGE_SIZE = 50
# Entries are numbered as they are written, so the id is their order in time.
ORDERS = {
    "at": Order(
        (AuditEntry.id,), first="descending", words=(_l("oldest first"), _l("newest first"))
    ),
    "action": Order(
        (AuditEntry.action, AuditEntry.id), words=(_l("by action"), _l("by action, Z to A"))
    ),
}


@bp.route("/audit")
def audit_log():
    form = AuditFilterForm(request.args)
    actions = db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    types = db.scalars(
        select(AuditEntry.object_type)
        .distinct()
        .where(AuditEntry.object_type.is_not(None))
        .order_by(AuditEntry.object_type)
    ).all()
    form.action.choices = [SelectChoice("", _("Any action"))] + [SelectChoice(a) for a in actions]
    form.object_type.choices = [SelectChoice("", _("Any type"))] + [SelectChoice(t) for t in types]

    actor = aliased(User)
    query = select(AuditEntry, actor).outerjoin(actor, actor.id == AuditEntry.actor_id)
    if form.validate():
        if form.action.data:
            query = query.where(AuditEntry.action == form.action.data)
        if form.object_type.data:
            query = query.where(AuditEntry.object_type == form.object_type.data)
        if form.object_id.data:
            query = query.where(AuditEntry.object_id == form.object_id.data.strip())
        if form.actor.data:
            query = query.where(actor.email == form.actor.data.strip().lower())
        if form.since.data:
            query = query.where(AuditEntry.at >= datetime.combine(form.since.data, time(), UTC))
        if form.until.data and form.until.data < date.max:
            end = datetime.combine(form.until.data, time(), UTC) + timedelta(days=1)
            query = query.where(AuditEntry.at < end)

    sort = sort_from_request(ORDERS, "-at")
    listed = paginate(query.order_by(*sort.order_by()), PAGE_SIZE, rows=True)
    filters = {k: v for k, v in request.args.items() if k not in ("page", "sort") and v}
    return render_template(
        "admin/audit.html",
        form=form,
        entries=listed.items,
        total=listed.total,
        page=listed.number,
        pages=listed.pages,
        sort=sort,
        filters=filters,
        args=dict(filters, sort=sort.query),
    )
