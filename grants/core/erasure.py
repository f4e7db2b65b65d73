"""Erasing a person on request: their identity goes, the record of what happened stays.

What goes: name and email (the email becomes a unique placeholder, so the constraints on
it hold), the artist name on their enrolments, gift messages they wrote or received, the
name a giver wrote for them, decline messages addressed to them, email waiting for them
(and the address and parameters of email already sent to them), their login sessions,
recovery codes, two-factor secret, password and language settings, their row in any CSV
still waiting in a preview, and a partner's contact details where they were the contact.

What stays: ids, counts, dates and states, the ledger (accounts and transfers carry ids and
amounts only, so `ledger verify` keeps passing), and the audit log, which holds ids.

Anything still in motion is settled first through the operations that settle it, so the
ledger stays right: gifts they sent that wait for an answer are revoked, gifts to them are
declined (the giver gets the sessions back), open funding requests are withdrawn, an
invitation is withdrawn and an active place closed. Bookings a partner has not confirmed
yet are not cancelled unless asked: the session may have taken place, and cancelling it
means the partner is never paid for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.enrolment import close_enrolment, revoke_invitation
from grants.core.errors import DomainError
from grants.core.funding import withdraw_request
from grants.core.gifts import GiftNotOpen, decline_gift, revoke_gift
from grants.core.i18n import _, ngettext
from grants.core.models.cohorts import Enrolment, EnrolmentStatus
from grants.core.models.funding import OPEN_STATES, Grant
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.imports import EnrolmentImport
from grants.core.models.outbox import OutboxMessage, OutboxStatus
from grants.core.models.partners import Partner, Voucher, VoucherStatus
from grants.core.models.people import Role, User, UserRole
from grants.core.models.sessions import LoginSession, RecoveryCode
from grants.core.vouchers import VoucherRefused, cancel_booking

# RFC 2606 reserves .invalid: nothing sent there can ever be delivered.
ERASED_DOMAIN = "erased.invalid"


class ErasureRefused(DomainError):
    """The person cannot be erased yet (the last admin, or bookings still to confirm)."""


class BookingsToConfirm(ErasureRefused):
    """They hold bookings no partner has confirmed yet, and cancelling was not asked for."""


def erased_label(user_id: int) -> str:
    """What stands in for an erased person's name: an id, in no language."""
    return f"erased-{user_id}"


def erased_email(user_id: int) -> str:
    return f"{erased_label(user_id)}@{ERASED_DOMAIN}"


@dataclass
class ErasureReport:
    """What erasing did, in counts (for the operator; no names)."""

    user_id: int
    gifts_revoked: int = 0
    gifts_declined: int = 0
    requests_withdrawn: int = 0
    bookings_cancelled: int = 0
    invitations_withdrawn: int = 0
    places_closed: int = 0
    emails_deleted: int = 0
    emails_blanked: int = 0


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )


def _ids(session: Session, query) -> list[int]:
    return list(session.scalars(query).all())


