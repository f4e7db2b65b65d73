"""Who is logged in, and which areas each role may enter."""

from __future__ import annotations

import functools
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from grants.core import login_sessions
from grants.core.clock import clock
from grants.core.models.people import Role, User
from grants.database import db
from grants.i18n import current_language

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see that page.")
# Flask-Login flashes the message through this: the reader's words, as a plain string
# (a flashed message is kept in the session cookie).
login_manager.localize_callback = str
login_manager.login_message_category = "info"
# Flask-Login's "strong" mode would log people out on a network change (phones); the
# session generation in the user id does the job of ending sessions instead.
login_manager.session_protection = "basic"

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    csrf.init_app(app)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        # Pages (and a signed-in person's downloads) say who uses therapy: no shared or
        # browser cache may keep them.
        if response.mimetype == "text/html" or (
            current_user.is_authenticated and request.endpoint != "static"
        ):
            headers["Cache-Control"] = "no-store"
        if app.config["ENV_NAME"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        return response


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = db.get(User, int(user_id))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    live = login_sessions.check(
        db,
        session.get("sid"),
        user.id,
        idle=current_app.config["SESSION_IDLE_TIMEOUT"],
        absolute=current_app.config["SESSION_ABSOLUTE_TIMEOUT"],
    )
    if db.dirty:  # last seen moved on, or the session has just timed out
        db.commit()
    if live is None:
        session.clear()
        return None
    return user


def begin_login(user: User) -> None:
    """Log `user` in on a brand-new session: the old cookie's contents are dropped (no
    fixation), and a server-side session row is started for the new one."""
    chosen = session.get("locale")
    session.clear()
    if chosen:  # the language picked before logging in
        session["locale"] = chosen
        if user.locale is None:
            user.locale = chosen
    # Emails are written in the person's language: with no choice saved, the language
    # their browser asks for is the best guess for what they read.
    user.browser_locale = current_language()
    token = login_sessions.start(db, user.id)
    db.commit()
    session["sid"] = token
    login_user(user)
    mark_fresh_login()


def end_login() -> None:
    """Log out: the session row ends, so a copy of the cookie no longer works."""
    login_sessions.end(db, session.get("sid"), "logout")
    db.commit()
    logout_user()
    session.clear()


def require_role(*roles: str):
    """A before_request hook for a blueprint: log in first, then hold one of `roles`."""

    def check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_role(*roles):
            abort(403)
        return None

    return check


# Where each role lands after logging in, most powerful first.
HOMES = (
    (Role.ADMIN, "admin.home"),
    (Role.FINANCE, "finance.home"),
    (Role.STAFF, "staff.home"),
    (Role.PARTNER, "partner.home"),
    (Role.AMBASSADOR, "wallet.home"),
    (Role.RECIPIENT, "wallet.home"),
)


def home_url(user: User) -> str:
    for role, endpoint in HOMES:
        if user.has_role(role):
            return url_for(endpoint)
    return url_for("auth.no_role")


# The navigation's name for each area.
AREA_LABELS = {
    "wallet.home": _l("My sessions"),
    "staff.home": _l("Programme"),
    "partner.home": _l("Partner"),
    "finance.home": _l("Finance"),
    "admin.home": _l("Admin"),
}


def areas_for(user: User) -> list[tuple[str, str]]:
    """(label, url) of each area the user may enter, for the navigation."""
    seen: list[str] = []
    for role, endpoint in reversed(HOMES):
        if user.has_role(role) and endpoint not in seen:
            seen.append(endpoint)
    return [(str(AREA_LABELS[endpoint]), url_for(endpoint)) for endpoint in seen]


FRESH_FOR = timedelta(minutes=15)


def mark_fresh_login() -> None:
    """Record in the session that the user has just proved who they are (password)."""
    session["login_at"] = clock.now().timestamp()


def fresh_login_required(view):
    """For decisions that move money or power: the password must have been given within the
    last 15 minutes, or the user is asked for it again first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        given = session.get("login_at")
        if given is None or clock.now().timestamp() - given > FRESH_FOR.total_seconds():
            if request.method == "POST":
                flash(_("For this step, please confirm your password first."), "info")
                return redirect(
                    url_for(
                        "auth.reauthenticate",
                        next=request.referrer and safe_next(_path_of(request.referrer)),
                    )
                )
            return redirect(url_for("auth.reauthenticate", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or any(ord(char) < 0x20 or char == "\x7f" for char in target):
        return None  # browsers drop tabs and newlines: "/\t/evil" would be "//evil"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
