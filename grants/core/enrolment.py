"""Bringing ambassadors into cohorts: invitations, their acceptance, and closing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit, outbox, passwords
from grants.core.clock import clock
from grants.core.countries import normalise_country
from grants.core.db import insert_or_fetch
from grants.core.errors import DomainError, InvalidInput
from grants.core.funding import issue_upfront
from grants.core.i18n import Message, _
from grants.core.models.cohorts import (
    HOLDING_STATES,
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
)
from grants.core.models.people import Role, User, UserRole
from grants.core.models.programmes import ConsentText
from grants.core.people import normalise_email


class AlreadyEnrolled(DomainError):
    """The person already holds a place in this cohort, or in a current one of the programme."""


class InvitationNotValid(DomainError):
    """The invitation was used, withdrawn or replaced by a newer one."""


class WrongEnrolmentState(DomainError):
    """The action does not fit the enrolment's state (e.g. resending to someone active)."""


class CohortNotOpen(DomainError):
    """Closed cohorts take no new enrolments."""


class ConsentChanged(InvalidInput):
    """A newer consent text was published while the person was reading the old one."""


@dataclass(frozen=True)
class Invitee:
    """One person to invite, as staff typed it (or a CSV row gave it)."""

    name: str
    artist_name: str
    email: str
    country: str


def checked_invitee(invitee: Invitee) -> Invitee:
    """The invitee with every field checked and normalised, or InvalidInput saying why."""
    name, artist = invitee.name.strip(), invitee.artist_name.strip()
    if not name:
        raise InvalidInput(_("A name is needed."))
    if len(name) > 200:
        raise InvalidInput(_("That name is too long (200 characters at most)."))
    if not artist:
        raise InvalidInput(_("An artist or project name is needed."))
    if len(artist) > 200:
        raise InvalidInput(_("That artist or project name is too long (200 characters at most)."))
    return Invitee(
        name=name,
        artist_name=artist,
        email=normalise_email(invitee.email),
        country=normalise_country(invitee.country),
    )


def place_conflict(
    session: Session, user_id: int, cohort: Cohort, *, ignoring: int | None = None
) -> Message | None:
    """Why `user_id` cannot take a place in `cohort`, or None. `ignoring` is an enrolment
    not to count (the invitation being accepted)."""
    query = (
        select(Enrolment, Cohort)
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.user_id == user_id, Enrolment.status.in_(HOLDING_STATES))
    )
    if ignoring is not None:
        query = query.where(Enrolment.id != ignoring)
    for enrolment, other in session.execute(query).all():
        problem = conflict_between(enrolment, other, cohort)
        if problem:
            return problem
    return None


def conflict_between(held: Enrolment, held_cohort: Cohort, cohort: Cohort) -> Message | None:
    """Why a place `held` (in `held_cohort`) stops its holder taking one in `cohort`."""
    if held.status not in HOLDING_STATES:
        return None
    if held_cohort.id == cohort.id:
        if held.status == EnrolmentStatus.INVITED:
            return _("This person is already invited to this cohort.")
        return _("This person is already in this cohort.")
    same_programme = held_cohort.programme_id == cohort.programme_id
    if same_programme and held_cohort.status == CohortStatus.CURRENT:
        return _(
            "This person is already enrolled in %(cohort)s, a current %(programme)s cohort.",
            cohort=held_cohort.name,
            programme=held_cohort.programme.code,
        )
    return None


def invite(
    session: Session, actor: User, cohort: Cohort, invitee: Invitee, *, locale: str = "en"
) -> Enrolment:
    """Invite someone to `cohort`: an enrolment in state invited, and an email with a link."""
    if cohort.status == CohortStatus.CLOSED:
        raise CohortNotOpen(_("This cohort is closed; it takes no new enrolments."))
    invitee = checked_invitee(invitee)
    query = select(User).where(User.email == invitee.email)
    user = session.scalar(query)
    if user is None:
        # No password and no role yet: the account cannot be used until the invitation is.
        user = insert_or_fetch(
            session, User(email=invitee.email, name=invitee.name, password_hash=None), query
        )
    else:
        problem = place_conflict(session, user.id, cohort)
        if problem:
            raise AlreadyEnrolled(problem)
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.user_id == user.id)
    )
    if enrolment is None:
        enrolment = Enrolment(cohort_id=cohort.id, user_id=user.id, invitations_sent=0)
        session.add(enrolment)
    # An invitation again after a revoked or closed place reuses the row.
    enrolment.artist_name = invitee.artist_name
    enrolment.country = invitee.country
    enrolment.status = EnrolmentStatus.INVITED
    enrolment.invited_at = clock.now()
    enrolment.invited_by_id = actor.id
    enrolment.closed_at = None
    _send_invitation(session, enrolment, user.email, user.language or locale)
    audit.record(
        session, actor, "enrolment.invite", enrolment, cohort_id=cohort.id, user_id=user.id
    )
    return enrolment


def _send_invitation(
    session: Session, enrolment: Enrolment, email: str, locale: str = "en"
) -> None:
    # A new nonce makes every earlier link for this enrolment stop working.
    enrolment.invite_nonce = secrets.token_hex(16)
    enrolment.invitations_sent = (enrolment.invitations_sent or 0) + 1
    session.flush()
    outbox.enqueue(
        session,
        to=email,
        template="invitation",
        params={"enrolment_id": enrolment.id, "nonce": enrolment.invite_nonce},
        locale=locale,
    )


