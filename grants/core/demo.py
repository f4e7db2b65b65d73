"""Demo data: one user per role, cohorts in both regions, a few ambassadors. Safe to run
again and again: everything is looked up before it is created, and transfer ids are fixed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import two_factor
from grants.core.clock import clock
from grants.core.cohorts import CohortSettings, cohort_funding, create_cohort, fund_cohort
from grants.core.enrolment import Invitee, current_consent, invite
from grants.core.funding import (
    approve,
    ask_for_funding,
    decline,
    wallet_account,
    withdraw_request,
)
from grants.core.gifts import (
    accept_gift,
    decline_gift,
    expire_gift,
    gift_credits,
    lapsed_gift_ids,
    revoke_gift,
)
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant
from grants.core.models.gifts import Gift
from grants.core.models.partners import Partner
from grants.core.models.people import Role, User, UserRole
from grants.core.models.programmes import Programme
from grants.core.partners import (
    PartnerSettings,
    approve_partner_grant,
    propose_partner_grant,
    save_partner,
)
from grants.core.payouts import (
    approve_batch,
    build_batch,
    discard_batch,
    mark_failed,
    mark_paid,
)
from grants.core.people import create_user
from grants.core.vouchers import (
    VALID_DAYS,
    book_session,
    cancel_booking,
    confirm_session,
    expire_voucher,
)

DEMO_PASSWORD = "demo-password-2026"
# The two-step sign-in key of the demo's staff, finance and admin (base32, for an
# authenticator app). Published on purpose: demo data is refused in production.
DEMO_TOTP_SECRET = "GRANTSDEMOGRANTSDEMOGRANTSDEMO23"

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ambassador@demo.test", "Maya Okafor", ("ambassador",)),
    ("recipient@demo.test", "Sam Rivera", ("recipient",)),
    ("partner@demo.test", "Harbour Therapy desk", ("partner",)),
    ("staff@demo.test", "Jordan Reyes", ("staff",)),
    ("staff2@demo.test", "Priya Shah", ("staff",)),
    ("finance@demo.test", "Alex Morgan", ("finance",)),
    ("finance2@demo.test", "Chris Novak", ("finance",)),
    ("admin@demo.test", "Robin Hale", ("admin",)),
)

# (email, name, artist name, country, region of the current RADAR cohort, active?)
DEMO_AMBASSADORS = (
    ("ambassador@demo.test", "Maya Okafor", "Maya O", "US", "US", True),
    ("lena@demo.test", "Lena Fischer", "Night Tides", "GB", "GB", True),
    ("aiko@demo.test", "Aiko Tanaka", "Paper Lanterns", "US", "US", True),
    ("tomas@demo.test", "Tomás Reyes", "Los Reyes", "US", "US", False),
)

# Fixed transfer ids make a second seed a no-op: the ledger returns the first result.
_NAMESPACE = uuid.UUID("6f1c2d0e-5b7a-4c1e-9a43-0d2f3e4b5a61")


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, name)


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def seed(session: Session) -> SeedResult:
    """Create whatever demo data is missing. Flushes; the caller commits."""
    result = SeedResult()
    users = {email: _user(session, email, name, roles, result) for email, name, roles in DEMO_USERS}
    staff = users["staff@demo.test"]
    cohorts = _cohorts(session, staff)
    for email, name, artist, country, region, active in DEMO_AMBASSADORS:
        _enrol(
            session,
            staff,
            cohorts[("RADAR", region, "current")],
            Invitee(name=name, artist_name=artist, email=email, country=country),
            active,
        )
    _requests(session, staff, users["staff2@demo.test"])
    _gifts(session)
    _partners(session, users)
    return result


def _partners(session: Session, users: dict[str, User]) -> None:
    """A therapy network in each region, a nonprofit with an approved partner grant, the
    demo partner login, and Maya's bookings in every state."""
    if session.scalar(select(Partner.id).limit(1)) is not None:
        return  # seeded before
    admin, staff, staff2 = (
        users[e] for e in ("admin@demo.test", "staff@demo.test", "staff2@demo.test")
    )
    harbour = save_partner(
        session,
        admin,
        PartnerSettings(
            name="Harbour Therapy Network",
            kind="therapy",
            currency="USD",
            regions=("US",),
            contact_name="Intake desk",
            contact_email="intake@harbour.example",
            payout_reference="US00 1234 5678 9012",
        ),
    )
    save_partner(
        session,
        admin,
        PartnerSettings(
            name="Thames Talking Therapies",
            kind="therapy",
            currency="GBP",
            regions=("GB",),
            contact_name="Referrals",
            contact_email="referrals@thames.example",
            payout_reference="GB29 NWBK 6016 1331 9268 19",
        ),
    )
    backline = save_partner(
        session,
        admin,
        PartnerSettings(
            name="Backline Care Fund", kind="nonprofit", currency="USD", regions=("US",)
        ),
    )
    desk = users["partner@demo.test"]
    desk.partner_id = harbour.id
    support = propose_partner_grant(
        session,
        staff,
        backline,
        amount=250_000,
        purpose="Peer support groups for touring crews",
        request_id=_id("partner-grant:backline"),
    )
    approve_partner_grant(session, staff2, support.id)

    maya = users["ambassador@demo.test"]
    cohort = session.scalar(
        select(Cohort)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.user_id == maya.id)
    )
    count = iter(range(100))

    def booking():
        return book_session(
            session, maya, cohort, harbour.id, transfer_id=_id(f"booking:{next(count)}")
        )

    today = clock.now().date()
    confirm_session(session, desk, booking().code, today)
    confirm_session(session, desk, booking().code, today, missed=True)
    cancel_booking(session, maya, booking().id)
    booking()  # waiting for the session: its code is on Maya's page
    back = timedelta(days=VALID_DAYS + 1)
    clock.advance(-back)
    try:
        old = booking()
    finally:
        clock.advance(back)
    expire_voucher(session, old.id)
    _payouts(session, users, harbour, desk, maya, cohort, booking)


