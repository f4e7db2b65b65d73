"""Two-step sign-in in the browser: the code after the password, setting it up, recovery
codes, and the account security page."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from grants.auth import bp
from grants.auth.forms import TwoStepForm, TwoStepSetupForm
from grants.core import audit, two_factor
from grants.core.clock import clock
from grants.core.errors import DomainError
from grants.core.models.people import User
from grants.database import db
from grants.forms import ActionForm
from grants.limits import limiter
from grants.security import begin_login, fresh_login_required, home_url, safe_next

# The password step is good for this long before the code must follow.
PENDING_FOR_SECONDS = 300


def sign_in(user: User, next_url: str | None):
    """After the password (or an invitation or gift link that proved who they are): straight
    in, or on to the code step when the person has two-step sign-in on."""
    if two_factor.enabled(user):
        chosen = session.get("locale")
        session.clear()
        if chosen:
            session["locale"] = chosen
        session["pending_login"] = {
            "u": user.id,
            "g": user.session_generation,
            "at": clock.now().timestamp(),
            "next": next_url,
        }
        return redirect(url_for("auth.two_step"))
    audit.record(db, user, "auth.login", user)
    db.commit()
    begin_login(user)
    return redirect(next_url or home_url(user))


def _pending_user() -> tuple[User | None, str | None]:
    pending = session.get("pending_login") or {}
    if not pending or clock.now().timestamp() - pending.get("at", 0) > PENDING_FOR_SECONDS:
        return None, None
    user = db.get(User, pending.get("u"))
    if user is None or not user.active or user.session_generation != pending.get("g"):
        return None, None
    return user, safe_next(pending.get("next"))


def _pending_key() -> str:
    return "two-step:" + str((session.get("pending_login") or {}).get("u"))


@bp.route("/two-step", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_LIMIT"], methods=["POST"], key_func=_pending_key
)
def two_step():
    user, next_url = _pending_user()
    if user is None:
        session.pop("pending_login", None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = TwoStepForm()
    if form.validate_on_submit():
        code = form.code.data.strip()
        if two_factor.check_code(db, user, code) or two_factor.use_recovery_code(db, user, code):
            audit.record(db, user, "auth.login", user)
            db.commit()
            begin_login(user)
            left = two_factor.recovery_codes_left(db, user)
            if len(code.replace(" ", "")) > 6 and left <= 3:
                flash(
                    ngettext(
                        "You have %(num)s recovery code left. Make new ones on your account "
                        "security page.",
                        "You have %(num)s recovery codes left. Make new ones on your account "
                        "security page.",
                        left,
                    ),
                    "info",
                )
            return redirect(next_url or home_url(user))
        db.rollback()
        audit.record(db, user, "auth.two_step_failed", user)
        db.commit()
        form.code.errors.append(_("That code did not work. Try the newest one from the app."))
    return render_template("auth/two_step.html", form=form)


@bp.route("/two-step/setup", methods=["GET", "POST"])
@login_required
def two_step_setup():
    if two_factor.enabled(current_user):
        return redirect(url_for("auth.security"))
    secret = session.get("totp_setup")
    if not secret:
        secret = session["totp_setup"] = two_factor.new_secret()
    form = TwoStepSetupForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            codes = two_factor.turn_on(db, user, secret, form.code.data)
            db.commit()
        except DomainError as error:
            db.rollback()
            form.code.errors.append(error.message)
        else:
            session.pop("totp_setup", None)
            return render_template("auth/recovery_codes.html", codes=codes, first=True)
    return render_template(
        "auth/two_step_setup.html",
        form=form,
        secret=secret,
        grouped=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=two_factor.provisioning_uri(
            secret, current_user.email, current_app.config["SITE_NAME"]
        ),
        required=two_factor.required(current_user),
    )


@bp.route("/security")
@login_required
def security():
    return render_template(
        "auth/security.html",
        enabled=two_factor.enabled(current_user),
        required=two_factor.required(current_user),
        codes_left=two_factor.recovery_codes_left(db, current_user),
        form=ActionForm(),
    )


@bp.post("/security/recovery-codes")
@login_required
@fresh_login_required
def new_recovery_codes():
    form = ActionForm()
    if not form.validate_on_submit() or not two_factor.enabled(current_user):
        return redirect(url_for("auth.security"))
    codes = two_factor.new_recovery_codes(db, current_user._get_current_object())
    db.commit()
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


@bp.post("/security/two-step/off")
@login_required
@fresh_login_required
def two_step_off():
    form = ActionForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            two_factor.turn_off(db, user, user)
            db.commit()
        except DomainError as error:
            db.rollback()
            flash(error.message, "error")
        else:
            flash(_("Two-step sign-in is off."), "success")
    return redirect(url_for("auth.security"))


def require_setup():
    """Before every request: staff, finance and admin set up two-step sign-in before they
    can do anything else (logging out and the public hub stay open)."""
    if (
        current_user.is_authenticated
        and request.endpoint not in SETUP_EXEMPT
        and two_factor.required(current_user)
        and not two_factor.enabled(current_user)
    ):
        return redirect(url_for("auth.two_step_setup"))
    return None


SETUP_EXEMPT = {
    "auth.two_step_setup",
    "auth.logout",
    "static",
    "resources.index",
    "i18n.switch_language",
}
