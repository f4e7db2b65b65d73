"""Operations on cohorts: creating and editing them, and funding their session budget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.countries import normalise_country
from grants.core.errors import DomainError, InvalidInput, NotFound
from grants.core.i18n import _, ngettext
from grants.core.ledger import NewTransfer, apply_transfers, get_or_create_ledger, open_account
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.ledger import Account, Transfer
from grants.core.models.people import User
from grants.core.models.programmes import Programme
from grants.core.money import CURRENCIES

MAX_SESSION_VALUE = 10_000_000  # minor units: 100,000.00 in any currency the programme pays

# The cohort's system accounts on its credits ledger.
SOURCE = "source"  # where funded sessions come from: the programme's commitment
BUDGET = "budget"  # funded sessions not yet issued to anyone


class CohortExists(DomainError):
    """A programme runs one cohort per region per intake."""


class BudgetTooSmall(DomainError):
    """Funding beyond the planned budget, or a budget below what is already funded."""


class CohortClosed(DomainError):
    """A closed cohort takes no new funding or enrolments."""


@dataclass(frozen=True)
class CohortSettings:
    """What staff set on a cohort, already parsed into plain values by the edge."""

    programme_id: int
    region: str
    intake_name: str
    status: str
    currency: str
    session_value: int
    session_allowance: int
    session_budget: int
    gift_expiry_days: int
    starts_on: date
    ends_on: date
    approval_threshold: int = 6
    upfront_allowance: bool = False
    allow_regift: bool = False
    gift_limit_per_recipient: int = 6
    open_gift_limit: int = 5


@dataclass(frozen=True)
class Funding:
    funded: int  # sessions moved into the budget so far
    available: int  # funded and not yet issued
    issued: int  # issued to ambassadors (grants)


def _checked(session: Session, settings: CohortSettings) -> CohortSettings:
    if session.get(Programme, settings.programme_id) is None:
        raise InvalidInput(_("Choose a programme."))
    intake = settings.intake_name.strip()
    if not intake or len(intake) > 60:
        raise InvalidInput(_("Give the intake a name of 1 to 60 characters, such as 2027."))
    if settings.status not in tuple(CohortStatus):
        raise InvalidInput(_("Choose upcoming, current or closed."))
    if settings.currency not in CURRENCIES:
        raise InvalidInput(
            _("The currency must be one of %(currencies)s.", currencies=", ".join(CURRENCIES))
        )
    for label, value, least in (
        (_("The value of a session"), settings.session_value, 1),
        (_("The session allowance"), settings.session_allowance, 1),
        (_("The session budget"), settings.session_budget, 0),
        (_("Gift expiry"), settings.gift_expiry_days, 1),
        (_("The approval threshold"), settings.approval_threshold, 0),
        (_("The most one person may receive"), settings.gift_limit_per_recipient, 1),
        (_("The most gifts waiting at once"), settings.open_gift_limit, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInput(
                _(
                    "%(label)s must be a whole number of at least %(least)s.",
                    label=label,
                    least=least,
                )
            )
    if settings.session_value > MAX_SESSION_VALUE:
        raise InvalidInput(
            _("That is more than a session can be worth (%(most)s at most).", most=100_000)
        )
    if settings.gift_expiry_days > 365:
        raise InvalidInput(_("Gift expiry can be at most 365 days."))
    if settings.ends_on < settings.starts_on:
        raise InvalidInput(_("The cohort cannot end before it starts."))
    return CohortSettings(
        **{**settings.__dict__, "intake_name": intake, "region": normalise_country(settings.region)}
    )


def _refuse_twin(session: Session, settings: CohortSettings, cohort_id: int | None) -> None:
    twin = session.scalar(
        select(Cohort.id).where(
            Cohort.programme_id == settings.programme_id,
            Cohort.region == settings.region,
            Cohort.intake_name == settings.intake_name,
        )
    )
    if twin is not None and twin != cohort_id:
        raise CohortExists(_("That programme already has a cohort for this region and intake."))


def create_cohort(session: Session, actor: User, settings: CohortSettings) -> Cohort:
    settings = _checked(session, settings)
    _refuse_twin(session, settings, None)
    programme = session.get(Programme, settings.programme_id)
    ledger = get_or_create_ledger(
        session,
        f"credits:{programme.code}:{settings.region}:{settings.intake_name}",
        unit="session",
        name="sessions",
    )
    cohort = Cohort(**settings.__dict__, ledger_id=ledger.id)
    session.add(cohort)
    session.flush()
    ledger.name = f"{cohort.name} sessions"
    open_account(session, ledger, SOURCE)
    open_account(session, ledger, BUDGET, debits_must_not_exceed_credits=True)
    audit.record(session, actor, "cohort.create", cohort, **_loggable(settings))
    return cohort


def update_cohort(
    session: Session, actor: User, cohort: Cohort, settings: CohortSettings
) -> Cohort:
    settings = _checked(session, settings)
    _refuse_twin(session, settings, cohort.id)
    if cohort.status == CohortStatus.CLOSED and settings.status != CohortStatus.CLOSED:
        raise InvalidInput(_("A closed cohort cannot be opened again."))
    if settings.currency != cohort.currency and cohort.status != CohortStatus.UPCOMING:
        raise InvalidInput(_("The currency can only change while the cohort is upcoming."))
    if settings.currency != cohort.currency and _has_bookings(session, cohort):
        raise InvalidInput(_("The currency cannot change once sessions have been booked."))
    if settings.programme_id != cohort.programme_id and cohort_has_enrolments(session, cohort):
        raise InvalidInput(_("The programme cannot change once people are enrolled."))
    funded = cohort_funding(session, cohort).funded
    if settings.session_budget < funded:
        raise BudgetTooSmall(
            ngettext(
                "The budget cannot be less than the %(num)s session already funded.",
                "The budget cannot be less than the %(num)s sessions already funded.",
                funded,
            )
        )
    changes = {
        name: value
        for name, value in _loggable(settings).items()
        if _loggable_value(getattr(cohort, name)) != value
    }
    closing = cohort.status != CohortStatus.CLOSED and settings.status == CohortStatus.CLOSED
    for name, value in settings.__dict__.items():
        setattr(cohort, name, value)
    session.flush()
    if closing:
        _withdraw_pending_invitations(session, actor, cohort)
        # Imported here: gifts build on funding, which builds on this module.
        from grants.core.gifts import end_pending_gifts

        end_pending_gifts(session, actor, cohort)
    cohort.ledger.name = f"{cohort.name} sessions"
    if changes:
        audit.record(session, actor, "cohort.update", cohort, changes=changes)
    return cohort


def _withdraw_pending_invitations(session: Session, actor: User, cohort: Cohort) -> None:
    """A closed cohort takes no one new: invitations not yet accepted stop working."""
    result = session.execute(
        update(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.INVITED)
        .values(status=EnrolmentStatus.REVOKED, invite_nonce=None, closed_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount:
        audit.record(session, actor, "cohort.close_invitations", cohort, withdrawn=result.rowcount)


def _has_bookings(session: Session, cohort: Cohort) -> bool:
    # Imported here: vouchers build on funding, which builds on this module.
    from grants.core.models.partners import Voucher

    return (
        session.scalar(select(Voucher.id).where(Voucher.cohort_id == cohort.id).limit(1))
        is not None
    )


def cohort_has_enrolments(session: Session, cohort: Cohort) -> bool:
    query = select(Enrolment.id).where(Enrolment.cohort_id == cohort.id).limit(1)
    return session.scalar(query) is not None


def fund_cohort(
    session: Session, actor: User, cohort: Cohort, sessions: int, *, transfer_id: uuid.UUID
) -> Transfer:
    """Move `sessions` into the cohort's budget. `transfer_id` makes a double submit a no-op."""
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise InvalidInput(_("Fund a whole number of sessions, at least 1."))
    existing = session.get(Transfer, transfer_id)
    if existing is not None:
        return existing  # the same form sent twice: it happened once
    if cohort.status == CohortStatus.CLOSED:
        raise CohortClosed(_("This cohort is closed; it takes no new funding."))
    source = cohort_account(session, cohort, SOURCE)
    # Locked before the check, so two staff funding at once cannot pass the budget together.
    budget = cohort_account(session, cohort, BUDGET, lock=True)
    funded = budget.credits_posted
    if funded + sessions > cohort.session_budget:
        raise BudgetTooSmall(
            ngettext(
                "That would fund %(num)s session, more than the budget of %(budget)s. "
                "Raise the budget first.",
                "That would fund %(num)s sessions, more than the budget of %(budget)s. "
                "Raise the budget first.",
                funded + sessions,
                budget=cohort.session_budget,
            )
        )
    [transfer] = apply_transfers(
        session,
        [
            NewTransfer(
                id=transfer_id,
                debit_account_id=source.id,
                credit_account_id=budget.id,
                amount=sessions,
                code="fund",
            )
        ],
    )
    audit.record(
        session, actor, "cohort.fund", cohort, sessions=sessions, transfer_id=str(transfer_id)
    )
    return transfer


def cohort_account(session: Session, cohort: Cohort, code: str, *, lock: bool = False) -> Account:
    query = select(Account).where(
        Account.ledger_id == cohort.ledger_id, Account.code == code, Account.user_id.is_(None)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    account = session.scalar(query)
    if account is None:
        raise NotFound(_("cohort %(id)s has no %(code)s account", id=str(cohort.id), code=code))
    return account


def cohort_funding(session: Session, cohort: Cohort) -> Funding:
    budget = cohort_account(session, cohort, BUDGET)
    return Funding(
        funded=budget.credits_posted,
        available=budget.available,
        issued=budget.debits_posted,
    )


def _loggable_value(value):
    return value.isoformat() if isinstance(value, date) else value


def _loggable(settings: CohortSettings) -> dict:
    # Cohort settings are programme data, not personal data: safe to keep in the log.
    return {name: _loggable_value(value) for name, value in settings.__dict__.items()}
