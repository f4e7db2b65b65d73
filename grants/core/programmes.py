"""Operations on programmes and their consent texts (admin's)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.errors import DomainError, InvalidInput
from grants.core.i18n import _
from grants.core.models.people import User
from grants.core.models.programmes import ConsentText, Programme

CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")


class ProgrammeExists(DomainError):
    """Programme codes are unique."""


def _consent_body(body: str) -> str:
    body = (body or "").strip()
    if len(body) < 40:
        raise InvalidInput(_("Write the consent text out in full (at least 40 characters)."))
    if len(body) > 20_000:
        raise InvalidInput(
            _("The consent text is too long (%(most)s characters at most).", most=20_000)
        )
    return body


def create_programme(
    session: Session, actor: User, *, code: str, name: str, consent: str
) -> Programme:
    code = (code or "").strip().upper()
    if not CODE.match(code):
        raise InvalidInput(
            _("A programme code is 2 to 16 letters, digits or hyphens, such as RADAR.")
        )
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the programme a name of 1 to 100 characters."))
    body = _consent_body(consent)
    if session.scalar(select(Programme.id).where(Programme.code == code)) is not None:
        raise ProgrammeExists(_("There is already a programme %(code)s.", code=code))
    programme = Programme(code=code, name=name)
    session.add(programme)
    session.flush()
    session.add(
        ConsentText(programme_id=programme.id, version=1, body=body, created_by_id=actor.id)
    )
    audit.record(session, actor, "programme.create", programme, code=code)
    return programme


def publish_consent(session: Session, actor: User, programme: Programme, body: str) -> ConsentText:
    """A new version of the consent text. Earlier versions stay, with who agreed to them."""
    body = _consent_body(body)
    latest = (
        session.scalar(
            select(func.max(ConsentText.version)).where(ConsentText.programme_id == programme.id)
        )
        or 0
    )
    current = session.scalar(
        select(ConsentText).where(
            ConsentText.programme_id == programme.id, ConsentText.version == latest
        )
    )
    if current is not None and current.body == body:
        raise InvalidInput(_("The text is the same as the current version."))
    text = ConsentText(
        programme_id=programme.id, version=latest + 1, body=body, created_by_id=actor.id
    )
    session.add(text)
    session.flush()
    audit.record(session, actor, "programme.consent_publish", programme, version=text.version)
    return text
