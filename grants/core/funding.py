"""Funding: ambassadors ask for sessions, staff approve (twice above the cohort's threshold)
or decline, and approval issues the credits from the cohort's budget to the wallet."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.core import audit, outbox
from grants.core.clock import clock
from grants.core.cohorts import BUDGET, cohort_account
from grants.core.errors import DebitsExceedCredits, DomainError, Forbidden, InvalidInput
from grants.core.i18n import Message, _, ngettext
from grants.core.ledger import NewTransfer, apply_transfers, open_account
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.funding import OPEN_STATES, Grant, GrantKind, GrantStatus
from grants.core.models.people import User

WALLET = "wallet"
DECLINE_MESSAGE_LIMIT = 1000
# Transfer ids derived from the grant: a double submit or a retry issues once.
_NAMESPACE = uuid.UUID("1b0f6c52-93f4-4c0e-8d1b-5f2a7e9c3d40")


class AllowanceExceeded(DomainError):
    """More sessions than the ambassador's allowance still has room for."""

    field = "sessions"


class RequestAlreadyOpen(DomainError):
    """One open request per cohort at a time."""


class GrantAlreadyDecided(DomainError):
    """Someone else decided (or the ambassador withdrew) first."""


class SelfApprovalForbidden(Forbidden):
    """Nobody decides on a request of their own."""


class SecondApproverMustDiffer(Forbidden):
    """Above the threshold, the second approval comes from a different member of staff."""


class BudgetExhausted(DomainError):
    """The cohort's funded budget cannot cover the sessions."""


class NotActive(DomainError):
    """Only an active enrolment in a current cohort can ask for funding."""


def wallet_account(session: Session, cohort: Cohort, user_id: int):
    """The user's wallet in `cohort`: it may never go below zero, pending debits counted."""
    return open_account(
        session, cohort.ledger, WALLET, user_id=user_id, debits_must_not_exceed_credits=True
    )


def sessions_issued(session: Session, enrolment_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(Grant.sessions_approved), 0)).where(
            Grant.enrolment_id == enrolment_id, Grant.status == GrantStatus.APPROVED
        )
    )


def allowance_left(session: Session, enrolment: Enrolment) -> int:
    """Sessions the ambassador may still be granted in this cohort."""
    return max(enrolment.cohort.session_allowance - sessions_issued(session, enrolment.id), 0)


def open_request(session: Session, enrolment_id: int) -> Grant | None:
    return session.scalar(
        select(Grant).where(Grant.enrolment_id == enrolment_id, Grant.status.in_(OPEN_STATES))
    )


def _whole(sessions) -> int:
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise InvalidInput(_("Enter a whole number of sessions, at least 1."))
    return sessions


def ask_for_funding(session: Session, actor: User, enrolment: Enrolment, sessions: int) -> Grant:
    """The ambassador asks for `sessions` in the cohort of `enrolment`."""
    if enrolment.user_id != actor.id:
        raise Forbidden(_("You can only ask for funding for yourself."))
    sessions = _whole(sessions)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise NotActive(_("Your place in this cohort is not active."))
    if enrolment.cohort.status != CohortStatus.CURRENT:
        raise NotActive(_("%(cohort)s is not running at the moment.", cohort=enrolment.cohort.name))
    if open_request(session, enrolment.id) is not None:
        raise RequestAlreadyOpen(
            _(
                "You already have a request waiting in this cohort. "
                "You can withdraw it and ask again."
            )
        )
    left = allowance_left(session, enrolment)
    if sessions > left:
        raise AllowanceExceeded(
            ngettext(
                "You can ask for up to %(num)s more session in %(cohort)s.",
                "You can ask for up to %(num)s more sessions in %(cohort)s.",
                left,
                cohort=enrolment.cohort.name,
            )
            if left
            else _("You have had your full allowance in %(cohort)s.", cohort=enrolment.cohort.name)
        )
    grant = Grant(
        cohort_id=enrolment.cohort_id,
        enrolment_id=enrolment.id,
        user_id=actor.id,
        kind=GrantKind.REQUEST,
        status=GrantStatus.PENDING,
        sessions_asked=sessions,
    )
    session.add(grant)
    session.flush()
    audit.record(session, actor, "grant.request", grant, sessions=sessions)
    return grant


