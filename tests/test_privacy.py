"""Privacy (DESIGN.md, "Privacy rules"): a person can be erased and the ledger still
balances; a giver learns nothing of what a recipient does with a gift; staff reports
suppress small counts; logs and emails carry no names, addresses or therapy words."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import JSON, String, Text, func, insert, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from grants.core import two_factor
from grants.core.clock import clock
from grants.core.db import Base, commit_with_retry
from grants.core.funding import ask_for_funding
from grants.core.models import (
    AuditEntry,
    Cohort,
    EnrolmentImport,
    Gift,
    Grant,
    LoginSession,
    OutboxMessage,
    Partner,
    PayoutBatch,
    RecoveryCode,
    User,
    Voucher,
)
from grants.core.money import format_money
from grants.core.partners import PartnerSettings, save_partner
from grants.core.people import request_password_reset
from grants.core.vouchers import book_session, confirm_session
from grants.database import get_session
from tests.conftest import AuthActions, submit
from tests.test_enrolment import accept as accept_invitation
from tests.test_enrolment import link_in
from tests.test_funding import decide, enrol_user
from tests.test_gifts import accept_link, gift_link, grant_credits, send_gift
from tests.test_partners import confirm
from tests.test_payouts import build

TODAY = date(2027, 3, 10)

# Names nothing else in the app or its data could contain by chance.
PEOPLE = {
    "maya": ("Maya Okafor", "maya.okafor@example.org"),
    "sam": ("Sam Rivera", "sam.rivera@example.org"),
    "bea": ("Bea Lindqvist", "bea.lindqvist@example.org"),
    "kim": ("Kim Adeyemi", "kim.adeyemi@example.org"),
    "jo": ("Jo Halloran", "jo.halloran@example.org"),
    "fenella": ("Fenella Marchbanks", "fenella.marchbanks@example.org"),
    "felix": ("Felix Oduya", "felix.oduya@example.org"),
    "dara": ("Dara Whitcombe", "dara.whitcombe@harbour.example"),
}
ARTIST = "The Okafor Quartet"
PARTNER = "Harbour Therapy"
BEA_TO_MAYA = "Maya, this one is on me"
MAYA_TO_SAM = "For the tour, love from Maya"
MAYA_TO_KIM = "Kim, take a breather on me"
DECLINED = "Sorry Maya Okafor, the budget is spoken for"


def logged_in(app, email):
    client = app.test_client()
    AuthActions(client).login(email)
    return client


def hidden(html: str, name: str) -> str:
    return html.split(f'name="{name}" type="hidden" value="')[1].split('"')[0]


def newest(app, model, **where):
    with app.app_context():
        db = get_session()
        row = db.scalar(select(model).filter_by(**where).order_by(model.id.desc()))
        db.expunge(row)
        return row


def partner_with_desk(app, make_user):
    """Harbour Therapy (US, USD), whose contact and one portal user is Dara."""
    with app.app_context():
        db = get_session()
        settings = PartnerSettings(
            name=PARTNER,
            kind="therapy",
            currency="USD",
            regions=("US",),
            contact_name=PEOPLE["dara"][0],
            contact_email=PEOPLE["dara"][1],
            payout_reference="US00 1111 2222 3333",
        )
        partner_id = commit_with_retry(db, lambda: save_partner(db, None, settings).id)
    name, email = PEOPLE["dara"]
    make_user("partner", email=email, name=name, partner_id=partner_id)
    return partner_id


def book(client, cohort_id, partner_id) -> Voucher:
    data = {"partner_id": str(partner_id), "request_id": str(uuid.uuid4())}
    response = submit(client, f"/wallet/cohorts/{cohort_id}/book", data)
    assert response.status_code == 302
    return newest(client.application, Voucher)


def journey(app, make_user, make_cohort, mailbox):
    """Everything the programme does, through the web as people do it: an invitation
    accepted, funding asked for (approved once, declined once with a message), gifts both
    ways with messages, a session booked and confirmed and another booked, a gift still
    waiting, a payout built, approved and paid, and password resets (one too many)."""
    clock.set(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    people = {}
    for key, roles in (
        ("jo", ("staff",)),
        ("fenella", ("finance",)),
        ("felix", ("finance",)),
        ("bea", ("ambassador",)),
    ):
        name, email = PEOPLE[key]
        people[key] = make_user(*roles, email=email, name=name)
    partner_id = partner_with_desk(app, make_user)
    cohort_id = make_cohort(
        funded=50, session_allowance=10, approval_threshold=10, session_value=12_000
    )
    enrol_user(app, people["bea"], cohort_id)
    grant_credits(app, people["bea"], cohort_id, 3, people["jo"])
    jo = logged_in(app, PEOPLE["jo"][1])
    bea = logged_in(app, PEOPLE["bea"][1])

    # Jo invites Maya; she accepts and is logged in, and chooses English for her emails.
    maya_name, maya_email = PEOPLE["maya"]
    invited = submit(
        jo,
        f"/staff/cohorts/{cohort_id}/invite",
        {"name": maya_name, "artist_name": ARTIST, "email": maya_email, "country": "US"},
    )
    assert invited.status_code == 302
    maya = app.test_client()
    assert accept_invitation(maya, link_in(mailbox, maya_email)).status_code == 302
    submit(maya, "/language", {"language": "en", "next": "/wallet/"}, form_page="/wallet/")

    # Funding: 4 sessions approved; a second request declined, with a message.
    submit(maya, f"/wallet/cohorts/{cohort_id}/ask", {"sessions": "4"})
    decide(jo, newest(app, Grant).id, "approve", sessions="4")
    submit(maya, f"/wallet/cohorts/{cohort_id}/ask", {"sessions": "2"})
    decide(jo, newest(app, Grant).id, "decline", message=DECLINED)

    # Bea gifts Maya a session; Maya accepts from her wallet.
    send_gift(
        bea,
        cohort_id,
        recipient_name=maya_name,
        recipient_email=maya_email,
        relationship="bandmate",
        sessions="1",
        message=BEA_TO_MAYA,
    )
    gift_id = newest(app, Gift).id
    page = maya.get(f"/wallet/gifts/{gift_id}").text
    submit(
        maya,
        f"/wallet/gifts/{gift_id}/accept",
        {"consent": "y", "consent_text_id": hidden(page, "consent_text_id")},
        form_page=f"/wallet/gifts/{gift_id}",
    )
    assert newest(app, Gift).status == "accepted"

    # Maya gifts Sam two sessions; Sam, new here, accepts through the emailed link.
    sam_name, sam_email = PEOPLE["sam"]
    send_gift(
        maya,
        cohort_id,
        recipient_name=sam_name,
        recipient_email=sam_email,
        relationship="crew",
        sessions="2",
        message=MAYA_TO_SAM,
    )
    sam = app.test_client()
    accept_link(sam, gift_link(mailbox, sam_email))
    assert newest(app, Gift).status == "accepted"

    # Maya books a session, Dara confirms it; she books another, not yet confirmed.
    confirmed = book(maya, cohort_id, partner_id)
    dara = logged_in(app, PEOPLE["dara"][1])
    assert confirm(dara, confirmed.code).status_code == 302
    waiting = book(maya, cohort_id, partner_id)

    # A gift to Kim, still waiting for an answer.
    send_gift(
        maya,
        cohort_id,
        recipient_name=PEOPLE["kim"][0],
        recipient_email=PEOPLE["kim"][1],
        relationship="team",
        sessions="1",
        message=MAYA_TO_KIM,
    )

    # Finance pays Harbour: one builds the batch, the other approves, the first pays.
    fenella = logged_in(app, PEOPLE["fenella"][1])
    felix = logged_in(app, PEOPLE["felix"][1])
    assert build(fenella).status_code == 302
    batch_id = newest(app, PayoutBatch).id
    submit(felix, f"/finance/batches/{batch_id}/approve", form_page=f"/finance/batches/{batch_id}")
    submit(
        fenella,
        f"/finance/batches/{batch_id}/pay",
        {"bank_reference": "BACS-0042", "paid_on": TODAY.isoformat()},
        form_page=f"/finance/batches/{batch_id}",
    )

    # Maya forgets her password: three links, then the fourth ask is throttled.
    stranger = app.test_client()
    answers = [submit(stranger, "/auth/reset", {"email": maya_email}).status_code for _ in range(4)]
    assert answers[-1] == 429 and 429 not in answers[:-1]

    with app.app_context():
        db = get_session()
        maya_id = db.scalar(select(User.id).where(User.email == maya_email))
    return SimpleNamespace(
        cohort_id=cohort_id,
        partner_id=partner_id,
        batch_id=batch_id,
        maya_id=maya_id,
        clients={"maya": maya, "sam": sam, "bea": bea, "jo": jo},
        codes=[confirmed.code, waiting.code],
    )


# --- 1. erasing a person ------------------------------------------------------------------


def text_values(app):
    """(table.column, text) for every value of every text or JSON column of every table."""
    with app.app_context():
        db = get_session()
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in db.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    yield f"{table.name}.{column.name}", text
        db.rollback()


def found(app, needles) -> set[tuple[str, str]]:
    """Which of `needles` appear where (case-insensitively)."""
    hits = set()
    for where, text in text_values(app):
        lowered = text.lower()
        hits |= {(where, needle) for needle in needles if needle.lower() in lowered}
    return hits


MAYA_IDENTIFIERS = [
    PEOPLE["maya"][0],
    "Maya",
    "Okafor",
    PEOPLE["maya"][1],
    PEOPLE["maya"][1].split("@")[0],
    ARTIST,
    BEA_TO_MAYA,
    MAYA_TO_SAM,
    MAYA_TO_KIM,
    DECLINED,
]


def erase(runner, *args):
    return runner.invoke(args=["people", "erase", *args])


def test_erasing_a_person_leaves_no_trace_of_them_and_the_ledger_balances(
    app, make_user, make_cohort, mailbox, runner
):
    """Maya, with a whole history (see journey(); also two-step sign-in, a reset email
    still queued and a CSV preview listing her), is erased from the command line. Then
    no text or JSON value of any column of any table holds her name, any part of it, her
    address, her artist name, or a message she wrote or that was written to her; others
    keep theirs; her session is over; and the ledger verifies."""
    world = journey(app, make_user, make_cohort, mailbox)
    maya_email = PEOPLE["maya"][1]
    with app.app_context():  # two-step sign-in on, with recovery codes
        db = get_session()
        person = db.get(User, world.maya_id)
        secret = pyotp.random_base32()
        two_factor.turn_on(db, person, secret, pyotp.TOTP(secret).at(clock.now()))
        request_password_reset(db, maya_email)  # queued, not sent yet
        db.commit()
        unsent = db.scalar(select(func.max(OutboxMessage.id)))
        assert db.get(OutboxMessage, unsent).status == "pending"
    # A CSV waiting in its preview in another programme's cohort lists her, and Lee.
    other = make_cohort(programme_id=1, funded=5)
    csv = f"name,artist_name,email,country\n{PEOPLE['maya'][0]},{ARTIST},{maya_email},US\n"
    csv += "Lee Other,Lee Band,lee@example.org,US\n"
    staged = submit(
        world.clients["jo"],
        f"/staff/cohorts/{other}/import",
        {"file": (io.BytesIO(csv.encode()), "people.csv")},
    )
    assert staged.status_code == 302

    before = found(app, MAYA_IDENTIFIERS)
    assert {needle for _where, needle in before} == set(MAYA_IDENTIFIERS)  # the search works
    tables = {where.split(".")[0] for where, _needle in before}
    assert {"users", "enrolments", "gifts", "grants", "outbox_messages"} <= tables
    assert {"enrolment_imports"} <= tables
    with app.app_context():
        db = get_session()
        assert db.scalar(select(LoginSession.id).where(LoginSession.user_id == world.maya_id))
        assert db.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == world.maya_id))

    # Asked to confirm, the operator says no: nothing happens.
    declined = runner.invoke(args=["people", "erase", "--email", maya_email], input="n\n")
    assert declined.exit_code != 0
    # A booking Harbour has not confirmed may have taken place: refused unless asked.
    refused = erase(runner, "--email", maya_email, "--yes")
    assert refused.exit_code != 0
    assert "1 booked session that the partner has not confirmed" in refused.output
    assert "--cancel-bookings" in refused.output
    assert found(app, MAYA_IDENTIFIERS) == before

    done = erase(runner, "--email", maya_email.upper(), "--yes", "--cancel-bookings")
    assert done.exit_code == 0, done.output
    assert f"erased user {world.maya_id}" in done.output
    assert "1 gifts revoked" in done.output and "1 bookings cancelled" in done.output
    for where, text in text_values(app):
        for needle in MAYA_IDENTIFIERS:
            assert needle.lower() not in text.lower(), f"{needle!r} is still in {where}"
    assert "@" not in done.output

    # Everyone else is as they were.
    after = {needle for _where, needle in found(app, [PEOPLE["sam"][0], PEOPLE["bea"][1]])}
    assert after == {PEOPLE["sam"][0], PEOPLE["bea"][1]}
    assert ("enrolment_imports.rows", "lee@example.org") in found(app, ["lee@example.org"])

    with app.app_context():
        db = get_session()
        person = db.get(User, world.maya_id)
        assert person.email == f"erased-{world.maya_id}@erased.invalid"
        assert not person.active and person.password_hash is None
        assert person.totp_secret is None and person.locale is None
        assert person.browser_locale is None
        assert (
            db.scalar(select(LoginSession.id).where(LoginSession.user_id == world.maya_id)) is None
        )
        assert (
            db.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == world.maya_id)) is None
        )
        gifts = {g.recipient_id: g.status for g in db.scalars(select(Gift))}
        kim = db.scalar(select(User).where(User.email == PEOPLE["kim"][1]))
        assert gifts[kim.id] == "revoked"  # her waiting gift: the sessions came back
        assert {v.status for v in db.scalars(select(Voucher))} == {"confirmed", "cancelled"}
        assert db.get(Partner, world.partner_id).contact_email == PEOPLE["dara"][1]
        entry = db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
        assert (entry.action, entry.actor_id, entry.origin) == ("person.erase", None, "cli")
        assert (entry.object_type, entry.object_id, entry.details) == (
            "User",
            str(world.maya_id),
            {},
        )
        assert db.get(OutboxMessage, unsent) is None  # what waited for her is gone
        sent = db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "")).all()
        assert len(sent) >= 8 and all(m.params == {} for m in sent)  # what went: rows only
        staged = db.scalar(select(EnrolmentImport))
        assert staged.row_count == 1 and [r["email"] for r in staged.rows] == ["lee@example.org"]
        db.rollback()

    # Her browser's session is over, and the address no longer opens anything.
    assert world.clients["maya"].get("/wallet/").status_code == 302
    assert AuthActions(app.test_client()).login(maya_email).status_code == 200
    # Sam's sessions from her gift are his; the books balance.
    assert "2 sessions gifted to you by" in world.clients["sam"].get("/wallet/").text
    verified = runner.invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert erase(runner, "--email", maya_email, "--yes").exit_code != 0  # nobody by that name


def test_erasure_refuses_the_last_admin_and_clears_a_partner_contact(
    app, make_user, make_cohort, runner
):
    admin = make_user("admin", email="ada.admin@example.org", name="Ada Admin")
    refused = erase(runner, "--email", admin.email, "--yes")
    assert refused.exit_code != 0 and "last active admin" in refused.output
    make_user("admin", email="second.admin@example.org")
    assert erase(runner, "--email", admin.email, "--yes").exit_code == 0

    partner_id = partner_with_desk(app, make_user)
    assert erase(runner, "--email", PEOPLE["dara"][1], "--yes").exit_code == 0
    with app.app_context():
        partner = get_session().get(Partner, partner_id)
        assert (partner.name, partner.contact_name, partner.contact_email) == (PARTNER, "", "")
    assert not found(app, ["Ada Admin", "ada.admin", "Dara", "Whitcombe"])


# --- 2. a giver sees the gift's state, nothing of its use ---------------------------------


def test_a_giver_sees_nothing_of_what_the_recipient_does_with_a_gift(
    app, make_user, make_cohort, mailbox
):
    """The giver's every page, every email and every export they can reach are the same
    before and after the recipient books, is confirmed, cancels and books again."""
    clock.set(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    staff = make_user("staff", email=PEOPLE["jo"][1])
    maya = make_user("ambassador", email=PEOPLE["maya"][1], name=PEOPLE["maya"][0])
    cohort_id = make_cohort(funded=50, session_allowance=10, approval_threshold=10)
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 6, staff)
    partner_id = partner_with_desk(app, make_user)
    giver = logged_in(app, maya.email)
    send_gift(
        giver,
        cohort_id,
        recipient_name=PEOPLE["sam"][0],
        recipient_email=PEOPLE["sam"][1],
        sessions="3",
    )
    sam = app.test_client()
    accept_link(sam, gift_link(mailbox, PEOPLE["sam"][1]))

    pages = [
        "/wallet/",
        "/wallet/?page=2",
        f"/wallet/cohorts/{cohort_id}/gift",
        f"/wallet/cohorts/{cohort_id}/book",
        f"/wallet/cohorts/{cohort_id}/ask",
        f"/wallet/gifts/{newest(app, Gift).id}",
    ]
    # Where exports and reports live: none of it is the giver's to see.
    elsewhere = [
        "/finance/",
        "/finance/reconciliation",
        "/finance/batches",
        "/staff/",
        f"/staff/cohorts/{cohort_id}",
        "/staff/requests",
        "/staff/resources/export.csv",
        "/partner/",
        "/admin/audit",
    ]
    volatile = re.compile(r'value="[^"]{36,}"')  # CSRF tokens and fresh request ids

    def giver_view():
        views = []
        for url in pages:
            response = giver.get(url)
            views.append((url, response.status_code, volatile.sub("", response.text)))
        for url in elsewhere:
            response = giver.get(url)
            assert response.status_code in (403, 404), url
            views.append((url, response.status_code, ""))
        return views

    giver_view()  # uses up the "on its way" message
    before = giver_view()
    mail_before = [m.as_string() for m in mailbox.to(maya.email)]
    assert len(mail_before) == 1  # the gift was accepted: its one update

    # Sam books with Harbour; Dara confirms it. Sam books and cancels, and books again.
    first = book(sam, cohort_id, partner_id)
    dara = logged_in(app, PEOPLE["dara"][1])
    assert confirm(dara, first.code).status_code == 302
    second = book(sam, cohort_id, partner_id)
    submit(sam, f"/wallet/vouchers/{second.id}/cancel", form_page="/wallet/")
    third = book(sam, cohort_id, partner_id)
    with app.app_context():
        statuses = [get_session().get(Voucher, v.id).status for v in (first, second, third)]
    assert statuses == ["confirmed", "cancelled", "booked"]
    assert f"{PARTNER}" in sam.get("/wallet/").text  # Sam sees his own bookings

    after = giver_view()
    assert after == before
    assert [m.as_string() for m in mailbox.to(maya.email)] == mail_before
    shown = " ".join(text for _url, _status, text in after) + " ".join(mail_before)
    for secret in (first.code, third.code, first.code[:4] + "-"):
        assert secret not in shown
    # The partners are named only where the giver would book for themselves.
    booking_page = f"/wallet/cohorts/{cohort_id}/book"
    assert PARTNER not in " ".join(text for url, _, text in after if url != booking_page)
    [update] = mailbox.to(maya.email)
    text = update.get_body(preferencelist=("plain",)).get_content()
    assert "Sam Rivera accepted your gift of 3 sessions." in text
    for word in ("book", "used", "confirm", "voucher", "remaining", "therap"):
        assert word not in text.lower()


# --- 3. staff reports suppress small counts -----------------------------------------------


def test_small_count_filter(app):
    from grants.privacy import small_count

    with app.test_request_context():
        assert [small_count(n) for n in (None, 0, 1, 4, 5, 120)] == [
            0,
            0,
            "fewer than 5",
            "fewer than 5",
            5,
            120,
        ]


def test_reports_show_small_counts_as_fewer_than_five(app, make_user, make_cohort):
    """Finance's session reports (by programme, region and month) and a cohort's decided
    requests show 1 to 4 as "fewer than 5", with no value or bar to work it out from. The
    requests queue, a named list staff work through, keeps its exact numbers."""
    clock.set(datetime(2027, 2, 10, 12, 0, tzinfo=UTC))
    staff = make_user("staff", email=PEOPLE["jo"][1])
    finance = make_user("finance", email=PEOPLE["fenella"][1])
    partner_id = partner_with_desk(app, make_user)
    radar = make_cohort(funded=50, session_allowance=10, approval_threshold=10)
    equal = make_cohort(programme_id=1, funded=50, session_allowance=10, approval_threshold=10)
    maya = make_user("ambassador", email=PEOPLE["maya"][1], name=PEOPLE["maya"][0])
    bea = make_user("ambassador", email=PEOPLE["bea"][1], name=PEOPLE["bea"][0])
    enrol_user(app, maya, radar)
    enrol_user(app, bea, equal)
    grant_credits(app, maya, radar, 3, staff)
    grant_credits(app, bea, equal, 6, staff)

    def sessions(user, cohort_id, count):
        with app.app_context():
            db = get_session()

            def work():
                holder, cohort = db.get(User, user.id), db.get(Cohort, cohort_id)
                desk = db.scalar(select(User).where(User.email == PEOPLE["dara"][1]))
                for _ in range(count):
                    voucher = book_session(db, holder, cohort, partner_id, transfer_id=uuid.uuid4())
                    confirm_session(db, desk, voucher.code, clock.now().date())

            commit_with_retry(db, work)

    sessions(bea, equal, 2)  # February: 2
    clock.set(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    sessions(bea, equal, 4)  # March: 4 + 3 = 7
    sessions(maya, radar, 3)  # RADAR: 3, EQUAL: 6; US: 9
    with app.app_context():  # one request waiting in RADAR (Maya asks again)
        db = get_session()
        commit_with_retry(
            db,
            lambda: ask_for_funding(
                db,
                db.get(User, maya.id),
                db.scalar(select(Grant).where(Grant.user_id == maya.id)).enrolment,
                2,
            ),
        )
    money = lambda minor: format_money(minor, "USD", "en")  # noqa: E731

    page = logged_in(app, finance.email).get("/finance/").text
    hidden_row = '<td class="num">fewer than 5</td><td class="num">not shown</td></tr>'
    assert f"<tr><td>RADAR</td><td>USD</td>{hidden_row}" in page
    assert f"<tr><td>2027-02</td><td>USD</td>{hidden_row}" in page
    assert f'<td class="num">6</td><td class="num">{money(72_000)}</td>' in page
    assert f'<td class="num">9</td><td class="num">{money(108_000)}</td>' in page
    assert f'<td class="num">7</td><td class="num">{money(84_000)}</td>' in page
    for small in (money(36_000), money(24_000)):  # 3 and 2 sessions' worth, in bars too
        assert small not in page
    assert page.count('class="chart-value">fewer than 5</text>') == 2
    assert 'width="0" height="18"' in page  # their bars drawn empty

    desk = logged_in(app, staff.email)
    cohort_page = desk.get(f"/staff/cohorts/{radar}").text
    assert re.search(r'Approved</th><td class="num">fewer than 5</td>', cohort_page)
    assert re.search(r'Waiting</th><td class="num">1</td>', cohort_page)
    assert re.search(r'Declined</th><td class="num">0</td>', cohort_page)
    queue = desk.get("/staff/requests").text
    assert PEOPLE["maya"][0] in queue and "1 waiting, oldest first" in queue


# --- 4. logs and emails --------------------------------------------------------------------

THERAPY_WORDS = ("therap", "counsel", "psych", "mental health", "diagnos", "clinic")


def hear_everything(monkeypatch) -> None:
    """Loggers another test switched off (logging's state is global) are heard again."""
    for logger in [logging.getLogger(), *logging.root.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)


def test_logs_and_emails_carry_no_names_addresses_or_therapy_words(
    app, make_user, make_cohort, mailbox, caplog, monkeypatch
):
    """The rule, over a whole journey (invitation, funding approved and declined, gifts
    both ways, a session booked and confirmed, a payout paid, password resets, one of them
    throttled):

    Logs: no record from any logger, at any level from DEBUG up, with its arguments and
    any exception text, holds any person's name (whole, or any part of four letters or
    more), email address (or its part before the @), artist name, gift message, decline
    message or voucher code. Two sources are out of scope and their level is set to
    WARNING for the test: SQLAlchemy's SQL echo (it prints every row read: the app never
    turns it on, and its engines hide bound parameters even then) and the test's own SMTP
    server ("mail.log"), which is not the app.

    Emails: each goes to one person. Its subject holds no therapy word (therapy,
    counselling, psych..., mental health, diagnosis, clinic), not the word "session", no
    partner's name and no address. Its text and HTML hold no therapy word, no partner's
    name, no voucher code, and no email address. The only names in it are the
    addressee's own and, in an email about a gift, the other side of that gift (the giver
    as the recipient knows them; the recipient as the giver wrote their name). A giver's
    update says the gift's state and nothing of its use (no booking, confirmation,
    voucher or what remains).
    """
    hear_everything(monkeypatch)
    quiet = ("sqlalchemy", "mail.log")
    names = list(logging.root.manager.loggerDict)
    for name in [*quiet, *[n for n in names if n.startswith(quiet)]]:
        caplog.set_level(logging.WARNING, logger=name)
    for name in [n for n in names if not n.startswith(quiet)]:
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's level

    world = journey(app, make_user, make_cohort, mailbox)

    secrets = [DECLINED, BEA_TO_MAYA, MAYA_TO_SAM, MAYA_TO_KIM, ARTIST]
    for name, email in PEOPLE.values():
        secrets += [name, email, email.split("@")[0]]
        secrets += [part for part in name.split() if len(part) >= 4]
    secrets += world.codes + [f"{c[:4]}-{c[4:]}" for c in world.codes]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = caplog.get_records("call")
    assert any("ratelimit" in r.getMessage() for r in records)  # the throttled reset
    for record in records:
        line = formatter.format(record).lower()
        for secret in secrets:
            assert secret.lower() not in line, f"{secret!r} logged by {record.name}"

    with app.app_context():
        db = get_session()
        by_email = {email: name for name, email in PEOPLE.values()}
        templates = set()
        for message in mailbox.messages:
            [address] = message.envelope_to
            outbox_id = int(re.search(r"<outbox-(\d+)\.", message["Message-ID"]).group(1))
            row = db.get(OutboxMessage, outbox_id)
            templates.add(row.template)
            allowed = {by_email[address]}
            if row.template in ("gift_received", "gift_update"):
                gift = db.get(Gift, row.params["gift_id"])
                allowed |= {gift.giver.name, gift.recipient_name}
            subject = message["Subject"]
            text = message.get_body(preferencelist=("plain",)).get_content()
            html = message.get_body(preferencelist=("html",)).get_content()
            for word in (*THERAPY_WORDS, "session", "harbour", "@"):
                assert word not in subject.lower(), subject
            for body in (text, html):
                lowered = body.lower()
                for word in (*THERAPY_WORDS, "harbour", "@", *[c.lower() for c in world.codes]):
                    assert word not in lowered, (row.template, word)
                for name, _email in PEOPLE.values():
                    if name in allowed:
                        continue
                    for part in [name] + [p for p in name.split() if len(p) >= 4]:
                        if any(part in other for other in allowed):
                            continue  # "Maya" in her own message to the giver's name
                        assert part not in body, (row.template, address, part)
                if row.template == "gift_update":
                    for word in ("book", "used", "confirm", "voucher", "remaining"):
                        assert word not in lowered
        db.rollback()
    assert templates == {
        "invitation",
        "funding_decided",
        "gift_received",
        "gift_update",
        "password_reset",
    }


def test_database_errors_reach_the_logs_without_the_values_they_were_given(
    app, caplog, monkeypatch
):
    """An error's text can reach the logs. The engines keep bound parameters (names and
    addresses among them) out of it; PostgreSQL's own message can still quote a refused
    row ("DETAIL: Failing row contains ..."), so an unexpected database error is logged by
    its kind, SQLSTATE and stack, never by its text."""
    address = "secret.person@example.org"
    with app.app_context():
        db = get_session()
        with pytest.raises(IntegrityError) as caught:
            db.execute(insert(User).values(email=address.upper(), name="Secret Person"))
        db.rollback()
    assert "SQL parameters hidden" in str(caught.value)
    if app.extensions["grants.engine"].dialect.name == "sqlite":
        assert "secret" not in str(caught.value).lower()

    def failing():  # what a database error that no view expects looks like
        raise DataError("SELECT 1", {"email": address}, Exception(f"({address})"))

    def unreachable():  # the database went away
        raise OperationalError("SELECT 1", {"email": address}, Exception(f"({address})"))

    app.add_url_rule("/failing-for-the-test", view_func=failing)
    app.add_url_rule("/unreachable-for-the-test", view_func=unreachable)
    hear_everything(monkeypatch)
    caplog.set_level(logging.DEBUG)
    assert app.test_client().get("/failing-for-the-test").status_code == 500
    [record] = [r for r in caplog.records if "unhandled" in r.getMessage()]
    logged = logging.Formatter().format(record)
    assert "unhandled database error: Exception" in logged
    assert ", in failing" in logged  # where it was raised
    assert address not in logged.lower()
    caplog.clear()
    assert app.test_client().get("/unreachable-for-the-test").status_code == 503
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "database unavailable" in logged
    assert address not in logged.lower()