def _locked(session: Session, enrolment_id: int) -> Enrolment:
    """The enrolment, re-read under a row lock: a withdrawal racing an acceptance (or two
    staff at once) queue here, and the second sees what the first did."""
    return session.scalar(
        select(Enrolment)
        .where(Enrolment.id == enrolment_id)
        .with_for_update(of=Enrolment)
        .execution_options(populate_existing=True)
    )


# A second resend this soon is a double click, not a decision: one email is enough.
RESEND_PAUSE = timedelta(minutes=1)


def resend_invitation(
    session: Session, actor: User, enrolment: Enrolment, *, locale: str = "en"
) -> Enrolment:
    enrolment = _locked(session, enrolment.id)
    if enrolment.status != EnrolmentStatus.INVITED:
        raise WrongEnrolmentState(_("Only a pending invitation can be sent again."))
    if clock.now() - enrolment.invited_at < RESEND_PAUSE:
        raise WrongEnrolmentState(_("An invitation was sent a moment ago; it is on its way."))
    enrolment.invited_at = clock.now()
    _send_invitation(session, enrolment, enrolment.user.email, enrolment.user.language or locale)
    audit.record(session, actor, "enrolment.resend", enrolment)
    return enrolment


def revoke_invitation(session: Session, actor: User, enrolment: Enrolment) -> Enrolment:
    enrolment = _locked(session, enrolment.id)
    if enrolment.status != EnrolmentStatus.INVITED:
        raise WrongEnrolmentState(_("Only a pending invitation can be withdrawn."))
    enrolment.status = EnrolmentStatus.REVOKED
    enrolment.invite_nonce = None
    enrolment.closed_at = clock.now()
    audit.record(session, actor, "enrolment.revoke", enrolment)
    return enrolment


def close_enrolment(session: Session, actor: User, enrolment: Enrolment) -> Enrolment:
    enrolment = _locked(session, enrolment.id)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise WrongEnrolmentState(_("Only an active enrolment can be closed."))
    enrolment.status = EnrolmentStatus.CLOSED
    enrolment.closed_at = clock.now()
    audit.record(session, actor, "enrolment.close", enrolment)
    return enrolment


def current_consent(session: Session, programme_id: int) -> ConsentText:
    return session.scalars(
        select(ConsentText)
        .where(ConsentText.programme_id == programme_id)
        .order_by(ConsentText.version.desc())
        .limit(1)
    ).one()


def open_invitation(session: Session, enrolment_id: int, nonce: str) -> Enrolment:
    """The enrolment an invitation link is for, if the link is still the live one."""
    enrolment = session.scalar(
        select(Enrolment)
        .where(Enrolment.id == enrolment_id)
        .with_for_update(of=Enrolment)
        .execution_options(populate_existing=True)
    )
    live = (
        enrolment is not None
        and enrolment.status == EnrolmentStatus.INVITED
        and enrolment.invite_nonce is not None
        and secrets.compare_digest(enrolment.invite_nonce, str(nonce))
    )
    if not live:
        raise InvitationNotValid(
            _(
                "This invitation link has already been used, was withdrawn, or was replaced by "
                "a newer one. If you have set your password, log in; otherwise ask programme "
                "staff to send a new invitation."
            )
        )
    return enrolment


def accept_invitation(
    session: Session,
    enrolment_id: int,
    nonce: str,
    *,
    consent_text_id: int,
    new_password: str | None = None,
    current_password: str | None = None,
) -> Enrolment:
    """Accept an invitation: set (or confirm) the password, record consent, activate.

    Someone new sets a password; someone who already has an account confirms theirs.
    """
    enrolment = open_invitation(session, enrolment_id, nonce)
    if enrolment.cohort.status == CohortStatus.CLOSED:
        raise CohortNotOpen(
            _("%(cohort)s has closed, so it takes no one new.", cohort=enrolment.cohort.name)
        )
    user = enrolment.user
    consent = current_consent(session, enrolment.cohort.programme_id)
    if consent_text_id != consent.id:
        raise ConsentChanged(
            _("The consent text changed while this page was open. Please read it again.")
        )
    if user.password_hash is None:
        problem = passwords.password_problem(new_password or "")
        if problem:
            raise InvalidInput(problem)
        user.password_hash = passwords.hash_password(new_password)
    elif not passwords.verify_password(user.password_hash, current_password or ""):
        raise InvalidInput(_("That is not the password of this account."))
    if not user.active:
        raise InvitationNotValid(_("This account is disabled. Please contact programme staff."))
    problem = place_conflict(session, user.id, enrolment.cohort, ignoring=enrolment.id)
    if problem:
        raise AlreadyEnrolled(problem)

    now = clock.now()
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.invite_nonce = None
    enrolment.activated_at = now
    enrolment.consent_text_id = consent.id
    enrolment.consented_at = now
    if not user.has_role(Role.AMBASSADOR):
        user.roles.append(UserRole(role=Role.AMBASSADOR))
    session.flush()
    audit.record(
        session,
        user,
        "enrolment.accept",
        enrolment,
        consent_text_id=consent.id,
        consent_version=consent.version,
    )
    issue_upfront(session, enrolment)
    return enrolment
