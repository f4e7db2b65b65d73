"""What a credit holder sees of their own sessions: balances per cohort, and the history of
their movements in plain words. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased, lazyload

from grants.core.clock import clock
from grants.core.funding import WALLET, allowance_left, open_request
from grants.core.i18n import Message, _, ngettext
from grants.core.models.cohorts import Cohort, Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant, GrantKind
from grants.core.models.gifts import RELATIONSHIP_LABELS, Gift, GiftStatus
from grants.core.models.ledger import RESOLVING_KINDS, Account, Transfer
from grants.core.models.partners import Voucher, VoucherStatus
from grants.core.models.people import User


@dataclass
class CohortWallet:
    cohort: Cohort
    available: int = 0
    pending_out: int = 0  # gifted or booked, not settled yet
    pending_in: int = 0  # gifted to them, not accepted yet
    enrolment: Enrolment | None = None  # their own place, if they are an ambassador here
    allowance_left: int = 0
    open_request: Grant | None = None

    @property
    def can_gift(self) -> bool:
        own_place = self.enrolment is not None
        return (
            self.available > 0
            and self.cohort.status != "closed"
            and (own_place or self.cohort.allow_regift)
        )

    @property
    def can_book(self) -> bool:
        return self.available > 0 and self.cohort.status != "closed"

    @property
    def can_ask(self) -> bool:
        return (
            self.enrolment is not None
            and self.enrolment.status == EnrolmentStatus.ACTIVE
            and self.cohort.status == "current"
            and self.open_request is None
            and self.allowance_left > 0
        )


def wallets(session: Session, user_id: int) -> list[CohortWallet]:
    """One entry per cohort where the user holds credits or an active place."""
    found: dict[int, CohortWallet] = {}
    rows = session.execute(
        select(Account, Cohort)
        .join(Cohort, Cohort.ledger_id == Account.ledger_id)
        .where(Account.user_id == user_id, Account.code == WALLET)
    ).all()
    lapsed_out, lapsed_in = _lapsed_holds(session, [account.id for account, _ in rows])
    for account, cohort in rows:
        out, into = lapsed_out.get(account.id, 0), lapsed_in.get(account.id, 0)
        found[cohort.id] = CohortWallet(
            cohort=cohort,
            available=account.available + out,
            pending_out=account.debits_pending - out,
            pending_in=account.credits_pending - into,
        )
    for enrolment in session.scalars(
        select(Enrolment).where(
            Enrolment.user_id == user_id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ):
        entry = found.setdefault(enrolment.cohort_id, CohortWallet(cohort=enrolment.cohort))
        entry.enrolment = enrolment
        entry.allowance_left = allowance_left(session, enrolment)
        entry.open_request = open_request(session, enrolment.id)
    return sorted(found.values(), key=lambda w: (w.cohort.status != "current", w.cohort.name))


def available_now(session: Session, account: Account) -> int:
    """What `account` can spend, counting holds whose time ran out as released."""
    lapsed_out, _lapsed_in = _lapsed_holds(session, [account.id])
    return account.available + lapsed_out.get(account.id, 0)


def _lapsed_holds(session: Session, account_ids: list[int]) -> tuple[dict, dict]:
    """Sessions held by holds whose time ran out but that nothing has settled yet, by the
    account they debit and the account they credit. Pages show balances as if they were
    settled: past its time, a gift is over, whether or not the sweep has come by."""
    if not account_ids:
        return {}, {}
    resolver = aliased(Transfer)
    lapsed = select(Transfer.debit_account_id, Transfer.credit_account_id, Transfer.amount).where(
        Transfer.kind == "pending",
        Transfer.expires_at <= clock.now(),
        or_(
            Transfer.debit_account_id.in_(account_ids), Transfer.credit_account_id.in_(account_ids)
        ),
        ~select(resolver.id).where(resolver.pending_id == Transfer.id).exists(),
    )
    out: dict[int, int] = {}
    into: dict[int, int] = {}
    for debit, credit, amount in session.execute(lapsed):
        out[debit] = out.get(debit, 0) + amount
        into[credit] = into.get(credit, 0) + amount
    return out, into


@dataclass
class HistoryLine:
    at: datetime
    cohort: str
    text: str  # a Message (see grants.core.i18n): translate() it where it is shown


def history(
    session: Session, user_id: int, *, page: int, per_page: int = 20
) -> tuple[list[HistoryLine], int]:
    """The user's wallet movements, newest first, in plain words; and how many in all.

    A gift is one line, its pending transfer, told in its current state; the post, void or
    expiry that settled it is not a line of its own.
    """
    # The ids first, as values: `IN (subquery) OR IN (subquery)` reads every transfer there
    # is, while `IN (1, 2) OR IN (1, 2)` reads the two accounts' own from their indexes.
    wallet_ids = session.scalars(
        select(Account.id).where(Account.user_id == user_id, Account.code == WALLET)
    ).all()
    if not wallet_ids:
        return [], 0
    touching = or_(
        Transfer.debit_account_id.in_(wallet_ids), Transfer.credit_account_id.in_(wallet_ids)
    )
    shown = and_(
        touching,
        ~and_(Transfer.code.in_(["gift", "booking"]), Transfer.kind.in_(RESOLVING_KINDS)),
    )
    total = session.scalar(select(func.count()).select_from(Transfer).where(shown))
    transfers = session.scalars(
        select(Transfer)
        .where(shown)
        .order_by(Transfer.created_at.desc(), Transfer.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    # What the lines need, one light query per kind: not one query per line, and not one
    # join of everything (a dozen tables with the eager loads, longer to plan than to run).
    ids = [t.id for t in transfers]
    grants = {
        g.transfer_id: g
        for g in session.scalars(
            select(Grant)
            .where(Grant.transfer_id.in_(ids))
            .options(lazyload(Grant.cohort), lazyload(Grant.enrolment))
        )
    }
    gifts = {
        g.transfer_id: g for g in session.scalars(select(Gift).where(Gift.transfer_id.in_(ids)))
    }
    vouchers = {
        v.hold_transfer_id: v
        for v in session.scalars(
            select(Voucher)
            .where(Voucher.hold_transfer_id.in_(ids))
            .options(lazyload(Voucher.cohort))
        )
    }
    givers = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_({g.giver_id for g in gifts.values()}))
        ).all()
    )
    cohorts = {
        c.ledger_id: c
        for c in session.scalars(
            select(Cohort).where(Cohort.ledger_id.in_({t.ledger_id for t in transfers}))
        )
    }
    now = clock.now()
    return [
        HistoryLine(
            t.created_at,
            cohorts[t.ledger_id].name,
            _describe(
                t,
                grants.get(t.id),
                gifts.get(t.id),
                givers.get(gifts[t.id].giver_id) if t.id in gifts else None,
                vouchers.get(t.id),
                user_id,
                now,
            ),
        )
        for t in transfers
        if t.ledger_id in cohorts
    ], total


def _describe(transfer, grant, gift, giver_name, voucher, user_id, now) -> Message:
    """One line of history in plain words. Each state is a whole sentence, so every language
    can agree its words with the number of sessions."""
    if voucher is not None:
        return _booked(voucher.state_at(now), partner=voucher.partner.name)
    if grant is not None:
        n = transfer.amount
        if grant.kind == GrantKind.UPFRONT:
            return ngettext(
                "%(num)s session issued when you joined",
                "%(num)s sessions issued when you joined",
                n,
            )
        if grant.sessions_approved < grant.sessions_asked:
            return ngettext(
                "%(num)s session approved (of %(asked)s asked for)",
                "%(num)s sessions approved (of %(asked)s asked for)",
                n,
                asked=grant.sessions_asked,
            )
        return ngettext("%(num)s session approved", "%(num)s sessions approved", n)
    if gift is not None:
        state = gift.state_at(now)
        if gift.giver_id == user_id:
            return _gifted_to(
                state,
                gift.sessions,
                name=gift.recipient_name,
                relationship=RELATIONSHIP_LABELS[gift.relationship_],
            )
        return _gifted_to_you(state, gift.sessions, name=giver_name)
    return ngettext("%(num)s session moved", "%(num)s sessions moved", transfer.amount)


def _booked(state: str, **params) -> Message:
    if state == VoucherStatus.BOOKED:
        return _("1 session booked with %(partner)s, not yet confirmed", **params)
    if state == VoucherStatus.CONFIRMED:
        return _("1 session booked with %(partner)s, confirmed", **params)
    if state == VoucherStatus.CANCELLED:
        return _("1 session booked with %(partner)s, cancelled", **params)
    if state == VoucherStatus.MISSED:
        return _("1 session booked with %(partner)s, missed", **params)
    return _("1 session booked with %(partner)s, expired", **params)


def _gifted_to(state: str, n: int, **params) -> Message:
    if state == GiftStatus.PENDING:
        return ngettext(
            "%(num)s session gifted to %(name)s (%(relationship)s), pending",
            "%(num)s sessions gifted to %(name)s (%(relationship)s), pending",
            n,
            **params,
        )
    if state == GiftStatus.ACCEPTED:
        return ngettext(
            "%(num)s session gifted to %(name)s (%(relationship)s), accepted",
            "%(num)s sessions gifted to %(name)s (%(relationship)s), accepted",
            n,
            **params,
        )
    if state == GiftStatus.DECLINED:
        return ngettext(
            "%(num)s session gifted to %(name)s (%(relationship)s), declined",
            "%(num)s sessions gifted to %(name)s (%(relationship)s), declined",
            n,
            **params,
        )
    if state == GiftStatus.REVOKED:
        return ngettext(
            "%(num)s session gifted to %(name)s (%(relationship)s), revoked",
            "%(num)s sessions gifted to %(name)s (%(relationship)s), revoked",
            n,
            **params,
        )
    return ngettext(
        "%(num)s session gifted to %(name)s (%(relationship)s), expired",
        "%(num)s sessions gifted to %(name)s (%(relationship)s), expired",
        n,
        **params,
    )


def _gifted_to_you(state: str, n: int, **params) -> Message:
    if state == GiftStatus.PENDING:
        return ngettext(
            "%(num)s session gifted to you by %(name)s, pending",
            "%(num)s sessions gifted to you by %(name)s, pending",
            n,
            **params,
        )
    if state == GiftStatus.ACCEPTED:
        return ngettext(
            "%(num)s session gifted to you by %(name)s, accepted",
            "%(num)s sessions gifted to you by %(name)s, accepted",
            n,
            **params,
        )
    if state == GiftStatus.DECLINED:
        return ngettext(
            "%(num)s session gifted to you by %(name)s, declined",
            "%(num)s sessions gifted to you by %(name)s, declined",
            n,
            **params,
        )
    if state == GiftStatus.REVOKED:
        return ngettext(
            "%(num)s session gifted to you by %(name)s, revoked",
            "%(num)s sessions gifted to you by %(name)s, revoked",
            n,
            **params,
        )
    return ngettext(
        "%(num)s session gifted to you by %(name)s, expired",
        "%(num)s sessions gifted to you by %(name)s, expired",
        n,
        **params,
    )


@dataclass
class GiftLine:
    gift: Gift
    state: str
    other: str  # the other person's name: recipient for the giver, giver for the recipient


def gifts_sent(session: Session, user_id: int, *, limit: int = 50) -> list[GiftLine]:
    """The giver's view: to whom, how many, when, and the state. Nothing more, by design."""
    now = clock.now()
    gifts = session.scalars(
        select(Gift).where(Gift.giver_id == user_id).order_by(Gift.created_at.desc()).limit(limit)
    ).all()
    return [GiftLine(g, g.state_at(now), g.recipient_name) for g in gifts]


@dataclass
class BookingLine:
    voucher: Voucher
    state: str
    code: str


def bookings(session: Session, user_id: int, *, limit: int = 50) -> list[BookingLine]:
    """The holder's own bookings, with the code to give the therapist."""
    now = clock.now()
    vouchers = session.scalars(
        select(Voucher)
        .where(Voucher.holder_id == user_id)
        .order_by(Voucher.created_at.desc())
        .limit(limit)
    ).all()
    return [BookingLine(v, v.state_at(now), f"{v.code[:4]}-{v.code[4:]}") for v in vouchers]


def gifts_waiting(session: Session, user_id: int) -> list[GiftLine]:
    """Gifts to this user still waiting for their answer."""
    now = clock.now()
    rows = session.execute(
        select(Gift, User)
        .join(User, User.id == Gift.giver_id)
        .where(
            Gift.recipient_id == user_id, Gift.status == GiftStatus.PENDING, Gift.expires_at > now
        )
        .order_by(Gift.created_at)
    ).all()
    return [GiftLine(gift, gift.status, giver.name) for gift, giver in rows]
