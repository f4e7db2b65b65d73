"""Two-factor sign-in: a time-based code (RFC 6238, as authenticator apps make) after the
password, and one-time recovery codes for a lost phone.

Staff, finance and admin must use it (they see health data and move money); anyone else
may. A code works once: the time step it belongs to is remembered, so a code seen over
someone's shoulder cannot be replayed within its 30 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grants.core import audit, login_sessions
from grants.core.clock import clock
from grants.core.errors import InvalidInput
from grants.core.i18n import _
from grants.core.models.people import Role, User
from grants.core.models.sessions import RecoveryCode

REQUIRED_FOR = frozenset({Role.STAFF, Role.FINANCE, Role.ADMIN})
RECOVERY_CODES = 10
# One step either side: a phone's clock a little off still works.
VALID_WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required(user: User) -> bool:
    return any(user.has_role(role) for role in REQUIRED_FOR)


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.totp_secret is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads (from a QR code or a link)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _matching_step(secret: str, code: str) -> int | None:
    code = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(clock.now())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(session: Session, user: User, code: str) -> bool:
    """True, once, for the current code of `user`'s authenticator."""
    if not enabled(user):
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    # A conditional update, so two requests racing with one code cannot both win.
    won = session.execute(
        update(User)
        .where(
            User.id == user.id,
            (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        user.totp_last_step = step
    return bool(won)


def _hash(code: str) -> str:
    return hashlib.sha256(re.sub(r"[\s-]+", "", code.lower()).encode()).hexdigest()


def _new_codes(session: Session, user: User) -> list[str]:
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    codes = []
    for _n in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _i in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    if not enabled(user) or not code:
        return False
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    won = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    ).rowcount
    if won:
        audit.record(session, user, "auth.recovery_code_used", user)
    return bool(won)


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def turn_on(session: Session, user: User, secret: str, code: str) -> list[str]:
    """Switch two-factor sign-in on with `secret` once `code` proves the app has it.
    Returns the recovery codes, shown to the person once and never again."""
    step = _matching_step(secret, code)
    if step is None:
        raise InvalidInput(
            _("That code does not match. Check the time on your phone and try the newest code.")
        )
    user.totp_secret = secret
    user.totp_enabled_at = clock.now()
    user.totp_last_step = step
    codes = _new_codes(session, user)
    audit.record(session, user, "auth.two_factor_on", user)
    return codes


def new_recovery_codes(session: Session, user: User) -> list[str]:
    codes = _new_codes(session, user)
    audit.record(session, user, "auth.recovery_codes_replaced", user)
    return codes


def turn_off(session: Session, actor: User, user: User) -> None:
    """By the person (when their roles do not require it), or by an admin for someone who
    lost both phone and codes; the admin's reset also ends that person's sessions."""
    if actor.id == user.id and required(user):
        raise InvalidInput(_("Your role needs two-step sign-in: it cannot be switched off."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    if actor.id != user.id:
        user.session_generation += 1
        login_sessions.end_all(session, user.id, "reset")
    audit.record(session, actor, "auth.two_factor_off", user)
