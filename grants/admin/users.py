"""One person's account: roles, disabling and enabling, resetting two-step sign-in.
Each change needs a recent password (fresh_login_required) and writes an audit entry."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from grants.admin import bp
from grants.core import accounts, two_factor
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.people import ROLES, User
from grants.core.models.sessions import LoginSession
from grants.database import db
from grants.forms import ActionForm
from grants.security import fresh_login_required


def _person(user_id: int) -> User:
    return db.get(User, user_id) or abort(404)


@bp.route("/users/<int:user_id>")
def user(user_id: int):
    person = _person(user_id)
    return render_template(
        "admin/user.html",
        person=person,
        roles=ROLES,
        live_sessions=_live_sessions(person),
        two_step=two_factor.enabled(person),
        form=ActionForm(),
    )


def _change(user_id: int, work, done: str):
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    person = _person(user_id)
    actor = current_user._get_current_object()
    try:
        commit_with_retry(db, lambda: work(actor, person))
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/roles")
@fresh_login_required
def user_roles(user_id: int):
    chosen = set(request.form.getlist("roles"))
    return _change(
        user_id,
        lambda actor, person: accounts.set_roles(db, actor, person, chosen),
        _("The roles are saved."),
    )


def _live_sessions(person: User) -> int:
    return db.scalar(
        select(func.count())
        .select_from(LoginSession)
        .where(LoginSession.user_id == person.id, LoginSession.ended_at.is_(None))
    )


def _confirm_page(person: User, action: str):
    return render_template(
        "admin/user_confirm.html",
        person=person,
        action=action,
        live_sessions=_live_sessions(person),
        form=ActionForm(),
    )


@bp.get("/users/<int:user_id>/disable")
@fresh_login_required
def confirm_disable(user_id: int):
    """Check, then confirm: whose account, and what ends with it. Changes nothing."""
    person = _person(user_id)
    if not person.active:
        flash(_("This account is already disabled."), "info")
        return redirect(url_for("admin.user", user_id=user_id))
    if person.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    return _confirm_page(person, "disable")


@bp.get("/users/<int:user_id>/two-step/reset")
@fresh_login_required
def confirm_two_step_reset(user_id: int):
    person = _person(user_id)
    if not two_factor.enabled(person):
        flash(_("Two-step sign-in is already off for this account."), "info")
        return redirect(url_for("admin.user", user_id=user_id))
    return _confirm_page(person, "two_step_reset")


@bp.post("/users/<int:user_id>/disable")
@fresh_login_required
def user_disable(user_id: int):
    return _change(
        user_id,
        lambda actor, person: accounts.disable(db, actor, person),
        _("The account is disabled and every session it had is ended."),
    )


@bp.post("/users/<int:user_id>/enable")
@fresh_login_required
def user_enable(user_id: int):
    return _change(
        user_id,
        lambda actor, person: accounts.enable(db, actor, person),
        _("The account is enabled again."),
    )


@bp.post("/users/<int:user_id>/two-step/reset")
@fresh_login_required
def user_two_step_reset(user_id: int):
    return _change(
        user_id,
        lambda actor, person: two_factor.turn_off(db, actor, person),
        _("Two-step sign-in is reset: they set it up again at their next login."),
    )
