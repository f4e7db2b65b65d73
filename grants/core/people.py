"""Operations on people: creating users, granting roles, checking a login."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit, login_sessions, outbox, passwords
from grants.core.errors import DomainError, InvalidInput
from grants.core.i18n import _
from grants.core.models.people import ROLES, User, UserRole


class EmailAlreadyUsed(DomainError):
    """Someone already has an account with this email."""


def normalise_email(email: str) -> str:
    """The stored form of an email: checked for shape (no DNS look-up) and lower-cased."""
    try:
        # test_environment lets the reserved .test domain through (demo and test users);
        # it also skips DNS, which a form must not wait on anyway.
        checked = validate_email(
            email.strip(), check_deliverability=False, test_environment=True, allow_smtputf8=False
        )
    except EmailNotValidError as error:
        raise InvalidInput(
            _("That email address is not valid: %(error)s", error=str(error))
        ) from None
    return checked.normalized.lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    return session.scalar(select(User).where(User.email == email))


def create_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    name: str,
    roles: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    locale: str | None = None,  # None: not chosen, so the browser's language is used
) -> User:
    """Create a user holding `roles`. Without a password they cannot log in until they set one."""
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput(_("A name is needed."))
    if len(name) > 200:
        raise InvalidInput(_("That name is too long (200 characters at most)."))
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(
            _(
                "Unknown role: %(unknown)s. Roles are %(roles)s.",
                unknown=", ".join(unknown),
                roles=", ".join(ROLES),
            )
        )
    if password is not None:
        problem = passwords.password_problem(password)
        if problem:
            raise InvalidInput(problem)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailAlreadyUsed(_("Someone already has an account with that email."))
    user = User(
        email=email,
        name=name,
        locale=locale,
        password_hash=passwords.hash_password(password) if password is not None else None,
        roles=[UserRole(role=role) for role in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", user, roles=sorted(set(roles)))
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Unknown emails cost as much time."""
    user = find_user_by_email(session, email)
    if not passwords.verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def request_password_reset(session: Session, email: str, *, locale: str = "en") -> None:
    """Queue a reset link for `email`. Whether an account uses it is looked up only when
    the email is sent, after the response: the request writes the same row and takes the
    same time either way, and the answer is the same."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        return  # not an address at all: nothing to look up, nothing to learn
    message = outbox.enqueue(
        session, to=email, template="password_reset", params={"email": email}, locale=locale
    )
    # The audit row names the queued message, never the address or whether it has an
    # account: the log must not become a way to learn who is a member.
    audit.record(session, None, "password_reset.requested", message)


def user_for_reset(session: Session, user_id: int, generation: int) -> User:
    """The user a reset link is for, while the link is still the live one.

    A link carries the session generation it was made under; setting a password bumps the
    generation, so each link works once and older ones stop working too.
    """
    # Locked: two uses of one link at the same moment queue here, and the second finds the
    # generation already moved on.
    user = session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    )
    if user is None or not user.active or user.session_generation != generation:
        raise PasswordResetUsed(
            _("This link has already been used or is no longer valid. Ask for a new one.")
        )
    return user


class PasswordResetUsed(DomainError):
    """The reset link was used already, or the password changed since it was sent."""


def set_password(session: Session, actor: User | None, user: User, password: str) -> User:
    """Set a new password and end every session the user has open elsewhere."""
    problem = passwords.password_problem(password)
    if problem:
        raise InvalidInput(problem)
    user.password_hash = passwords.hash_password(password)
    user.session_generation += 1
    # The generation already refuses old cookies; ending the rows says so on the server.
    login_sessions.end_all(session, user.id, "password")
    audit.record(session, actor, "auth.password_set", user)
    return user