def erase_person(
    session: Session, actor: User | None, user_id: int, *, cancel_bookings: bool = False
) -> ErasureReport:
    """Erase the identity of user `user_id` (see the module's docstring). `actor` is None
    for the command line. Flushes, never commits: the caller commits once."""
    user = session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise ErasureRefused(_("There is no such person."))
    if user.active and user.has_role(Role.ADMIN) and _active_admins(session) <= 1:
        raise ErasureRefused(_("This is the last active admin: enable or add another first."))
    now = clock.now()
    booked = _ids(
        session,
        select(Voucher.id)
        .where(
            Voucher.holder_id == user.id,
            Voucher.status == VoucherStatus.BOOKED,
        )
        .order_by(Voucher.id),
    )
    live = session.scalar(
        select(func.count())
        .select_from(Voucher)
        .where(Voucher.id.in_(booked), Voucher.expires_at > now)
    )
    if live and not cancel_bookings:
        raise BookingsToConfirm(
            ngettext(
                "This person has %(num)s booked session that the partner has not confirmed "
                "yet. It may have taken place: ask the partner to confirm it first, or "
                "cancel it (the partner is then not paid for it).",
                "This person has %(num)s booked sessions that the partner has not confirmed "
                "yet. They may have taken place: ask the partner to confirm them first, or "
                "cancel them (the partner is then not paid for them).",
                live,
            )
        )

    report = ErasureReport(user_id=user.id)
    # Settle what is in motion, through the operations that settle it. Something settled
    # a moment ago by someone else (a partner confirming, a gift accepted) is left as is.
    for voucher_id in booked:
        try:
            voucher = cancel_booking(session, user, voucher_id)
        except VoucherRefused:
            continue
        report.bookings_cancelled += voucher.status == VoucherStatus.CANCELLED
    waiting = Gift.status == GiftStatus.PENDING
    for gift_id in _ids(session, select(Gift.id).where(Gift.giver_id == user.id, waiting)):
        try:
            gift = revoke_gift(session, user, gift_id)
        except GiftNotOpen:
            continue
        report.gifts_revoked += gift.status == GiftStatus.REVOKED
    for gift_id in _ids(session, select(Gift.id).where(Gift.recipient_id == user.id, waiting)):
        try:
            gift = decline_gift(session, gift_id, None)
        except GiftNotOpen:
            continue
        report.gifts_declined += gift.status == GiftStatus.DECLINED
    for grant in session.scalars(
        select(Grant).where(Grant.user_id == user.id, Grant.status.in_(OPEN_STATES))
    ).all():
        withdraw_request(session, user, grant)
        report.requests_withdrawn += 1
    for enrolment in session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user.id,
            Enrolment.status.in_([EnrolmentStatus.INVITED, EnrolmentStatus.ACTIVE]),
        )
    ).all():
        if enrolment.status == EnrolmentStatus.INVITED:
            revoke_invitation(session, actor, enrolment)
            report.invitations_withdrawn += 1
        else:
            close_enrolment(session, actor, enrolment)
            report.places_closed += 1

    old_email = user.email
    _forget_identity(session, user, report, old_email)
    session.flush()
    audit.record(session, actor, "person.erase", user)
    return report


def _forget_identity(session: Session, user: User, report: ErasureReport, old_email: str):
    label = erased_label(user.id)
    user.email = erased_email(user.id)
    user.name = label
    user.password_hash = None
    user.locale = user.browser_locale = None
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.active = False
    user.session_generation += 1  # any cookie it had stops working
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))

    for enrolment in session.scalars(select(Enrolment).where(Enrolment.user_id == user.id)):
        enrolment.artist_name = ""
        enrolment.invite_nonce = None
    for gift in session.scalars(select(Gift).where(Gift.recipient_id == user.id)):
        gift.recipient_name = label  # as the giver wrote it: their name
        gift.message = ""
        gift.nonce = None
    for gift in session.scalars(select(Gift).where(Gift.giver_id == user.id)):
        gift.message = ""  # what they wrote; the recipient's name is the recipient's
    for grant in session.scalars(
        select(Grant).where(Grant.user_id == user.id, Grant.decline_message.is_not(None))
    ):
        grant.decline_message = None

    # Email to them: what waits is dropped; what went keeps only its row (that it was sent).
    for message in session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == old_email)
    ):
        if message.status == OutboxStatus.SENT:
            message.to_address, message.params = "", {}
            report.emails_blanked += 1
        else:
            session.delete(message)
            report.emails_deleted += 1

    for staged in session.scalars(
        select(EnrolmentImport).where(EnrolmentImport.status == "preview")
    ):
        kept = [row for row in staged.rows or [] if (row.get("email") or "").lower() != old_email]
        if len(kept) != len(staged.rows or []):
            staged.rows = kept
            staged.row_count = len(kept)
    for partner in session.scalars(select(Partner).where(Partner.contact_email == old_email)):
        partner.contact_name = partner.contact_email = ""
