"""Booking a session with a partner, and cancelling it while it is unconfirmed."""

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from grants.core.db import commit_with_retry
from grants.core.errors import DomainError, Forbidden
from grants.core.models.cohorts import Cohort
from grants.core.models.partners import VoucherStatus
from grants.core.vouchers import book_session, cancel_booking, partners_for, show_code
from grants.core.wallet import available_now
from grants.database import db
from grants.wallet import bp
from grants.wallet.forms import BookForm
from grants.wallet.gifts import _cohort_with_credits


@bp.route("/cohorts/<int:cohort_id>/book", methods=["GET", "POST"])
def book(cohort_id: int):
    cohort, wallet = _cohort_with_credits(cohort_id)
    partners = partners_for(db, cohort)
    form = BookForm(request_id=str(uuid.uuid4()))
    form.partner_id.choices = [SelectChoice(p.id, p.name) for p in partners]
    if form.validate_on_submit():
        try:
            transfer_id = uuid.UUID(form.request_id.data)
        except ValueError:
            abort(400)
        partner_id = form.partner_id.data
        actor = current_user._get_current_object()
        try:
            voucher = commit_with_retry(
                db,
                lambda: book_session(
                    db, actor, db.get(Cohort, cohort_id), partner_id, transfer_id=transfer_id
                ),
            )
        except DomainError as error:
            db.rollback()
            form.form_errors.append(error.message)
        else:
            flash(
                _(
                    "Booked. Your voucher code is %(code)s: give it to %(partner)s when you "
                    "arrange the session.",
                    code=show_code(voucher.code),
                    partner=voucher.partner.name,
                ),
                "success",
            )
            return redirect(url_for(".home"))
    return render_template(
        "wallet/book.html",
        form=form,
        cohort=cohort,
        partners=partners,
        available=available_now(db, wallet),
    )


@bp.route("/vouchers/<int:voucher_id>/cancel", methods=["POST"])
def cancel(voucher_id: int):
    actor = current_user._get_current_object()
    try:
        voucher = commit_with_retry(db, lambda: cancel_booking(db, actor, voucher_id))
    except Forbidden:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
    else:
        if voucher.status == VoucherStatus.EXPIRED:
            flash(_("That booking had expired; its session is back with you."), "info")
        else:
            flash(_("The booking is cancelled and the session is back with you."), "success")
    return redirect(url_for(".home"))
