"""Payout batches: build, approve (a second finance user, recently logged in), pay or fail,
export, remittance advice; and reconciliation."""

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
from sqlalchemy import select
from wtforms import SelectChoice

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.partners import Partner
from grants.core.models.payouts import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.core.money import to_minor
from grants.core.payout_reports import (
    BANK_HEADER,
    SUMMARY_HEADER,
    bank_rows,
    csv_chunks,
    detail_csv,
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
from grants.listing import Order, paginate, sort_from_request
from grants.security import fresh_login_required

PAGE_SIZE = 25
# Batches are numbered as they are built: newest first, or by the date they pay up to.
ORDERS = {
    "batch": Order((PayoutBatch.id,), first="descending"),
    "cutoff": Order((PayoutBatch.cutoff, PayoutBatch.id), first="descending"),
    "currency": Order((PayoutBatch.currency, PayoutBatch.id)),
    "state": Order((PayoutBatch.status, PayoutBatch.id)),
}


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
    sort = sort_from_request(ORDERS, "-batch")
    listed = paginate(select(PayoutBatch).order_by(*sort.order_by()), PAGE_SIZE)
    status = 422 if (form.is_submitted() and form.errors) or form.form_errors else 200
    return render_template(
        "finance/batches.html",
        form=form,
        batches=listed.items,
        sort=sort,
        **listed.place,
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


def _draft_or_back(batch: PayoutBatch):
    """A redirect back to the batch, saying why, unless it is still a draft."""
    if batch.status != BatchStatus.DRAFT:
        flash(_("This batch is no longer a draft."), "info")
        return redirect(url_for(".batch", batch_id=batch.id))
    return None


@bp.get("/batches/<int:batch_id>/approve")
@fresh_login_required
def confirm_approve(batch_id: int):
    """Check, then confirm: who is paid how much once this batch is approved. Changes
    nothing; the password is asked for first, as for approving itself."""
    batch = _load(batch_id)
    back = _draft_or_back(batch)
    if back:
        return back
    if batch.created_by_id == current_user.id:
        flash(_("You built this batch: a different finance user approves it."), "error")
        return redirect(url_for(".batch", batch_id=batch_id))
    return _confirm_page(batch, "approve")


@bp.get("/batches/<int:batch_id>/discard")
@fresh_login_required
def confirm_discard(batch_id: int):
    batch = _load(batch_id)
    return _draft_or_back(batch) or _confirm_page(batch, "discard")


def _confirm_page(batch: PayoutBatch, action: str, lines=None, details=None):
    return render_template(
        "finance/confirm.html",
        batch=batch,
        action=action,
        lines=batch.lines if lines is None else lines,
        details=details or {},
        builder=db.get(User, batch.created_by_id),
        form=ActionForm(),
    )


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


def _pay_details_asked():
    """The bank reference and date from the batch page's GET form (?bank_reference=...),
    checked as the real form checks them; None (and the errors flashed) if they fail."""
    form = PayForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return None
    return {"bank_reference": form.bank_reference.data, "paid_on": form.paid_on.data}


@bp.get("/batches/<int:batch_id>/pay")
@fresh_login_required
def confirm_pay_batch(batch_id: int):
    batch = _load(batch_id)
    details = _pay_details_asked()
    if details is None:
        return redirect(url_for(".batch", batch_id=batch_id))
    waiting = [line for line in batch.lines if line.status == LineStatus.PENDING]
    if batch.status != BatchStatus.APPROVED or not waiting:
        flash(_("No line of this batch is waiting to be paid."), "info")
        return redirect(url_for(".batch", batch_id=batch_id))
    return _confirm_page(batch, "pay", waiting, details)


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


@bp.get("/batches/<int:batch_id>/lines/<int:line_id>/pay")
@fresh_login_required
def confirm_pay_line(batch_id: int, line_id: int):
    line = _line(batch_id, line_id)
    details = _pay_details_asked()
    if details is None:
        return redirect(url_for(".batch", batch_id=batch_id))
    if line.status != LineStatus.PENDING:
        flash(_("This line is not waiting to be paid."), "info")
        return redirect(url_for(".batch", batch_id=batch_id))
    return _confirm_page(line.batch, "pay_line", [line], details)


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
    """Named by what the file holds and when it was made, so a downloads folder explains
    itself: payout-batch-12-USD-summary-2027-03-10.csv. The day matters: lines are paid or
    fail after the batch is built, and the bank file lists only what is still to pay."""
    return f"payout-batch-{batch.id}-{batch.currency}-{what}-{clock.today().isoformat()}.{ext}"


def _csv_response(batch: PayoutBatch, what: str, chunks) -> Response:
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_filename(batch, what, "csv")}"'},
    )


@bp.route("/batches/<int:batch_id>/<any(summary, detail, bank):what>.csv")
def export_csv(batch_id: int, what: str):
    batch = _load(batch_id)
    if what == "summary":
        return _csv_response(batch, what, csv_chunks(SUMMARY_HEADER, summary_rows(db, batch)))
    if what == "detail":
        # Streamed as it is read: a batch of a million lines never sits in memory.
        return _csv_response(batch, what, detail_csv(db, batch))
    bank = bank_rows(batch, current_app.config["SITE_NAME"])
    return _csv_response(batch, what, csv_chunks(BANK_HEADER, bank))


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
    # The export's rows hold text (ISO dates, decimal amounts); the page shows them in the
    # reader's locale, so they go back to a date and integer minor units first.
    rows = [
        {
            "kind": row[1],
            "voucher": row[2],
            "session_date": date.fromisoformat(row[3]) if row[3] else None,
            "cohort": row[4],
            "purpose": row[6],
            "amount": to_minor(row[7], row[8]),
        }
        for row in detail_rows(db, line.batch, line_id=line.id)
    ]
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
