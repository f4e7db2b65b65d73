"""Signed, expiring tokens for links in emails (invitations, password resets).

Signing proves the link came from us and carries its age; what makes a link single-use is
state in the database (a nonce or a session generation) that the token must match. The
signer reads the application clock, so tests can make a link expire.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from grants.core.clock import clock
from grants.core.errors import DomainError
from grants.core.i18n import _


class LinkInvalid(DomainError):
    """The link was altered, was never ours, or no longer matches what it was for."""


class LinkExpired(LinkInvalid):
    """The link is genuine but too old."""


class _ClockSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"grants:{purpose}", signer=_ClockSigner)


def make_token(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    return _serializer(secret, purpose).dumps(payload)


def read_token(secret: str, purpose: str, token: str, *, max_age: int) -> dict[str, Any]:
    """The payload of a genuine token for `purpose` no older than `max_age` seconds."""
    try:
        payload = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkExpired(_("This link has expired.")) from None
    except BadSignature:
        raise LinkInvalid(_("This link is not valid. Check that it was copied in full.")) from None
    if not isinstance(payload, dict):
        raise LinkInvalid(_("This link is not valid."))
    return payload
