"""The audit log, paged and filtered."""

from datetime import UTC, date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from wtforms import SelectChoice

from grants.admin import bp
from grants.admin.forms import AuditFilterForm
from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.database import db
from grants.web import page_number

PAGE_SIZE = 50


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

    page = page_number()
    total = db.scalar(select(func.count()).select_from(query.subquery()))
    entries = db.execute(
        query.order_by(AuditEntry.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        form=form,
        entries=entries,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        args=args,
    )
