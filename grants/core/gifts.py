"""Gifting credits to bandmates and crew.

A gift is a pending ledger transfer from the giver's wallet to the recipient's, in one
cohort. Accepting posts it; declining or revoking voids it; when its time runs out it
expires. Each of these locks the gift's row first, so when they race exactly one wins. The
giver is told the gift's state and nothing else.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grants.core import audit, outbox, passwords
from grants.core.bulk import one_of
from grants.core.clock import clock
from grants.core.db import insert_or_fetch
from grants.core.enrolment import ConsentChanged, current_consent
from grants.core.errors import (
    DebitsExceedCredits,
    DomainError,
    Forbidden,
    InvalidInput,
    PendingTransferAlreadyResolved,
    PendingTransferExpired,
)
from grants.core.funding import wallet_account
from grants.core.i18n import Message, _, ngettext
from grants.core.ledger import (
    NewTransfer,
    TransferKind,
    apply_transfers,
    expire_hold,
    expire_holds,
)
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.gifts import Gift, GiftStatus, Relationship
from grants.core.models.people import Role, User, UserRole
from grants.core.people import normalise_email
from grants.core.sweep import sweep
from grants.core.wallet import available_now

MESSAGE_LIMIT = 280
_NAMESPACE = uuid.UUID("4a7e2b19-0c6d-4f3e-9b1a-8d5c6e7f2a30")


class GiftRuleBroken(DomainError):
    """One of the cohort's gift rules (or a common-sense one) refuses this gift."""


class NotEnoughCredits(DomainError):
    """The giver does not have that many credits available."""

    field = "sessions"


class GiftNotOpen(DomainError):
    """The gift was already accepted, declined, revoked or expired."""


class GiftLinkNotValid(DomainError):
    """The link does not belong to this gift (or the gift was resolved)."""


def _whole(sessions) -> int:
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
        raise InvalidInput(_("Gift a whole number of sessions, at least 1."))
    return sessions


def _lock_giver(session: Session, actor: User) -> None:
    # The giver's own row is locked for the whole check, so two gifts from one person at the
    # same moment are judged one after the other against the rules. Not an account: the
    # ledger locks accounts itself, in id order, and a lock taken here first could cross it.
    session.scalar(select(User.id).where(User.id == actor.id).with_for_update())