def _payouts(session, users, harbour, desk, maya, cohort, booking) -> None:
    """Payout batches in every state: closed (one line paid, one failed), approved and
    waiting to be paid, a draft, and a discarded draft."""
    finance, finance2 = users["finance@demo.test"], users["finance2@demo.test"]
    today = clock.now().date()

    def batch(name):
        return build_batch(
            session, finance, currency="USD", cutoff=today, request_id=_id(f"batch:{name}")
        )

    closed = batch("closed")  # Harbour's sessions and Backline's grant
    approve_batch(session, finance2, closed.id)
    harbour_line, backline_line = sorted(
        closed.lines, key=lambda line: line.partner.name != "Harbour Therapy Network"
    )
    mark_paid(session, finance, harbour_line.id, bank_reference="BACS-1001", paid_on=today)
    mark_failed(session, finance, backline_line.id, reason="Bank details out of date")
    confirm_session(session, desk, booking().code, today)
    waiting = batch("approved")  # Backline again, and the new session
    approve_batch(session, finance2, waiting.id)
    confirm_session(session, desk, booking().code, today)
    discard_batch(session, finance, batch("discarded").id)
    batch("draft")


def _gifts(session: Session) -> None:
    """Gifts from Maya in every state; Sam (recipient@demo.test) holds one accepted gift and
    has one waiting for an answer."""
    maya = session.scalar(select(User).where(User.email == "ambassador@demo.test"))
    if session.scalar(select(Gift.id).where(Gift.giver_id == maya.id).limit(1)) is not None:
        return  # seeded before
    cohort = session.scalar(
        select(Cohort)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .where(Enrolment.user_id == maya.id)
    )
    if wallet_account(session, cohort, maya.id).available < 4:
        return
    nonce = iter(range(100))

    def send(email, name, relationship, sessions, message=""):
        return gift_credits(
            session,
            maya,
            cohort,
            recipient_name=name,
            recipient_email=email,
            relationship=relationship,
            message=message,
            sessions=sessions,
            transfer_id=_id(f"gift:{email}:{next(nonce)}"),
        )

    consent = current_consent(session, cohort.programme_id).id
    accepted = send("recipient@demo.test", "Sam Rivera", "crew", 1, "For the long drives.")
    accept_gift(
        session, accepted.id, accepted.nonce, consent_text_id=consent, signed_in=accepted.recipient
    )
    declined = send("dev@demo.test", "Dev Patel", "bandmate", 1)
    decline_gift(session, declined.id, declined.nonce)
    revoked = send("kim@demo.test", "Kim Lee", "team", 1)
    revoke_gift(session, maya, revoked.id)
    send("jules@demo.test", "Jules Moreau", "other", 1, "Whenever you need it.")
    # One sent long enough ago to have expired unanswered.
    back = timedelta(days=cohort.gift_expiry_days + 1)
    clock.advance(-back)
    try:
        send("ola@demo.test", "Ola Berg", "crew", 1)
    finally:
        clock.advance(back)
    for gift_id in lapsed_gift_ids(session):
        expire_gift(session, gift_id)


