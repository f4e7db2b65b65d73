"""Payout batches: build, approve (a second finance user, recently logged in), pay or fail,
export, remittance advice; and reconciliation."""

import csv
import io
import uuid
from datetime import date, timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.partners import Partner
from grants.core.models.payouts import PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.core.payout_reports import (
    BANK_HEADER,
    DETAIL_HEADER,
    SUMMARY_HEADER,
    bank_rows,
    csv_safe,
    detail_rows,
    reconcile,
    summary_rows,
    write_xlsx,
)
from grants.core.payouts import (
    approve_batch,
    build_batch,
    discard_batch,
    mark_batch_paid,
    mark_failed,
    mark_paid,
)
from grants.database import db
from grants.finance import bp
from grants.finance.forms import BuildBatchForm, FailForm, PayForm
from grants.forms import ActionForm
from grants.security import fresh_login_required
from grants.web import page_number

PAGE_SIZE = 25


def _build_form() -> BuildBatchForm:
    form = BuildBatchForm(request_id=str(uuid.uuid4()), cutoff=clock.now().date())
    partners = db.scalars(select(Partner).order_by(Partner.name)).all()
    form.partner_ids.choices = [SelectChoice(p.id, f"{p.name} ({p.currency})") for p in partners]
    return form


@bp.route("/batches", methods=["GET", "POST"])
def batches():
    form = _build_form()
    if form.validate_on_submit():
        try:
            request_id = uuid.UUID(form.request_id.data)
        except ValueError:
            abort(400)
        data = {
            "currency": form.currency.data,
            "cutoff": form.cutoff.data,
            "partner_ids": form.partner_ids.data or None,
            "request_id": request_id,
        }
        actor = current_user._get_current_object()
        try:
            batch = commit_with_retry(db, lambda: build_batch(db, actor, **data))
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
        else:
            flash(_("The batch is built. A different finance user must approve it."), "success")
            return redirect(url_for(".batch", batch_id=batch.id))
    page = page_number()
    total = db.scalar(select(func.count()).select_from(PayoutBatch))
    listed = db.scalars(
        select(PayoutBatch)
        .order_by(PayoutBatch.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    status = 422 if (form.is_submitted() and form.errors) or form.form_errors else 200
    return render_template(
        "finance/batches.html",
        form=form,
        batches=listed,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    ), status


def _load(batch_id: int) -> PayoutBatch:
    batch = db.get(PayoutBatch, batch_id)
    if batch is None:
        abort(404)
    return batch


@bp.route("/batches/<int:batch_id>")
def batch(batch_id: int):
    batch = _load(batch_id)
    people = {
        u.id: u
        for u in db.scalars(
            select(User).where(User.id.in_([batch.created_by_id, batch.approved_by_id or 0]))
        )
    }
    return render_template(
        "finance/batch.html",
        batch=batch,
        people=people,
        action_form=ActionForm(),
        pay_form=PayForm(paid_on=clock.now().date()),
        fail_form=FailForm(),
    )


def _act(batch_id: int, work, done: str):
    actor = current_user._get_current_object()
    try:
        commit_with_retry(db, lambda: work(actor))
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.route("/batches/<int:batch_id>/approve", methods=["POST"])
@fresh_login_required
def approve(batch_id: int):
    _load(batch_id)
    return _act(
        batch_id,
        lambda actor: approve_batch(db, actor, batch_id),
        _("Approved: each line is now held from what the partner is owed."),
    )


@bp.route("/batches/<int:batch_id>/discard", methods=["POST"])
@fresh_login_required
def discard(batch_id: int):
    _load(batch_id)
    return _act(
        batch_id,
        lambda actor: discard_batch(db, actor, batch_id),
        _("The draft is discarded; nothing was held or paid."),
    )


def _pay_details():
    form = PayForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return None
    return {"bank_reference": form.bank_reference.data, "paid_on": form.paid_on.data}


@bp.route("/batches/<int:batch_id>/pay", methods=["POST"])
@fresh_login_required
def pay_batch(batch_id: int):
    _load(batch_id)
    details = _pay_details()
    if details is None:
        return redirect(url_for(".batch", batch_id=batch_id))
    return _act(
        batch_id,
        lambda actor: mark_batch_paid(db, actor, batch_id, **details),
        _("Every waiting line is marked paid."),
    )


def _line(batch_id: int, line_id: int) -> PayoutLine:
    line = db.get(PayoutLine, line_id)
    if line is None or line.batch_id != batch_id:
        abort(404)
    return line


@bp.route("/batches/<int:batch_id>/lines/<int:line_id>/pay", methods=["POST"])
@fresh_login_required
def pay_line(batch_id: int, line_id: int):
    _line(batch_id, line_id)
    details = _pay_details()
    if details is None:
        return redirect(url_for(".batch", batch_id=batch_id))
    return _act(
        batch_id,
        lambda actor: mark_paid(db, actor, line_id, **details),
        _("The line is marked paid."),
    )


@bp.route("/batches/<int:batch_id>/lines/<int:line_id>/fail", methods=["POST"])
@fresh_login_required
def fail_line(batch_id: int, line_id: int):
    _line(batch_id, line_id)
    form = FailForm()
    if not form.validate_on_submit():
        flash(_("Say why the payment failed."), "error")
        return redirect(url_for(".batch", batch_id=batch_id))
    reason = form.reason.data
    return _act(
        batch_id,
        lambda actor: mark_failed(db, actor, line_id, reason=reason),
        _("The line is marked failed; the amount is owed to the partner again."),
    )


def _filename(batch: PayoutBatch, what: str, ext: str) -> str:
    return f"payout-{batch.id}-{batch.currency}-{batch.cutoff.isoformat()}-{what}.{ext}"


def _csv_response(batch: PayoutBatch, what: str, header: list[str], rows) -> Response:
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow(csv_safe(row))
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_filename(batch, what, "csv")}"'},
    )


