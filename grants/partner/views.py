from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.ledger import Account, Ledger
from grants.core.models.partners import Partner, Voucher, VoucherStatus
from grants.core.models.payouts import LineStatus, PayoutBatch, PayoutLine
from grants.core.money_ledger import PAYABLE
from grants.core.vouchers import confirm_session, show_code
from grants.database import db
from grants.limits import limiter
from grants.listing import Order, paginate, sort_from_request
from grants.partner import bp
from grants.partner.forms import ConfirmForm
from grants.web import money_filter

PAGE_SIZE = 50
# Confirmed sessions: by the date they took place, newest first, or by what each pays.
ORDERS = {
    "date": Order(
        (Voucher.session_date, Voucher.resolved_at, Voucher.id),
        first="descending",
        words=(_l("oldest first"), _l("newest first")),
    ),
    "amount": Order(
        (Voucher.amount, Voucher.id),
        first="descending",
        words=(_l("smallest amount first"), _l("largest amount first")),
    ),
}


def _partner() -> Partner:
    return db.get(Partner, current_user.partner_id)


@bp.route("/")
def home():
    partner = _partner()
    owed = [
        (ledger.unit, account.available)
        for account, ledger in db.execute(
            select(Account, Ledger)
            .join(Ledger, Ledger.id == Account.ledger_id)
            .where(Account.partner_id == partner.id, Account.code == PAYABLE)
            .order_by(Ledger.unit)
        )
    ]
    sessions = select(Voucher).where(
        Voucher.partner_id == partner.id,
        Voucher.status.in_([VoucherStatus.CONFIRMED, VoucherStatus.MISSED]),
    )
    sort = sort_from_request(ORDERS, "-date")
    listed = paginate(sessions.order_by(*sort.order_by()), PAGE_SIZE)
    payouts = db.execute(
        select(PayoutLine, PayoutBatch.currency)
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
        .where(
            PayoutLine.partner_id == partner.id,
            PayoutLine.status.in_([LineStatus.PENDING, LineStatus.PAID]),
        )
        .order_by(PayoutLine.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "partner/home.html",
        payouts=payouts,
        partner=partner,
        owed=owed,
        confirmed=listed.items,
        show_code=show_code,
        sort=sort,
        **listed.place,
    )


def _throttle_key() -> str:
    # Per partner, not per login: more logins must not mean more guesses.
    return f"voucher-entry:partner:{current_user.partner_id}"


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["VOUCHER_ENTRY_LIMIT"], key_func=_throttle_key, methods=["POST"]
)
def confirm():
    """Entering codes is throttled per partner, every attempt counted as it arrives (so a
    burst of parallel guesses cannot slip past), with room for a busy clinic's real codes;
    against a code space of 24^8 a guesser at this rate finds nothing."""
    form = ConfirmForm()
    if form.validate_on_submit():
        code, when = form.code.data, form.session_date.data
        missed = form.outcome.data == "missed"
        actor = current_user._get_current_object()
        try:
            voucher = commit_with_retry(
                db, lambda: confirm_session(db, actor, code, when, missed=missed)
            )
        except DomainError as error:
            db.rollback()
            form.code.errors.append(error.message)
            return render_template("partner/confirm.html", form=form), 422
        if voucher.status == VoucherStatus.EXPIRED:
            form.code.errors.append(_("That booking has expired; the client can book again."))
            return render_template("partner/confirm.html", form=form), 422
        if voucher.amount:
            flash(
                _(
                    "Session %(code)s of %(date)s is confirmed: %(amount)s added to what you "
                    "are owed.",
                    code=show_code(voucher.code),
                    date=format_date(when),
                    amount=money_filter(voucher.amount, voucher.currency),
                ),
                "success",
            )
        else:
            flash(_("Recorded as missed; under this programme's policy it is not paid."), "success")
        return redirect(url_for(".confirm"))
    status = 422 if form.is_submitted() else 200
    return render_template("partner/confirm.html", form=form), status
