"""Accepting an invitation from its emailed link, and resetting a forgotten password."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from grants.auth import bp
from grants.auth.forms import AcceptInvitationForm, ResetPasswordForm, ResetRequestForm
from grants.auth.two_step import sign_in
from grants.core.db import commit_with_retry
from grants.core.enrolment import accept_invitation, current_consent, open_invitation
from grants.core.errors import DomainError, InvalidInput
from grants.core.people import request_password_reset, set_password, user_for_reset
from grants.core.tokens import LinkExpired, LinkInvalid, read_token
from grants.database import db
from grants.i18n import current_language
from grants.limits import account_key, limiter


def _link_problem(message: str):
    return render_template("auth/link_problem.html", message=message), 400


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    try:
        payload = read_token(
            current_app.config["SECRET_KEY"],
            "invitation",
            token,
            max_age=current_app.config["INVITATION_MAX_AGE"],
        )
        enrolment_id, nonce = int(payload["e"]), str(payload["n"])
        enrolment = open_invitation(db, enrolment_id, nonce)
    except (LinkInvalid, KeyError, TypeError, ValueError) as error:
        message = getattr(error, "message", None) or _("This link is not valid.")
        if isinstance(error, LinkExpired):
            message += " " + _("Ask programme staff to send you a new invitation.")
        return _link_problem(message)
    except DomainError as error:
        return _link_problem(error.message)

    consent = current_consent(db, enrolment.cohort.programme_id)
    has_password = enrolment.user.password_hash is not None
    form = AcceptInvitationForm(consent_text_id=consent.id)
    if form.validate_on_submit():
        if not has_password and form.new_password.data != form.confirm_password.data:
            form.confirm_password.errors.append(_("The two passwords are not the same."))
        else:
            try:
                raw_id = str(form.consent_text_id.data or "")
                consent_text_id = (
                    int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 10 else 0
                )
                accepted = commit_with_retry(
                    db,
                    lambda: accept_invitation(
                        db,
                        enrolment_id,
                        nonce,
                        consent_text_id=consent_text_id,
                        new_password=None if has_password else form.new_password.data,
                        current_password=form.current_password.data if has_password else None,
                    ),
                )
            except InvalidInput as error:
                target = form.current_password if has_password else form.new_password
                if "consent" in str(error):  # the English, whatever the reader's language
                    target = form.consent
                target.errors.append(error.message)
            except DomainError as error:
                return _link_problem(error.message)
            else:
                # Two-step sign-in, when the person has it on, still applies.
                response = sign_in(accepted.user, url_for("wallet.home"))
                flash(_("Welcome to %(cohort)s.", cohort=accepted.cohort.name), "success")
                return response
    return render_template(
        "auth/invitation.html",
        form=form,
        enrolment=enrolment,
        consent=consent,
        has_password=has_password,
    )


def _reset_account_key() -> str:
    return account_key("reset")


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RESET_ACCOUNT_LIMIT"], methods=["POST"], key_func=_reset_account_key
)
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        email = form.email.data
        # The email goes in the account's own language if it has one (the mailer looks),
        # else in the language this page was read in.
        locale = current_language()
        commit_with_retry(db, lambda: request_password_reset(db, email, locale=locale))
        # The same words whether or not the address has an account.
        flash(
            _(
                "If an account uses that address, we have emailed it a link to choose a new "
                "password. The link works for an hour."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        payload = read_token(
            current_app.config["SECRET_KEY"],
            "password-reset",
            token,
            max_age=current_app.config["PASSWORD_RESET_MAX_AGE"],
        )
        user_id, generation = int(payload["u"]), int(payload["g"])
        user_for_reset(db, user_id, generation)
    except (LinkInvalid, KeyError, TypeError, ValueError) as error:
        message = getattr(error, "message", None) or _("This link is not valid.")
        return _link_problem(message + " " + _("You can ask for a new link from the log-in page."))
    except DomainError as error:
        return _link_problem(error.message)

    form = ResetPasswordForm()
    if form.validate_on_submit():
        password = form.new_password.data

        def change():
            user = user_for_reset(db, user_id, generation)
            return set_password(db, user, user, password)

        try:
            commit_with_retry(db, change)
        except InvalidInput as error:
            form.new_password.errors.append(error.message)
        except DomainError as error:
            return _link_problem(error.message)
        else:
            flash(
                _(
                    "Your password is changed, and any other sessions are logged out. "
                    "Log in with your new password."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
