from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from grants.auth import bp
from grants.auth.forms import LoginForm, ReauthForm
from grants.core import audit
from grants.core.people import authenticate
from grants.database import db
from grants.security import home_url, mark_fresh_login, safe_next


@bp.route("/login", methods=["GET", "POST"])
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
        audit.record(db, user, "auth.login", user)
        db.commit()
        # A fresh session at login, so nothing planted before it carries over.
        next_url = safe_next(request.args.get("next"))
        session.clear()
        login_user(user)
        mark_fresh_login()
        return redirect(next_url or home_url(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # CSRFProtect has already refused a POST without a valid token.
    audit.record(db, current_user, "auth.logout", current_user)
    db.commit()
    logout_user()
    session.clear()
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