@bp.route("/batches/<int:batch_id>/<any(summary, detail, bank):what>.csv")
def export_csv(batch_id: int, what: str):
    batch = _load(batch_id)
    if what == "summary":
        return _csv_response(batch, what, SUMMARY_HEADER, summary_rows(db, batch))
    if what == "detail":
        return _csv_response(batch, what, DETAIL_HEADER, detail_rows(db, batch))
    return _csv_response(
        batch, what, BANK_HEADER, bank_rows(batch, current_app.config["SITE_NAME"])
    )


@bp.route("/batches/<int:batch_id>/batch.xlsx")
def export_xlsx(batch_id: int):
    batch = _load(batch_id)
    # Built in memory for the browser; the command-line export streams to a file instead.
    buffer = io.BytesIO()
    write_xlsx(buffer, db, batch)
    buffer.seek(0)
    return send_file(
        buffer,
        as_attachment=True,
        download_name=_filename(batch, "report", "xlsx"),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.route("/batches/<int:batch_id>/lines/<int:line_id>/remittance")
def remittance(batch_id: int, line_id: int):
    line = _line(batch_id, line_id)
    rows = list(detail_rows(db, line.batch, line_id=line.id))
    return render_template("finance/remittance.html", line=line, batch=line.batch, rows=rows)


@bp.route("/reconciliation")
def reconciliation():
    today = clock.now().date()
    try:
        start = date.fromisoformat(request.args.get("start", ""))
        end = date.fromisoformat(request.args.get("end", ""))
    except ValueError:
        start, end = today.replace(day=1), today
    if end < start or (end - start) > timedelta(days=3660) or end.year > 9000:
        start, end = today.replace(day=1), today
    lines = reconcile(db, start, end)
    return render_template("finance/reconciliation.html", lines=lines, start=start, end=end)
