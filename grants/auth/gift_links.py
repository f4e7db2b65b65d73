"""A gift's emailed link: see the gift, then accept it (signing up when new) or decline."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from grants.auth import bp
from grants.auth.forms import AcceptGiftLinkForm
from grants.auth.two_step import sign_in
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.enrolment import current_consent
from grants.core.errors import DomainError, InvalidInput
from grants.core.gifts import accept_gift, decline_gift
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.tokens import LinkInvalid, read_token
from grants.database import db
from grants.forms import ActionForm
from grants.i18n import current_language

# The link's signature only proves it is ours; the gift's own expiry decides how long it
# can be answered.
LINK_MAX_AGE = 400 * 24 * 3600


# "This gift was already ...", one sentence per state (the word agrees with "gift").
ALREADY = {
    GiftStatus.ACCEPTED: _l("This gift was already accepted."),
    GiftStatus.DECLINED: _l("This gift was already declined."),
    GiftStatus.REVOKED: _l("This gift was already revoked."),
    GiftStatus.EXPIRED: _l("This gift was already expired."),
}


def _already(status: str) -> str:
    found = ALREADY.get(status)
    return str(found) if found is not None else _("This gift is no longer open.")


def _problem(message: str):
    return render_template("auth/link_problem.html", message=message), 400


def _read(token: str) -> tuple[int, str]:
    payload = read_token(current_app.config["SECRET_KEY"], "gift", token, max_age=LINK_MAX_AGE)
    return int(payload["g"]), str(payload["n"])


def _signed_in_recipient(gift: Gift):
    if current_user.is_authenticated and current_user.id == gift.recipient_id:
        return current_user._get_current_object()
    return None


@bp.route("/gift/<token>", methods=["GET", "POST"])
def gift_link(token: str):
    try:
        gift_id, nonce = _read(token)
    except (LinkInvalid, KeyError, TypeError, ValueError):
        return _problem(_("This gift link is not valid. Check that it was copied in full."))
    gift = db.get(Gift, gift_id)
    if gift is None or gift.nonce != nonce:
        if gift is not None and gift.status != GiftStatus.PENDING:
            return _problem(_already(gift.status))
        return _problem(_("This gift link is not valid."))

    consent = current_consent(db, gift.cohort.programme_id)
    signed_in = _signed_in_recipient(gift)
    has_password = gift.recipient.password_hash is not None
    form = AcceptGiftLinkForm(consent_text_id=consent.id)
    if form.validate_on_submit():
        if (
            signed_in is None
            and not has_password
            and (form.new_password.data != form.confirm_password.data)
        ):
            form.confirm_password.errors.append(_("The two passwords are not the same."))
        else:
            raw = str(form.consent_text_id.data or "")
            locale = current_language()  # the giver's email, if they have not chosen one
            consent_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
            try:
                done = commit_with_retry(
                    db,
                    lambda: accept_gift(
                        db,
                        gift_id,
                        nonce,
                        consent_text_id=consent_id,
                        signed_in=signed_in,
                        new_password=form.new_password.data if not has_password else None,
                        current_password=form.current_password.data if has_password else None,
                        locale=locale,
                    ),
                )
            except InvalidInput as error:
                target = (
                    form.consent
                    if "consent" in str(error)  # the English, whatever the reader's language
                    else (form.current_password if has_password else form.new_password)
                )
                target.errors.append(error.message)
            except DomainError as error:
                return _problem(error.message)
            else:
                if done.status == GiftStatus.EXPIRED:
                    return _problem(
                        _(
                            "This gift has expired; its sessions went back to the person who "
                            "sent them."
                        )
                    )
                user = done.recipient
                response = (
                    sign_in(user, url_for("wallet.home"))
                    if signed_in is None
                    else redirect(url_for("wallet.home"))
                )
                flash(
                    ngettext(
                        "%(num)s session from %(giver)s is now yours.",
                        "%(num)s sessions from %(giver)s are now yours.",
                        done.sessions,
                        giver=done.giver.name,
                    ),
                    "success",
                )
                return response
    state = gift.state_at(clock.now())
    if state != GiftStatus.PENDING:
        return _problem(_already(state))
    return render_template(
        "auth/gift.html",
        gift=gift,
        form=form,
        consent=consent,
        signed_in=signed_in,
        has_password=has_password,
        action_form=ActionForm(),
        token=token,
    )


@bp.route("/gift/<token>/decline", methods=["POST"])
def gift_decline(token: str):
    try:
        gift_id, nonce = _read(token)
    except (LinkInvalid, KeyError, TypeError, ValueError):
        return _problem(_("This gift link is not valid. Check that it was copied in full."))
    try:
        locale = current_language()  # the giver's email, if they have not chosen one
        done = commit_with_retry(db, lambda: decline_gift(db, gift_id, nonce, locale=locale))
    except DomainError as error:
        return _problem(error.message)
    if done.status == GiftStatus.EXPIRED:
        return _problem(
            _("This gift had already expired; its sessions went back to the person who sent them.")
        )
    return render_template("auth/gift_declined.html", gift=done)
