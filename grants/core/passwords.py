"""Password hashing with Argon2id. The cost is set once at start-up (tests use a low one)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from grants.core.i18n import _

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both answers take the same time. Made on
# first use, not at import: an Argon2 hash costs 64 MiB and a fifth of a second, which every
# CLI command and worker would otherwise pay at start whether it checks a password or not.
_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a real password")
    return _dummy_hash


MIN_LENGTH = 12


def configure(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Set the Argon2 cost for every hash made from now on."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash = None  # made again, at the new cost, when first needed


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; a missing hash still costs one verification."""
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None. Length over rules, as NIST SP 800-63B asks."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(least)s characters.", least=MIN_LENGTH)
    if len(password) > 256:
        return _("Use at most 256 characters.")
    return None