def _requests(session: Session, staff: User, staff2: User) -> None:
    """Funding requests in every state, so the queue and the wallets have something to show."""

    def place(email: str) -> Enrolment:
        return session.scalar(
            select(Enrolment).join(User, User.id == Enrolment.user_id).where(User.email == email)
        )

    maya, lena, aiko = (
        place(e) for e in ("ambassador@demo.test", "lena@demo.test", "aiko@demo.test")
    )
    already = select(Grant.id).where(Grant.enrolment_id.in_([maya.id, lena.id, aiko.id]))
    if session.scalar(already.limit(1)) is not None:
        return  # seeded before
    # Maya: withdrew a first request, asked for 10, was approved for 8 by two staff.
    first = ask_for_funding(session, maya.user, maya, 2)
    withdraw_request(session, maya.user, first)
    asked = ask_for_funding(session, maya.user, maya, 10)
    approve(session, staff, asked.id, 8)
    approve(session, staff2, asked.id, 8)
    # Aiko: one declined, one waiting.
    no = ask_for_funding(session, aiko.user, aiko, 12)
    decline(session, staff, no.id, "Please ask for up to 6 for now; we can add more later.")
    ask_for_funding(session, aiko.user, aiko, 3)
    # Lena: 10 is above the threshold of 6. One approval is given; the second is left for
    # whoever tries the demo as staff2@demo.test.
    big = ask_for_funding(session, lena.user, lena, 10)
    approve(session, staff, big.id, 10)


def _user(session, email, name, roles, result) -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(
            session, None, email=email, name=name, roles=roles, password=DEMO_PASSWORD
        )
        if two_factor.required(user):
            # Their roles need two-step sign-in; the demo shares one published key, and
            # `flask demo code` prints the current code for anyone without the app.
            user.totp_secret = DEMO_TOTP_SECRET
            user.totp_enabled_at = clock.now()
        result.created.append(email)
    else:
        result.existing.append(email)
    return user


def _cohorts(session: Session, staff: User) -> dict[tuple[str, str, str], Cohort]:
    """A current and an upcoming RADAR cohort in each region, the current ones funded."""
    year = clock.now().year
    radar = session.scalar(select(Programme).where(Programme.code == "RADAR"))
    found = {}
    for region, currency, value in (("US", "USD", 15000), ("GB", "GBP", 9000)):
        for status, intake in ((CohortStatus.CURRENT, year), (CohortStatus.UPCOMING, year + 1)):
            cohort = session.scalar(
                select(Cohort).where(
                    Cohort.programme_id == radar.id,
                    Cohort.region == region,
                    Cohort.intake_name == str(intake),
                )
            )
            if cohort is None:
                cohort = create_cohort(
                    session,
                    staff,
                    CohortSettings(
                        programme_id=radar.id,
                        region=region,
                        intake_name=str(intake),
                        status=status,
                        currency=currency,
                        session_value=value,
                        session_allowance=12,
                        session_budget=600,
                        gift_expiry_days=30,
                        starts_on=date(intake, 1, 1),
                        ends_on=date(intake, 12, 31),
                    ),
                )
            if status == CohortStatus.CURRENT and not cohort_funding(session, cohort).funded:
                fund_cohort(session, staff, cohort, 240, transfer_id=_id(f"fund:{region}:{intake}"))
            found[("RADAR", region, status.value)] = cohort
    return found


def _enrol(session, staff, cohort, invitee: Invitee, active: bool) -> None:
    user = session.scalar(select(User).where(User.email == invitee.email))
    if (
        user is not None
        and session.scalar(
            select(Enrolment.id).where(
                Enrolment.user_id == user.id, Enrolment.cohort_id == cohort.id
            )
        )
        is not None
    ):
        return
    if not active:
        invite(session, staff, cohort, invitee)  # a real pending invitation, email queued
        return
    if user is None:
        user = create_user(
            session, None, email=invitee.email, name=invitee.name, password=DEMO_PASSWORD
        )
    # Active from the start: as if they had accepted the invitation and its consent text.
    consent = current_consent(session, cohort.programme_id)
    now = clock.now()
    session.add(
        Enrolment(
            cohort_id=cohort.id,
            user_id=user.id,
            artist_name=invitee.artist_name,
            country=invitee.country,
            status=EnrolmentStatus.ACTIVE,
            invitations_sent=1,
            invited_by_id=staff.id,
            invited_at=now,
            activated_at=now,
            consent_text_id=consent.id,
            consented_at=now,
        )
    )
    if not user.has_role(Role.AMBASSADOR):
        user.roles.append(UserRole(role=Role.AMBASSADOR))
    session.flush()
