"""Gifting from the wallet: the gift form, revoking, and answering a gift while logged in."""

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.enrolment import current_consent
from grants.core.errors import DomainError, Forbidden
from grants.core.gifts import accept_gift, decline_gift, gift_credits, revoke_gift
from grants.core.models.cohorts import Cohort
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.ledger import Account
from grants.core.wallet import available_now
from grants.database import db
from grants.forms import ActionForm, refuse
from grants.i18n import current_language
from grants.wallet import bp
from grants.wallet.forms import AcceptGiftForm, GiftForm


def _cohort_with_credits(cohort_id: int) -> tuple[Cohort, Account]:
    """The cohort, if the user holds a wallet in it; otherwise not found."""
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    wallet = db.scalar(
        select(Account).where(
            Account.ledger_id == cohort.ledger_id,
            Account.code == "wallet",
            Account.user_id == current_user.id,
        )
    )
    if wallet is None:
        abort(404)
    return cohort, wallet


@bp.route("/cohorts/<int:cohort_id>/gift", methods=["GET", "POST"])
def gift(cohort_id: int):
    cohort, wallet = _cohort_with_credits(cohort_id)
    form = GiftForm(request_id=str(uuid.uuid4()))
    if form.validate_on_submit():
        try:
            transfer_id = uuid.UUID(form.request_id.data)
        except ValueError:
            abort(400)
        data = {
            "recipient_name": form.recipient_name.data,
            "recipient_email": form.recipient_email.data,
            "relationship": form.relationship.data,
            "message": form.message.data,
            "sessions": form.sessions.data,
            "transfer_id": transfer_id,
            # For a newcomer's email (they have not chosen a language): the giver's.
            "locale": current_language(),
        }
        actor = current_user._get_current_object()
        try:
            sent = commit_with_retry(
                db, lambda: gift_credits(db, actor, db.get(Cohort, cohort_id), **data)
            )
        except DomainError as error:
            db.rollback()
            refuse(form, error)
        else:
            flash(
                ngettext(
                    "Your gift of %(num)s session is on its way to %(name)s. You will see "
                    "here when they answer.",
                    "Your gift of %(num)s sessions is on its way to %(name)s. You will see "
                    "here when they answer.",
                    sent.sessions,
                    name=sent.recipient_name,
                ),
                "success",
            )
            return redirect(url_for(".home"))
    wallet = db.get(Account, wallet.id)
    return render_template(
        "wallet/gift.html", form=form, cohort=cohort, available=available_now(db, wallet)
    )


@bp.get("/gifts/<int:gift_id>/revoke")
def confirm_revoke(gift_id: int):
    """Check, then confirm: which gift is taken back, and the real form. Changes nothing."""
    gift = db.get(Gift, gift_id)
    if gift is None or gift.giver_id != current_user.id:
        abort(404)  # not theirs: say nothing about whether it exists
    if gift.state_at(clock.now()) != GiftStatus.PENDING:
        flash(_("This gift is no longer waiting for an answer."), "info")
        return redirect(url_for(".home"))
    return render_template("wallet/revoke_confirm.html", gift=gift, form=ActionForm())


@bp.route("/gifts/<int:gift_id>/revoke", methods=["POST"])
def revoke(gift_id: int):
    actor = current_user._get_current_object()
    try:
        done = commit_with_retry(db, lambda: revoke_gift(db, actor, gift_id))
    except Forbidden:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
    else:
        if done.status == GiftStatus.EXPIRED:
            flash(_("That gift had already expired; its sessions are back with you."), "info")
        else:
            flash(_("The gift is revoked and its sessions are back with you."), "success")
    return redirect(url_for(".home"))


def _gift_for_me(gift_id: int) -> Gift:
    gift = db.get(Gift, gift_id)
    if gift is None or gift.recipient_id != current_user.id:
        abort(404)
    return gift


@bp.route("/gifts/<int:gift_id>", methods=["GET"])
def received(gift_id: int):
    gift = _gift_for_me(gift_id)
    consent = current_consent(db, gift.cohort.programme_id)
    return render_template(
        "wallet/gift_received.html",
        gift=gift,
        consent=consent,
        form=AcceptGiftForm(consent_text_id=consent.id),
        action_form=ActionForm(),
    )


@bp.route("/gifts/<int:gift_id>/accept", methods=["POST"])
def accept(gift_id: int):
    gift = _gift_for_me(gift_id)
    form = AcceptGiftForm()
    if not form.validate_on_submit():
        consent = current_consent(db, gift.cohort.programme_id)
        return render_template(
            "wallet/gift_received.html",
            gift=gift,
            consent=consent,
            form=form,
            action_form=ActionForm(),
        ), 400
    raw = form.consent_text_id.data or ""
    # (isascii: "²" is a digit to isdigit, but not to int)
    consent_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
    actor = current_user._get_current_object()
    locale = current_language()
    try:
        done = commit_with_retry(
            db,
            lambda: accept_gift(
                db, gift_id, None, consent_text_id=consent_id, signed_in=actor, locale=locale
            ),
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".home"))
    _say_outcome(done)
    return redirect(url_for(".home"))


@bp.route("/gifts/<int:gift_id>/decline", methods=["POST"])
def decline(gift_id: int):
    _gift_for_me(gift_id)
    actor = current_user._get_current_object()
    locale = current_language()
    try:
        done = commit_with_retry(
            db, lambda: decline_gift(db, gift_id, None, signed_in=actor, locale=locale)
        )
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for(".home"))
    _say_outcome(done)
    return redirect(url_for(".home"))


def _say_outcome(gift: Gift) -> None:
    if gift.status == GiftStatus.ACCEPTED:
        flash(
            ngettext(
                "%(num)s session from this gift are now yours, in %(cohort)s.",
                "%(num)s sessions from this gift are now yours, in %(cohort)s.",
                gift.sessions,
                cohort=gift.cohort.name,
            ),
            "success",
        )
    elif gift.status == GiftStatus.DECLINED:
        flash(
            _("You declined the gift; the sessions go back to the person who sent them."),
            "success",
        )
    elif gift.status == GiftStatus.EXPIRED:
        flash(_("This gift had expired, so it could not be accepted."), "error")
    else:
        flash(_("Done."), "info")
