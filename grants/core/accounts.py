"""Admin's decisions about accounts: which roles a person holds, and disabling or
enabling them. Each is audited; disabling ends every session the person has open."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.core import audit, login_sessions
from grants.core.errors import Forbidden, InvalidInput
from grants.core.i18n import _
from grants.core.models.people import ROLES, Role, User, UserRole


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )


def set_roles(session: Session, actor: User, user: User, roles: set[str]) -> User:
    unknown = roles - set(ROLES)
    if unknown:
        raise InvalidInput(_("%(roles)s is not a role.", roles=", ".join(sorted(unknown))))
    if actor.id == user.id and Role.ADMIN in user.role_names and Role.ADMIN not in roles:
        raise Forbidden(_("You cannot take away your own admin role; ask another admin."))
    if Role.PARTNER in roles and user.partner_id is None:
        raise InvalidInput(
            _("A partner user is added from the partner's page, so they act for one partner.")
        )
    before = sorted(user.role_names)
    for role in list(user.roles):
        if role.role not in roles:
            user.roles.remove(role)
    for name in sorted(roles - user.role_names):
        user.roles.append(UserRole(role=name))
    if Role.PARTNER not in roles:
        user.partner_id = None  # no longer acting for any partner
    session.flush()
    after = sorted(user.role_names)
    if before != after:
        audit.record(session, actor, "user.roles_changed", user, before=before, after=after)
    return user


def disable(session: Session, actor: User, user: User) -> User:
    if actor.id == user.id:
        raise Forbidden(_("You cannot disable your own account."))
    if not user.active:
        return user  # already: a second click changes nothing
    if Role.ADMIN in user.role_names and _active_admins(session) <= 1:
        raise Forbidden(_("This is the last active admin: enable or add another first."))
    user.active = False
    user.session_generation += 1  # every cookie it had stops working
    login_sessions.end_all(session, user.id, "disabled")
    audit.record(session, actor, "user.disabled", user)
    return user


def enable(session: Session, actor: User, user: User) -> User:
    if not user.active:
        user.active = True
        audit.record(session, actor, "user.enabled", user)
    return user
