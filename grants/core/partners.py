"""Partners: setting them up, their users, and partner grants (money given directly,
proposed by one member of staff and approved by another)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.countries import normalise_country
from grants.core.db import insert_or_fetch
from grants.core.errors import DomainError, Forbidden, InvalidInput
from grants.core.i18n import _
from grants.core.ledger import NewTransfer, apply_transfers
from grants.core.models.partners import (
    Partner,
    PartnerGrant,
    PartnerGrantStatus,
    PartnerKind,
    PartnerRegion,
    Voucher,
    VoucherStatus,
)
from grants.core.models.people import Role, User, UserRole
from grants.core.money import CURRENCIES
from grants.core.money_ledger import funding_account, payable_account
from grants.core.people import normalise_email, request_password_reset

MAX_GRANT = 100_000_000  # minor units: 1,000,000.00
_NAMESPACE = uuid.UUID("7c3e9a1d-2f4b-4e8a-b6d0-1a9f8e7d6c52")


class PartnerExists(DomainError):
    """Partner names are unique."""


class PartnerGrantDecided(DomainError):
    """Someone else decided (or withdrew) the partner grant first."""


@dataclass(frozen=True)
class PartnerSettings:
    name: str
    kind: str
    currency: str
    regions: tuple[str, ...]
    contact_name: str = ""
    contact_email: str = ""
    payout_reference: str = ""  # as typed; only a masked form is kept
    active: bool = True


def mask_reference(reference: str) -> str:
    """What is kept of a payout reference: its last 4 characters ("•••• 6819"), enough to
    recognise it and too little to use. A short one keeps less, so the mask never shows
    most of it."""
    digits = re.sub(r"\s+", "", reference or "")
    if not digits:
        return ""
    shown = 4 if len(digits) >= 10 else 2 if len(digits) >= 6 else 0
    return "••••" + (" " + digits[-shown:] if shown else "")


def _checked(settings: PartnerSettings) -> PartnerSettings:
    name = settings.name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Give the partner a name of 1 to 200 characters."))
    if settings.kind not in tuple(PartnerKind):
        raise InvalidInput(_("Choose what kind of partner this is."))
    if settings.currency not in CURRENCIES:
        raise InvalidInput(
            _("The currency must be one of %(currencies)s.", currencies=", ".join(CURRENCIES))
        )
    regions = tuple(sorted({normalise_country(r) for r in settings.regions}))
    if not regions:
        raise InvalidInput(_("Choose at least one region the partner serves."))
    email = normalise_email(settings.contact_email) if settings.contact_email.strip() else ""
    if len(settings.payout_reference) > 64:
        raise InvalidInput(_("That payout reference is too long."))
    return PartnerSettings(
        name=name,
        kind=settings.kind,
        currency=settings.currency,
        regions=regions,
        contact_name=settings.contact_name.strip()[:200],
        contact_email=email,
        payout_reference=settings.payout_reference,
        active=settings.active,
    )


def save_partner(
    session: Session, actor: User, settings: PartnerSettings, partner: Partner | None = None
) -> Partner:
    """Create a partner, or update `partner`. An empty payout reference keeps the old one."""
    settings = _checked(settings)
    twin = session.scalar(select(Partner.id).where(Partner.name == settings.name))
    if twin is not None and (partner is None or twin != partner.id):
        raise PartnerExists(_("There is already a partner called %(name)s.", name=settings.name))
    creating = partner is None
    if not creating and settings.currency != partner.currency:
        _refuse_currency_change(session, partner)
    if creating:
        partner = Partner(payout_reference="")
        session.add(partner)
    partner.name, partner.kind, partner.currency = settings.name, settings.kind, settings.currency
    partner.contact_name, partner.contact_email = settings.contact_name, settings.contact_email
    partner.active = settings.active
    if settings.payout_reference.strip():
        partner.payout_reference = mask_reference(settings.payout_reference)
    partner.regions = [PartnerRegion(region=code) for code in settings.regions]
    session.flush()
    audit.record(
        session,
        actor,
        "partner.create" if creating else "partner.update",
        partner,
        regions=list(settings.regions),
        currency=settings.currency,
        active=settings.active,
    )
    return partner


def _refuse_currency_change(session: Session, partner: Partner) -> None:
    """A partner's currency is what its bookings and what it is owed are counted in: it
    cannot change while either is open."""
    open_booking = session.scalar(
        select(Voucher.id)
        .where(Voucher.partner_id == partner.id, Voucher.status == VoucherStatus.BOOKED)
        .limit(1)
    )
    owed = payable_account(session, partner.id, partner.currency).available
    if open_booking is not None or owed:
        raise InvalidInput(
            _("The currency cannot change while this partner has open bookings or is owed money.")
        )


def add_partner_user(
    session: Session, actor: User, partner: Partner, *, email: str, name: str
) -> User:
    """Give someone at `partner` a login; they get an email to choose their password."""
    email = normalise_email(email)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Give their name (200 characters at most)."))
    query = select(User).where(User.email == email)
    user = session.scalar(query) or insert_or_fetch(
        session, User(email=email, name=name, password_hash=None), query
    )
    if user.partner_id not in (None, partner.id):
        raise InvalidInput(_("That person already acts for another partner."))
    if user.role_names - {Role.PARTNER}:
        # Kept apart on purpose: someone who holds credits, or approves money, must not also
        # confirm sessions for a partner (they could pay a partner for their own booking).
        raise InvalidInput(
            _(
                "That email belongs to someone with another role in the programme; a partner "
                "login needs an email of its own."
            )
        )
    user.partner_id = partner.id
    if not user.has_role(Role.PARTNER):
        user.roles.append(UserRole(role=Role.PARTNER))
    session.flush()
    if user.password_hash is None:
        request_password_reset(session, email)  # the email says: choose your password
    audit.record(session, actor, "partner.user_add", partner, user_id=user.id)
    return user


# --- partner grants -----------------------------------------------------------------------


def propose_partner_grant(
    session: Session,
    actor: User,
    partner: Partner,
    *,
    amount: int,
    purpose: str,
    request_id: uuid.UUID,
) -> PartnerGrant:
    """Propose money for `partner`. `request_id` comes from the form: sent twice, once."""
    earlier = session.scalar(select(PartnerGrant).where(PartnerGrant.request_id == request_id))
    if earlier is not None and earlier.proposed_by_id == actor.id:
        return earlier
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_GRANT:
        raise InvalidInput(_("Enter an amount above zero and at most %(most)s.", most=1_000_000))
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 500:
        raise InvalidInput(_("Say what the money is for (500 characters at most)."))
    if not partner.active:
        raise InvalidInput(_("This partner is not active."))
    grant = PartnerGrant(
        partner_id=partner.id,
        currency=partner.currency,
        amount=amount,
        purpose=purpose,
        status=PartnerGrantStatus.PENDING,
        proposed_by_id=actor.id,
        request_id=request_id,
    )
    session.add(grant)
    session.flush()
    audit.record(
        session,
        actor,
        "partner_grant.propose",
        grant,
        amount=amount,
        currency=partner.currency,
        partner_id=partner.id,
    )
    return grant


def _locked(session: Session, grant_id: int) -> PartnerGrant:
    grant = session.scalar(
        select(PartnerGrant)
        .where(PartnerGrant.id == grant_id)
        .with_for_update(of=PartnerGrant)
        .execution_options(populate_existing=True)
    )
    if grant is None:
        raise InvalidInput(_("There is no such partner grant."))
    if grant.status != PartnerGrantStatus.PENDING:
        raise PartnerGrantDecided(
            {
                PartnerGrantStatus.APPROVED: _("This partner grant was already approved."),
                PartnerGrantStatus.DECLINED: _("This partner grant was already declined."),
                PartnerGrantStatus.WITHDRAWN: _("This partner grant was already withdrawn."),
            }[grant.status]
        )
    return grant


def approve_partner_grant(session: Session, actor: User, grant_id: int) -> PartnerGrant:
    """The second pair of eyes: someone other than the proposer approves, and only then
    does money move from programme funding to the partner's payable."""
    grant = _locked(session, grant_id)
    if grant.proposed_by_id == actor.id:
        raise Forbidden(_("A different member of staff must approve what you proposed."))
    if not grant.partner.active:
        raise InvalidInput(_("This partner is not active; decline the grant instead."))
    transfer_id = uuid.uuid5(_NAMESPACE, f"partner-grant:{grant.id}")
    apply_transfers(
        session,
        [
            NewTransfer(
                id=transfer_id,
                debit_account_id=funding_account(session, grant.currency).id,
                credit_account_id=payable_account(session, grant.partner_id, grant.currency).id,
                amount=grant.amount,
                code="partner_grant",
            )
        ],
    )
    grant.status, grant.transfer_id = PartnerGrantStatus.APPROVED, transfer_id
    grant.decided_by_id, grant.decided_at = actor.id, clock.now()
    audit.record(session, actor, "partner_grant.approve", grant, transfer_id=str(transfer_id))
    return grant


def decline_partner_grant(
    session: Session, actor: User, grant_id: int, message: str
) -> PartnerGrant:
    grant = _locked(session, grant_id)
    if grant.proposed_by_id == actor.id:
        raise Forbidden(_("Withdraw what you proposed; declining is for someone else."))
    message = (message or "").strip()
    if not message or len(message) > 1000:
        raise InvalidInput(_("Write a short reason (1000 characters at most)."))
    grant.status, grant.decline_message = PartnerGrantStatus.DECLINED, message
    grant.decided_by_id, grant.decided_at = actor.id, clock.now()
    audit.record(session, actor, "partner_grant.decline", grant)
    return grant


def withdraw_partner_grant(session: Session, actor: User, grant_id: int) -> PartnerGrant:
    grant = _locked(session, grant_id)
    if grant.proposed_by_id != actor.id:
        raise Forbidden(_("Only the person who proposed it can withdraw it."))
    grant.status, grant.decided_at = PartnerGrantStatus.WITHDRAWN, clock.now()
    audit.record(session, actor, "partner_grant.withdraw", grant)
    return grant
