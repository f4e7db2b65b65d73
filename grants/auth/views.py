from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.auth import bp
from grants.auth.forms import LoginForm, ReauthForm
from grants.auth.two_step import sign_in
from grants.core import audit
from grants.core.people import authenticate
from grants.database import db
from grants.limits import account_key, limiter
from grants.security import end_login, home_url, mark_fresh_login, safe_next


def _account_key() -> str:
    """Throttle by the account asked for, whichever address the attempts come from."""
    return account_key("account")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_LIMIT"], methods=["POST"], key_func=_account_key
)
def login():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db, form.email.data, form.password.data)
        if user is None:
            # One answer for unknown emails, wrong passwords and disabled accounts.
            form.password.errors.append(_("That email and password do not match an account."))
            return render_template("auth/login.html", form=form), 200
        return sign_in(user, safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # CSRFProtect has already refused a POST without a valid token.
    audit.record(db, current_user, "auth.logout", current_user)
    db.commit()
    end_login()
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/no-role")
@login_required
def no_role():
    return render_template("auth/no_role.html")


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def reauthenticate():
    """Give the password again before a step that moves money or power."""
    form = ReauthForm()
    if form.validate_on_submit():
        if authenticate(db, current_user.email, form.password.data) is None:
            form.password.errors.append(_("That is not your password."))
        else:
            db.commit()
            mark_fresh_login()
            audit.record(db, current_user, "auth.reauthenticate", current_user)
            db.commit()
            return redirect(safe_next(request.args.get("next")) or home_url(current_user))
    return render_template("auth/reauthenticate.html", form=form)