def withdraw_request(session: Session, actor: User, grant: Grant) -> Grant:
    grant = _locked(session, grant.id)
    if grant.user_id != actor.id:
        raise Forbidden(_("That request is not yours."))
    if not grant.is_open:
        raise GrantAlreadyDecided(_already(grant.status))
    grant.status = GrantStatus.WITHDRAWN
    grant.decided_at = clock.now()
    audit.record(session, actor, "grant.withdraw", grant)
    return grant


def _locked(session: Session, grant_id: int) -> Grant:
    # Row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers): two staff
    # deciding at the same moment queue here, and the second finds the request decided.
    grant = session.scalar(
        select(Grant)
        .where(Grant.id == grant_id)
        .with_for_update(of=Grant)
        .execution_options(populate_existing=True)
    )
    if grant is None:
        raise InvalidInput(_("There is no such request."))
    return grant


def _open_for_decision(session: Session, actor: User, grant_id: int) -> Grant:
    """The request, locked, if it still waits for a decision `actor` may make."""
    grant = _locked(session, grant_id)
    if not grant.is_open:
        raise GrantAlreadyDecided(_already(grant.status, someone_else=True))
    if grant.user_id == actor.id:
        raise SelfApprovalForbidden(_("You cannot decide on a request of your own."))
    return grant


def _already(status: str, *, someone_else: bool = False) -> Message:
    """Why a request can no longer be decided or withdrawn: its state, in a whole sentence
    (so each language can agree its words with "request")."""
    if someone_else:
        return {
            "approved": _("Someone else got there first: this request was already approved."),
            "declined": _("Someone else got there first: this request was already declined."),
            "withdrawn": _("Someone else got there first: this request was already withdrawn."),
            "second": _("Someone else got there first: this request was already approved once."),
            "pending": _("Someone else got there first: this request was already left open."),
        }[status]
    return {
        "approved": _("This request was already approved."),
        "declined": _("This request was already declined."),
        "withdrawn": _("This request was already withdrawn."),
        "second": _("This request was already approved once."),
        "pending": _("This request was already left open."),
    }[status]


def approve(
    session: Session, actor: User, grant_id: int, sessions: int, *, locale: str = "en"
) -> Grant:
    """Approve `sessions` of a request. Above the cohort's threshold the first approval is
    recorded and a different member of staff must approve again before credits move."""
    grant = _open_for_decision(session, actor, grant_id)
    sessions = _whole(sessions)
    enrolment = grant.enrolment
    if grant.cohort.status == CohortStatus.CLOSED:
        raise NotActive(
            _("%(cohort)s has closed; decline the request instead.", cohort=grant.cohort.name)
        )
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise NotActive(_("This ambassador's place is no longer active; decline the request."))
    limit = grant.sessions_asked if grant.status == GrantStatus.PENDING else grant.sessions_proposed
    if sessions > limit:
        raise InvalidInput(
            ngettext(
                "Approve at most the %(num)s session asked for.",
                "Approve at most the %(num)s sessions asked for.",
                limit,
            )
            if grant.status == GrantStatus.PENDING
            else ngettext(
                "Approve at most the %(num)s session proposed.",
                "Approve at most the %(num)s sessions proposed.",
                limit,
            )
        )
    left = allowance_left(session, enrolment)
    if sessions > left:
        raise AllowanceExceeded(
            _("This ambassador's allowance has room for %(left)s more.", left=left)
        )

    now = clock.now()
    if grant.status == GrantStatus.PENDING and sessions > grant.cohort.approval_threshold:
        grant.status = GrantStatus.AWAITING_SECOND
        grant.sessions_proposed = sessions
        grant.first_approver_id = actor.id
        grant.first_approved_at = now
        audit.record(session, actor, "grant.first_approval", grant, sessions=sessions)
        return grant
    if grant.status == GrantStatus.AWAITING_SECOND and grant.first_approver_id == actor.id:
        raise SecondApproverMustDiffer(
            _("You gave the first approval; a different member of staff must give the second.")
        )
    _issue(session, grant, sessions)
    grant.decided_by_id = actor.id
    grant.decided_at = now
    audit.record(
        session,
        actor,
        "grant.approve",
        grant,
        sessions=sessions,
        transfer_id=str(grant.transfer_id),
    )
    _tell(session, grant, locale)
    return grant