def gift_credits(
    session: Session,
    actor: User,
    cohort: Cohort,
    *,
    recipient_name: str,
    recipient_email: str,
    relationship: str,
    message: str,
    sessions: int,
    transfer_id: uuid.UUID,
    locale: str = "en",
) -> Gift:
    """Gift `sessions` credits. `transfer_id` comes from the form: sent twice, it gifts once."""
    sessions = _whole(sessions)
    name = (recipient_name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(_("Give the recipient's name (200 characters at most)."))
    if relationship not in tuple(Relationship):
        raise InvalidInput(_("Choose how you know them."))
    message = (message or "").strip()
    if len(message) > MESSAGE_LIMIT:
        raise InvalidInput(_("Keep the message to %(limit)s characters.", limit=MESSAGE_LIMIT))
    email = normalise_email(recipient_email)
    if email == actor.email:
        raise GiftRuleBroken(_("You cannot gift sessions to yourself."))
    if cohort.status == CohortStatus.CLOSED:
        raise GiftRuleBroken(
            _("%(cohort)s has closed; its sessions can no longer be gifted.", cohort=cohort.name)
        )

    _lock_giver(session, actor)
    earlier = session.scalar(select(Gift).where(Gift.transfer_id == transfer_id))
    if earlier is not None and earlier.giver_id == actor.id:
        return earlier  # the same form sent twice: it happened once
    _check_may_gift(session, actor, cohort)
    wallet = wallet_account(session, cohort, actor.id)
    # The giver's gifts whose time ran out are settled first, so they neither count against
    # the rules nor block a new gift to the same person.
    lapsed = select(Gift.id).where(
        Gift.giver_id == actor.id,
        Gift.cohort_id == cohort.id,
        Gift.status == GiftStatus.PENDING,
        Gift.expires_at <= clock.now(),
    )
    for lapsed_id in session.scalars(lapsed).all():
        _settle_if_lapsed(session, _locked(session, lapsed_id))

    query = select(User).where(User.email == email)
    recipient = session.scalar(query)
    if recipient is None:
        # No password and no role: the account is only usable once they accept. Two givers
        # naming the same new address at once end up with the one account.
        recipient = insert_or_fetch(
            session, User(email=email, name=name, password_hash=None), query
        )
    if not recipient.active:
        raise GiftRuleBroken(_("Sessions cannot be gifted to that address."))
    _check_rules(session, actor, cohort, recipient, name, sessions)

    recipient_wallet = wallet_account(session, cohort, recipient.id)
    try:
        [hold] = apply_transfers(
            session,
            [
                NewTransfer(
                    id=transfer_id,
                    debit_account_id=wallet.id,
                    credit_account_id=recipient_wallet.id,
                    amount=sessions,
                    kind=TransferKind.PENDING,
                    timeout=cohort.gift_expiry_days * 86400,
                    code="gift",
                )
            ],
        )
    except DebitsExceedCredits:
        available = available_now(session, wallet)
        raise NotEnoughCredits(
            ngettext(
                "You have %(num)s session available to gift in %(cohort)s.",
                "You have %(num)s sessions available to gift in %(cohort)s.",
                available,
                cohort=cohort.name,
            )
        ) from None
    gift = Gift(
        cohort_id=cohort.id,
        giver_id=actor.id,
        recipient_id=recipient.id,
        recipient_name=name,
        relationship_=relationship,
        message=message,
        sessions=sessions,
        status=GiftStatus.PENDING,
        transfer_id=hold.id,
        nonce=secrets.token_hex(16),
        expires_at=hold.expires_at,
    )
    session.add(gift)
    session.flush()
    outbox.enqueue(
        session,
        to=recipient.email,
        template="gift_received",
        params={"gift_id": gift.id, "nonce": gift.nonce},
        locale=recipient.language or locale,
    )
    audit.record(
        session,
        actor,
        "gift.send",
        gift,
        sessions=sessions,
        cohort_id=cohort.id,
        recipient_id=recipient.id,
    )
    return gift


def _check_may_gift(session: Session, actor: User, cohort: Cohort) -> None:
    """Ambassadors of the cohort may gift; people who were gifted credits only if the
    cohort allows passing them on."""
    own_place = session.scalar(
        select(Enrolment.id).where(
            Enrolment.cohort_id == cohort.id,
            Enrolment.user_id == actor.id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    )
    if own_place is None and not cohort.allow_regift:
        raise GiftRuleBroken(
            _(
                "In %(cohort)s, sessions that were gifted to you cannot be passed on.",
                cohort=cohort.name,
            )
        )


def _check_rules(session, actor, cohort, recipient, name, sessions) -> None:
    if recipient.id == actor.id:
        raise GiftRuleBroken(_("You cannot gift sessions to yourself."))
    now = clock.now()
    live = (Gift.status == GiftStatus.PENDING) & (Gift.expires_at > now)
    mine = (Gift.cohort_id == cohort.id) & (Gift.giver_id == actor.id)
    waiting_for_them = session.scalar(
        select(Gift.id).where(mine, live, Gift.recipient_id == recipient.id)
    )
    if waiting_for_them is not None:
        # Refused rather than merged: one gift, one link, one decision for the recipient.
        raise GiftRuleBroken(
            _(
                "You already have a gift waiting for %(name)s. Revoke it first if you want to "
                "send a different one.",
                name=name,
            )
        )
    waiting = session.scalar(select(func.count()).select_from(Gift).where(mine, live))
    if waiting >= cohort.open_gift_limit:
        raise GiftRuleBroken(
            ngettext(
                "You have %(num)s gift waiting for an answer, the most %(cohort)s allows. "
                "Wait for one to be answered, or revoke one.",
                "You have %(num)s gifts waiting for an answer, the most %(cohort)s allows. "
                "Wait for one to be answered, or revoke one.",
                waiting,
                cohort=cohort.name,
            )
        )
    given = session.scalar(
        select(func.coalesce(func.sum(Gift.sessions), 0)).where(
            mine, Gift.recipient_id == recipient.id, live | (Gift.status == GiftStatus.ACCEPTED)
        )
    )
    if given + sessions > cohort.gift_limit_per_recipient:
        room = max(cohort.gift_limit_per_recipient - given, 0)
        raise GiftRuleBroken(
            ngettext(
                "In %(cohort)s one person can receive at most %(num)s session from you; "
                "you can gift %(name)s %(room)s more.",
                "In %(cohort)s one person can receive at most %(num)s sessions from you; "
                "you can gift %(name)s %(room)s more.",
                cohort.gift_limit_per_recipient,
                cohort=cohort.name,
                name=name,
                room=room,
            ),
            field="sessions",
        )


# --- resolving ------------------------------------------------------------------------


def _locked(session: Session, gift_id: int) -> Gift | None:
    return session.scalar(
        select(Gift)
        .where(Gift.id == gift_id)
        .with_for_update(of=Gift)
        .execution_options(populate_existing=True)
    )


def _settle_if_lapsed(session: Session, gift: Gift) -> bool:
    """Record a pending gift whose time ran out as expired (the credits go back), and say
    whether that happened. Every action calls this first: past its time, a gift is expired
    whether or not the sweep has come by."""
    if gift.status != GiftStatus.PENDING or clock.now() < gift.expires_at:
        return False
    expire_hold(session, gift.transfer_id)
    _close(gift, GiftStatus.EXPIRED)
    audit.record(session, None, "gift.expire", gift)
    _tell_giver(session, gift)
    return True


def _close(gift: Gift, status: str) -> None:
    gift.status = status
    gift.nonce = None
    gift.resolved_at = clock.now()


def _open_gift(session: Session, gift_id: int, nonce: str | None) -> Gift:
    gift = _locked(session, gift_id)
    if gift is None or (
        nonce is not None and not (gift.nonce and secrets.compare_digest(gift.nonce, str(nonce)))
    ):
        if gift is not None and gift.status != GiftStatus.PENDING:
            raise GiftNotOpen(_gift_already(gift.status))
        raise GiftLinkNotValid(_("This gift link is not valid."))
    return gift


def _still_pending(gift: Gift) -> None:
    if gift.status != GiftStatus.PENDING:
        raise GiftNotOpen(_gift_already(gift.status))


def _gift_already(status: str) -> Message:
    """A gift's state in a whole sentence, so each language can agree its words with "gift"."""
    return {
        GiftStatus.ACCEPTED: _("This gift was already accepted."),
        GiftStatus.DECLINED: _("This gift was already declined."),
        GiftStatus.REVOKED: _("This gift was already revoked."),
        GiftStatus.EXPIRED: _("This gift was already expired."),
    }[status]


def accept_gift(
    session: Session,
    gift_id: int,
    nonce: str | None,
    *,
    consent_text_id: int,
    signed_in: User | None = None,
    new_password: str | None = None,
    current_password: str | None = None,
    locale: str = "en",
) -> Gift:
    """Accept a gift: its credits become the recipient's. Someone new sets a password;
    someone with an account confirms theirs unless they are logged in as the recipient.
    Returns the gift; if its time had run out, it comes back expired, recorded as such."""
    gift = _open_gift(session, gift_id, nonce)
    if _settle_if_lapsed(session, gift):
        return gift
    _still_pending(gift)
    if gift.cohort.status == CohortStatus.CLOSED:
        raise GiftNotOpen(
            _(
                "%(cohort)s has closed; its gifts can no longer be accepted.",
                cohort=gift.cohort.name,
            )
        )
    user = gift.recipient
    if not user.active:
        raise GiftLinkNotValid(_("This account is disabled. Please contact programme staff."))
    if signed_in is not None and signed_in.id != user.id:
        raise Forbidden(_("This gift is for someone else. Log out, then open the link again."))
    consent = current_consent(session, gift.cohort.programme_id)
    if consent_text_id != consent.id:
        raise ConsentChanged(
            _("The consent text changed while this page was open. Please read it again.")
        )
    if signed_in is None:
        if user.password_hash is None:
            problem = passwords.password_problem(new_password or "")
            if problem:
                raise InvalidInput(problem)
            user.password_hash = passwords.hash_password(new_password)
        elif not passwords.verify_password(user.password_hash, current_password or ""):
            raise InvalidInput(_("That is not the password of this account."))
    try:
        apply_transfers(
            session,
            [
                NewTransfer(
                    id=uuid.uuid5(_NAMESPACE, f"accept:{gift.id}"),
                    kind=TransferKind.POST,
                    pending_id=gift.transfer_id,
                )
            ],
        )
    except (PendingTransferExpired, PendingTransferAlreadyResolved):
        # Its last second passed while the form was filled in (and the ledger may already
        # have let the hold lapse): it is expired.
        _settle_if_lapsed(session, gift)
        return gift
    if not user.has_role(Role.AMBASSADOR, Role.RECIPIENT):
        user.roles.append(UserRole(role=Role.RECIPIENT))
    _close(gift, GiftStatus.ACCEPTED)
    gift.consent_text_id = consent.id
    audit.record(session, user, "gift.accept", gift, consent_version=consent.version)
    _tell_giver(session, gift, locale)
    return gift


def decline_gift(
    session: Session,
    gift_id: int,
    nonce: str | None,
    signed_in: User | None = None,
    *,
    locale: str = "en",
) -> Gift:
    gift = _open_gift(session, gift_id, nonce)
    if signed_in is not None and signed_in.id != gift.recipient_id:
        raise Forbidden(_("This gift is for someone else."))
    if _settle_if_lapsed(session, gift):
        return gift
    _still_pending(gift)
    if not _void(session, gift, "decline"):
        return gift
    _close(gift, GiftStatus.DECLINED)
    audit.record(session, gift.recipient, "gift.decline", gift)
    _tell_giver(session, gift, locale)
    return gift


def revoke_gift(session: Session, actor: User, gift_id: int) -> Gift:
    gift = _locked(session, gift_id)
    if gift is None or gift.giver_id != actor.id:
        raise Forbidden(_("That gift is not yours."))
    if _settle_if_lapsed(session, gift):
        return gift
    _still_pending(gift)
    if not _void(session, gift, "revoke"):
        return gift
    _close(gift, GiftStatus.REVOKED)
    audit.record(session, actor, "gift.revoke", gift)
    return gift


def _void(session: Session, gift: Gift, why: str) -> bool:
    """Void the hold; False (and the gift settled as expired) if its time ran out first."""
    try:
        apply_transfers(
            session,
            [
                NewTransfer(
                    id=uuid.uuid5(_NAMESPACE, f"{why}:{gift.id}"),
                    kind=TransferKind.VOID,
                    pending_id=gift.transfer_id,
                )
            ],
        )
    except (PendingTransferExpired, PendingTransferAlreadyResolved):
        _settle_if_lapsed(session, gift)
        return False
    return True


def lapsed_gift_ids(session: Session, *, limit: int = 500) -> list[int]:
    """Pending gifts past their time, for the sweep."""
    return session.scalars(
        select(Gift.id)
        .where(Gift.status == GiftStatus.PENDING, Gift.expires_at <= clock.now())
        .order_by(Gift.id)
        .limit(limit)
    ).all()


def expire_gift(session: Session, gift_id: int) -> bool:
    """Settle one gift whose time ran out; False if it was settled already (by another
    sweeper, or an answer that came first). The sweep gives each gift its own transaction,
    so it holds few locks and a conflict costs one gift, not the batch."""
    gift = _locked(session, gift_id)
    return gift is not None and _settle_if_lapsed(session, gift)


def expire_gifts(session: Session, gift_ids: list[int]) -> int:
    """Settle many gifts whose time ran out in one transaction, each as expire_gift would
    (the hold expired, the gift closed, an audit entry, the giver told), in a handful of
    statements for them all: a backlog of thousands then takes seconds, not minutes.

    A gift another transaction holds (someone answering it right now) is skipped rather
    than waited for: that answer settles it, or the next sweep does. Returns how many were
    settled here."""
    now = clock.now()
    lapsed = session.execute(
        select(Gift.id, Gift.transfer_id, User.email, User.locale, User.browser_locale)
        .join(User, User.id == Gift.giver_id)
        .where(
            one_of(session, Gift.id, gift_ids),
            Gift.status == GiftStatus.PENDING,
            Gift.expires_at <= now,
        )
        .order_by(Gift.id)
        .with_for_update(of=Gift, skip_locked=True)
    ).all()
    if not lapsed:
        return 0
    expire_holds(session, [gift.transfer_id for gift in lapsed])
    ids = [gift.id for gift in lapsed]
    session.execute(
        update(Gift)
        .where(one_of(session, Gift.id, ids))
        .values(status=GiftStatus.EXPIRED, nonce=None, resolved_at=now),
        execution_options={"synchronize_session": False},
    )
    audit.record_many(session, None, "gift.expire", Gift.__name__, ids)
    outbox.enqueue_many(
        session,
        [
            {
                "to": gift.email,
                "template": "gift_update",
                "params": {"gift_id": gift.id},
                "locale": gift.locale or gift.browser_locale or "en",
            }
            for gift in lapsed
        ],
    )
    return len(lapsed)


def sweep_lapsed_gifts(session: Session) -> int:
    """Settle every gift past its time, a page of them per transaction (what the
    scheduled job and `flask gifts expire` run). Returns how many were settled."""
    return sweep(session, lapsed_gift_ids, expire_gift, settle_many=expire_gifts)


def end_pending_gifts(session: Session, actor: User, cohort: Cohort) -> int:
    """When a cohort closes, every gift still waiting ends as expired: its sessions go back
    to the giver, who is told."""
    ended = 0
    for gift_id in session.scalars(
        select(Gift.id).where(Gift.cohort_id == cohort.id, Gift.status == GiftStatus.PENDING)
    ).all():
        gift = _locked(session, gift_id)
        ended += 1
        if _settle_if_lapsed(session, gift) or not _void(session, gift, "close"):
            continue
        _close(gift, GiftStatus.EXPIRED)
        audit.record(session, actor, "gift.expire", gift, reason="cohort closed")
        _tell_giver(session, gift)
    return ended


def _tell_giver(session: Session, gift: Gift, locale: str = "en") -> None:
    giver = gift.giver
    outbox.enqueue(
        session,
        to=giver.email,
        template="gift_update",
        params={"gift_id": gift.id},
        locale=giver.language or locale,
    )
