"""The scheduled resource check: directory entries and emergency numbers that have gone 12
months without a check are flagged, and programme staff are told once, by email, how many
have newly come due.

The hub works out staleness whenever a page is drawn (grants.core.resources.is_stale); what
this adds is that someone hears of it without having to look. Each entry is flagged by a
conditional UPDATE (only rows not flagged yet), so two checks at once flag it once, and the
one that flagged it is the one that tells staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from grants.core import audit, outbox
from grants.core.models.people import Role, User, UserRole
from grants.core.models.resources import EmergencyNumber, Resource
from grants.core.resources import stale_before


@dataclass(frozen=True)
class StaleReport:
    flagged: int  # entries and emergency numbers newly due a check
    cleared: int  # flags taken off: checked again (or retired) since
    told: int  # staff emailed


def flag_stale(session: Session, today: date) -> StaleReport:
    """Flag what has come due since the last check, clear what has been checked since, and
    queue one email to each active member of staff when anything new came due."""
    before = stale_before(today)
    cleared = _clear(session, before)
    entries = session.execute(
        update(Resource)
        .where(
            Resource.retired_at.is_(None),
            Resource.checked_on <= before,
            Resource.flagged_stale_on.is_(None),
        )
        .values(flagged_stale_on=today)
        .returning(Resource.id)
    ).scalars()
    entry_ids = sorted(entries)
    numbers = session.execute(
        update(EmergencyNumber)
        .where(EmergencyNumber.checked_on <= before, EmergencyNumber.flagged_stale_on.is_(None))
        .values(flagged_stale_on=today)
        .returning(EmergencyNumber.country)
    ).scalars()
    countries = sorted(numbers)
    flagged = len(entry_ids) + len(countries)
    if not flagged:
        return StaleReport(flagged=0, cleared=cleared, told=0)
    audit.record(
        session,
        None,
        "resources.flag_stale",
        resource_ids=entry_ids,
        emergency_numbers=countries,
    )
    staff = _staff(session)
    for person in staff:
        outbox.enqueue(
            session,
            to=person.email,
            template="resources_due",
            params={"user_id": person.id, "count": flagged},
            locale=person.language or "en",
        )
    return StaleReport(flagged=flagged, cleared=cleared, told=len(staff))


def _clear(session: Session, before: date) -> int:
    entries = session.execute(
        update(Resource)
        .where(
            Resource.flagged_stale_on.is_not(None),
            or_(Resource.checked_on > before, Resource.retired_at.is_not(None)),
        )
        .values(flagged_stale_on=None)
    ).rowcount
    numbers = session.execute(
        update(EmergencyNumber)
        .where(EmergencyNumber.flagged_stale_on.is_not(None), EmergencyNumber.checked_on > before)
        .values(flagged_stale_on=None)
    ).rowcount
    return entries + numbers


def _staff(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.STAFF, User.active.is_(True))
            .order_by(User.id)
        )
    )