def _issue(session: Session, grant: Grant, sessions: int) -> None:
    """Move `sessions` from the cohort's budget to the ambassador's wallet, as one transfer."""
    cohort = grant.cohort
    budget = cohort_account(session, cohort, BUDGET)
    wallet = wallet_account(session, cohort, grant.user_id)
    transfer_id = uuid.uuid5(_NAMESPACE, f"grant:{grant.id}")
    try:
        apply_transfers(
            session,
            [
                NewTransfer(
                    id=transfer_id,
                    debit_account_id=budget.id,
                    credit_account_id=wallet.id,
                    amount=sessions,
                    code="grant",
                )
            ],
        )
    except DebitsExceedCredits:
        raise BudgetExhausted(
            ngettext(
                "%(cohort)s has %(num)s funded session left, not enough for %(sessions)s. "
                "Fund the budget or approve fewer.",
                "%(cohort)s has %(num)s funded sessions left, not enough for %(sessions)s. "
                "Fund the budget or approve fewer.",
                budget.available,
                cohort=cohort.name,
                sessions=sessions,
            )
        ) from None
    grant.status = GrantStatus.APPROVED
    grant.sessions_approved = sessions
    grant.transfer_id = transfer_id


def decline(
    session: Session, actor: User, grant_id: int, message: str, *, locale: str = "en"
) -> Grant:
    grant = _open_for_decision(session, actor, grant_id)
    message = (message or "").strip()
    if not message:
        raise InvalidInput(_("Write a short message to the ambassador saying why."))
    if len(message) > DECLINE_MESSAGE_LIMIT:
        raise InvalidInput(
            _("Keep the message under %(limit)s characters.", limit=DECLINE_MESSAGE_LIMIT)
        )
    grant.status = GrantStatus.DECLINED
    grant.decline_message = message
    grant.decided_by_id = actor.id
    grant.decided_at = clock.now()
    audit.record(session, actor, "grant.decline", grant)
    _tell(session, grant, locale)
    return grant


def issue_upfront(session: Session, enrolment: Enrolment) -> Grant | None:
    """For cohorts that give the whole allowance on joining: issue it now. If the budget
    cannot cover it, the grant waits in the staff queue instead of blocking the ambassador."""
    cohort = enrolment.cohort
    if not cohort.upfront_allowance:
        return None
    left = allowance_left(session, enrolment)
    if not left or open_request(session, enrolment.id) is not None:
        return None
    grant = Grant(
        cohort_id=cohort.id,
        enrolment_id=enrolment.id,
        user_id=enrolment.user_id,
        kind=GrantKind.UPFRONT,
        status=GrantStatus.PENDING,
        sessions_asked=left,
    )
    session.add(grant)
    session.flush()
    budget = cohort_account(session, cohort, BUDGET)
    if budget.available >= left:
        _issue(session, grant, left)
        grant.decided_at = clock.now()
        audit.record(
            session, None, "grant.upfront", grant, sessions=left, transfer_id=str(grant.transfer_id)
        )
    else:
        audit.record(session, None, "grant.upfront_waiting", grant, sessions=left)
    return grant


def _tell(session: Session, grant: Grant, locale: str = "en") -> None:
    user = grant.user
    outbox.enqueue(
        session,
        to=user.email,
        template="funding_decided",
        params={"grant_id": grant.id},
        locale=user.language or locale,
    )
