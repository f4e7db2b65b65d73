"""Booking sessions with vouchers, and partners confirming them.

Booking holds one credit (a pending transfer from the holder's wallet to the cohort's
redeemed account) and issues a voucher code. Confirming posts that credit and, in the same
batch, moves the cohort's per-session value from programme funding to the partner's payable:
one transaction, so a session is either used and paid for, or neither.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.errors import (
    DebitsExceedCredits,
    DomainError,
    Forbidden,
    InvalidInput,
    PendingTransferAlreadyResolved,
    PendingTransferExpired,
)
from grants.core.funding import wallet_account
from grants.core.i18n import _
from grants.core.ledger import NewTransfer, TransferKind, apply_transfers, expire_hold, open_account
from grants.core.models.cohorts import Cohort, CohortStatus
from grants.core.models.partners import Partner, PartnerKind, PartnerRegion, Voucher, VoucherStatus
from grants.core.models.people import User
from grants.core.money_ledger import funding_account, payable_account
from grants.core.session_totals import count_paid_session
from grants.core.wallet import available_now

REDEEMED = "redeemed"  # the cohort's account that used credits end in
VALID_DAYS = 90  # a voucher not confirmed within this lapses and its credit comes back
# Letters and digits that cannot be mistaken for one another, read aloud or handwritten: no
# O/0, I/1/L, S/5, B/8, Z/2, G/6 or U/V (the second of each pair is kept).
ALPHABET = "ACDEFHJKMNPQRTUWXY234679"
CODE_LENGTH = 8
_NAMESPACE = uuid.UUID("3b8f5d2e-6a1c-4d7b-9e0f-c4a2b1d3e5f6")


class NoCreditToBook(DomainError):
    """The holder has no credit available in the cohort."""


class VoucherRefused(DomainError):
    """A code that cannot be confirmed (unknown, another partner's, cancelled, expired...)."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def show_code(code: str) -> str:
    """ "ACDE2467" -> "ACDE-2467", easier to read out and type."""
    return f"{code[:4]}-{code[4:]}"


def normalise_code(typed: str) -> str:
    """What someone typed, as stored: capitals, no spaces or hyphens."""
    return "".join(ch for ch in (typed or "").upper() if ch.isalnum())


def partners_for(session: Session, cohort: Cohort) -> list[Partner]:
    """Active therapy partners serving the cohort's region, paid in its currency."""
    return session.scalars(
        select(Partner)
        .join(PartnerRegion, PartnerRegion.partner_id == Partner.id)
        .where(
            Partner.active,
            Partner.kind == PartnerKind.THERAPY,
            Partner.currency == cohort.currency,
            PartnerRegion.region == cohort.region,
        )
        .order_by(Partner.name)
    ).all()


def book_session(
    session: Session, actor: User, cohort: Cohort, partner_id: int, *, transfer_id: uuid.UUID
) -> Voucher:
    """Hold one credit and issue a voucher. `transfer_id` comes from the form, so a double
    submit books once."""
    earlier = session.scalar(select(Voucher).where(Voucher.hold_transfer_id == transfer_id))
    if earlier is not None and earlier.holder_id == actor.id:
        return earlier
    if cohort.status == CohortStatus.CLOSED:
        raise InvalidInput(
            _("%(cohort)s has closed; no new sessions can be booked.", cohort=cohort.name)
        )
    partner = session.get(Partner, partner_id)
    if partner is None or partner not in partners_for(session, cohort):
        raise InvalidInput(_("Choose one of the partners listed for this programme."))
    wallet = wallet_account(session, cohort, actor.id)
    redeemed = open_account(session, cohort.ledger, REDEEMED)
    try:
        [hold] = apply_transfers(
            session,
            [
                NewTransfer(
                    id=transfer_id,
                    debit_account_id=wallet.id,
                    credit_account_id=redeemed.id,
                    amount=1,
                    kind=TransferKind.PENDING,
                    timeout=VALID_DAYS * 86400,
                    code="booking",
                )
            ],
        )
    except DebitsExceedCredits:
        raise NoCreditToBook(
            _(
                "You have no sessions available in %(cohort)s to book with "
                "(%(available)s available).",
                cohort=cohort.name,
                available=available_now(session, wallet),
            )
        ) from None
    voucher = Voucher(
        cohort_id=cohort.id,
        holder_id=actor.id,
        partner_id=partner.id,
        status=VoucherStatus.BOOKED,
        hold_transfer_id=hold.id,
        expires_at=hold.expires_at,
        # The currency the session will be paid in, fixed now: confirmation must agree.
        currency=cohort.currency,
    )
    for _attempt in range(5):  # a clash of random codes is rare; try another
        voucher.code = new_code()
        if session.scalar(select(Voucher.id).where(Voucher.code == voucher.code)) is None:
            break
    session.add(voucher)
    session.flush()
    audit.record(
        session, actor, "voucher.book", voucher, partner_id=partner.id, cohort_id=cohort.id
    )
    return voucher


def _locked(session: Session, **where) -> Voucher | None:
    query = select(Voucher).filter_by(**where).with_for_update(of=Voucher)
    return session.scalar(query.execution_options(populate_existing=True))


def _settle_if_lapsed(session: Session, voucher: Voucher) -> bool:
    if voucher.status != VoucherStatus.BOOKED or clock.now() < voucher.expires_at:
        return False
    expire_hold(session, voucher.hold_transfer_id)
    voucher.status, voucher.resolved_at = VoucherStatus.EXPIRED, clock.now()
    audit.record(session, None, "voucher.expire", voucher)
    return True


def cancel_booking(session: Session, actor: User, voucher_id: int) -> Voucher:
    voucher = _locked(session, id=voucher_id)
    if voucher is None or voucher.holder_id != actor.id:
        raise Forbidden(_("That booking is not yours."))
    if _settle_if_lapsed(session, voucher):
        return voucher
    if voucher.status != VoucherStatus.BOOKED:
        raise VoucherRefused(
            {
                VoucherStatus.CONFIRMED: _("This booking was already confirmed."),
                VoucherStatus.CANCELLED: _("This booking was already cancelled."),
                VoucherStatus.MISSED: _("This booking was already missed."),
                VoucherStatus.EXPIRED: _("This booking was already expired."),
            }[voucher.status]
        )
    try:
        apply_transfers(
            session,
            [
                NewTransfer(
                    id=uuid.uuid5(_NAMESPACE, f"cancel:{voucher.id}"),
                    kind=TransferKind.VOID,
                    pending_id=voucher.hold_transfer_id,
                )
            ],
        )
    except (PendingTransferExpired, PendingTransferAlreadyResolved):
        if _settle_if_lapsed(session, voucher):
            return voucher
        raise VoucherRefused(_("This booking changed a moment ago; reload the page.")) from None
    voucher.status, voucher.resolved_at = VoucherStatus.CANCELLED, clock.now()
    audit.record(session, actor, "voucher.cancel", voucher)
    return voucher


def confirm_session(
    session: Session, actor: User, code: str, session_date: date, *, missed: bool = False
) -> Voucher:
    """A partner confirms the session behind `code` took place on `session_date` (or, with
    `missed`, that it was cancelled late or missed: the cohort's policy then decides whether
    the credit counts as used and the partner is paid, or the credit goes back). A booking
    whose time ran out comes back expired, recorded as such, for the caller to report."""
    if actor.partner_id is None:
        raise Forbidden(_("Only a partner can confirm sessions."))
    voucher = _locked(session, code=normalise_code(code))
    # One answer for a code that does not exist and one that is another partner's: the
    # portal must not help anyone find out which codes are real.
    if voucher is None or voucher.partner_id != actor.partner_id:
        raise VoucherRefused(
            _("No booking with your organisation has that code. Check it and try again.")
        )
    if _settle_if_lapsed(session, voucher):
        return voucher  # expired, and recorded so: the caller tells the partner
    if voucher.status == VoucherStatus.CANCELLED:
        raise VoucherRefused(_("That booking was cancelled by the person who made it."))
    if voucher.status in (VoucherStatus.CONFIRMED, VoucherStatus.MISSED):
        raise VoucherRefused(
            _(
                "That code was already confirmed (session of %(when)s).",
                when=voucher.session_date,
            )
            if voucher.session_date
            else _("That code was already confirmed (session of earlier).")
        )
    if voucher.status != VoucherStatus.BOOKED:
        raise VoucherRefused(
            {
                VoucherStatus.CONFIRMED: _("That booking was already confirmed."),
                VoucherStatus.CANCELLED: _("That booking was already cancelled."),
                VoucherStatus.MISSED: _("That booking was already missed."),
                VoucherStatus.EXPIRED: _("That booking was already expired."),
            }[voucher.status]
        )
    if voucher.holder_id == actor.id:
        raise VoucherRefused(_("You cannot confirm a session you booked yourself."))
    # A day of slack either way: the server counts days in UTC, the clinic in its own zone.
    today = clock.now().date()
    if session_date > today + timedelta(days=1):
        raise InvalidInput(_("The session date cannot be in the future."))
    if session_date < voucher.created_at.date() - timedelta(days=1):
        raise InvalidInput(_("The session date cannot be before the booking was made."))
    cohort = voucher.cohort
    if cohort.currency != voucher.currency or voucher.partner.currency != voucher.currency:
        raise VoucherRefused(
            _(
                "The currency for this booking has changed since it was made, so it cannot be "
                "confirmed here. Please contact programme staff."
            )
        )

    pays = not missed or cohort.missed_session_policy == "pay"
    batch = [
        NewTransfer(
            id=uuid.uuid5(_NAMESPACE, f"use:{voucher.id}"),
            kind=TransferKind.POST if pays else TransferKind.VOID,
            pending_id=voucher.hold_transfer_id,
        )
    ]
    payment_id = uuid.uuid5(_NAMESPACE, f"pay:{voucher.id}")
    if pays:
        # The partner is owed the cohort's per-session value as it is today: snapshotted on
        # the transfer (and the voucher), whatever the cohort's setting becomes later.
        batch.append(
            NewTransfer(
                id=payment_id,
                debit_account_id=funding_account(session, cohort.currency).id,
                credit_account_id=payable_account(session, voucher.partner_id, cohort.currency).id,
                amount=cohort.session_value,
                code="session",
            )
        )
    try:
        apply_transfers(session, batch)
    except (PendingTransferExpired, PendingTransferAlreadyResolved):
        if _settle_if_lapsed(session, voucher):
            return voucher
        raise VoucherRefused(_("This booking changed a moment ago; try again.")) from None
    voucher.status = VoucherStatus.MISSED if missed else VoucherStatus.CONFIRMED
    voucher.session_date, voucher.resolved_at = session_date, clock.now()
    voucher.confirmed_by_id = actor.id
    if pays:
        voucher.amount = cohort.session_value
        voucher.payment_transfer_id = payment_id
        count_paid_session(session, voucher)
    audit.record(
        session, actor, "voucher.missed" if missed else "voucher.confirm", voucher, paid=pays
    )
    return voucher


def lapsed_voucher_ids(session: Session, *, limit: int = 500) -> list[int]:
    return session.scalars(
        select(Voucher.id)
        .where(Voucher.status == VoucherStatus.BOOKED, Voucher.expires_at <= clock.now())
        .order_by(Voucher.id)
        .limit(limit)
    ).all()


def expire_voucher(session: Session, voucher_id: int) -> bool:
    voucher = _locked(session, id=voucher_id)
    return voucher is not None and _settle_if_lapsed(session, voucher)
