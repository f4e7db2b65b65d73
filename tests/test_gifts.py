"""Gifting credits to bandmates and crew: held until accepted, back on decline, revoke or
expiry; the cohort's rules; races; and the giver never learns what became of a gift."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.funding import approve, ask_for_funding, wallet_account
from grants.core.ledger import NewTransfer, apply_transfers, open_account
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.gifts import Gift
from grants.core.models.ledger import Transfer
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import BASE_URL, AuthActions, csrf_token, submit
from tests.test_funding import enrol_user

NEW = "river stone lantern"


def grant_credits(app, user, cohort_id, sessions, staff) -> None:
    """`sessions` credits in `user`'s wallet, issued the way the programme issues them."""
    with app.app_context():
        db = get_session()

        def work():
            person = db.get(User, user.id)
            enrolment = db.scalar(
                select(Enrolment).where(
                    Enrolment.user_id == user.id, Enrolment.cohort_id == cohort_id
                )
            )
            grant = ask_for_funding(db, person, enrolment, sessions)
            approve(db, db.get(User, staff.id), grant.id, sessions)

        commit_with_retry(db, work)


@pytest.fixture
def maya(app, make_user, make_cohort):
    """An ambassador holding 10 credits in a cohort whose gifts expire after 7 days."""
    staff = make_user("staff", email="jo@example.org")
    person = make_user("ambassador", email="maya@example.org", name="Maya Okafor")
    cohort_id = make_cohort(
        funded=100,
        session_allowance=20,
        approval_threshold=20,
        gift_expiry_days=7,
        open_gift_limit=5,
        gift_limit_per_recipient=6,
    )
    enrol_user(app, person, cohort_id)
    grant_credits(app, person, cohort_id, 10, staff)
    person.cohort_id = cohort_id
    person.staff = staff
    return person


def logged_in(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def send_gift(client, cohort_id, *, request_id=None, **fields):
    data = {
        "recipient_name": "Sam Rivera",
        "recipient_email": "sam@example.org",
        "relationship": "crew",
        "sessions": "2",
        "message": "For the tour.",
        "request_id": request_id or str(uuid.uuid4()),
        **fields,
    }
    return submit(client, f"/wallet/cohorts/{cohort_id}/gift", data)


def wallet_of(app, email, cohort_id):
    with app.app_context():
        db = get_session()
        user = db.scalar(select(User).where(User.email == email))
        account = wallet_account(db, db.get(Cohort, cohort_id), user.id)
        return account.available, account.debits_pending, account.credits_pending


def gift_link(mailbox, email) -> str:
    [*_, message] = mailbox.to(email)
    [link] = mailbox.links(message)
    return link[len(BASE_URL) :]


def accept_link(client, path, **fields):
    page = client.get(path)
    consent = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    data = {
        "consent": "y",
        "consent_text_id": consent,
        "new_password": NEW,
        "confirm_password": NEW,
        **fields,
    }
    response = client.post(path, data={**data, "csrf_token": csrf_token(page.text)})
    response.get_data()
    response.close()  # as a server does: the email this queued goes now
    return response


def the_gift(app) -> Gift:
    with app.app_context():
        db = get_session()
        gift = db.scalar(select(Gift).order_by(Gift.id.desc()))
        db.expunge(gift)
        return gift


def test_a_gift_is_held_then_accepted_by_someone_new(app, maya, mailbox):
    giver = logged_in(app, maya)
    assert send_gift(giver, maya.cohort_id).status_code == 302
    assert wallet_of(app, maya.email, maya.cohort_id) == (8, 2, 0)
    assert wallet_of(app, "sam@example.org", maya.cohort_id) == (0, 0, 2)
    [email] = mailbox.to("sam@example.org")
    assert email["Subject"] == "Maya Okafor sent you a gift"
    assert "therapy" not in email["Subject"].lower() and "For the tour." in mailbox.text(email)

    recipient = app.test_client()
    path = gift_link(mailbox, "sam@example.org")
    page = recipient.get(path)
    assert "Maya Okafor gifted you 2 sessions" in page.text and "For the tour." in page.text
    response = accept_link(recipient, path)
    assert response.status_code == 302 and response.location == "/wallet/"
    home = recipient.get("/wallet/").text
    assert "2 sessions gifted to you by Maya Okafor, accepted" in home
    assert wallet_of(app, "sam@example.org", maya.cohort_id) == (2, 0, 0)
    assert wallet_of(app, maya.email, maya.cohort_id) == (8, 0, 0)
    assert "2 sessions gifted to Sam Rivera (crew), accepted" in giver.get("/wallet/").text
    [update] = mailbox.to(maya.email)[-1:]
    assert "Sam Rivera accepted your gift" in mailbox.text(update)
    with app.app_context():
        sam = get_session().scalar(select(User).where(User.email == "sam@example.org"))
        assert sam.role_names == {"recipient"}
    assert recipient.get(path).status_code == 400  # once only


def test_declining_sends_the_credits_back(app, maya, mailbox):
    send_gift(logged_in(app, maya), maya.cohort_id)
    path = gift_link(mailbox, "sam@example.org")
    anyone = app.test_client()
    page = anyone.get(path)
    response = anyone.post(path + "/decline", data={"csrf_token": csrf_token(page.text)})
    response.get_data()
    response.close()
    assert response.status_code == 200 and "Gift declined" in response.text
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    assert the_gift(app).status == "declined"
    assert (
        anyone.post(path + "/decline", data={"csrf_token": csrf_token(page.text)}).status_code
        == 400
    )
    assert "Sam Rivera declined your gift" in mailbox.text(mailbox.to(maya.email)[-1])


def test_the_giver_can_revoke_while_it_waits(app, maya, mailbox):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id)
    path = gift_link(mailbox, "sam@example.org")
    gift = the_gift(app)
    submit(giver, f"/wallet/gifts/{gift.id}/revoke", form_page="/wallet/")
    assert the_gift(app).status == "revoked"
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    refused = app.test_client().get(path)
    assert refused.status_code == 400 and "already revoked" in refused.text


def test_an_unanswered_gift_expires(app, maya, mailbox, runner):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id)
    path = gift_link(mailbox, "sam@example.org")
    clock.advance(timedelta(days=7))
    giver = logged_in(app, maya)  # a week on, her session has long timed out
    # Before any sweep, every page already treats it as expired and its credits as back.
    home = giver.get("/wallet/").text
    assert "2 sessions gifted to Sam Rivera (crew), expired" in home
    assert re.search(r'<dd class="big">10</dd>', home)
    late = app.test_client().get(path)
    assert late.status_code == 400 and "expired" in late.text
    result = runner.invoke(args=["gifts", "expire"])
    assert "gifts: 1 expired" in result.output
    assert the_gift(app).status == "expired"
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    runner.invoke(args=["outbox", "send"])
    assert "was not answered in time" in mailbox.text(mailbox.to(maya.email)[-1])
    assert "gifts: 0 expired" in runner.invoke(args=["gifts", "expire"]).output


def test_accepting_in_the_last_moment_is_refused_once_it_has_passed(app, maya, mailbox):
    send_gift(logged_in(app, maya), maya.cohort_id)
    path = gift_link(mailbox, "sam@example.org")
    recipient = app.test_client()
    page = recipient.get(path)
    clock.advance(timedelta(days=7))  # the form was open while the week ran out
    consent = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    response = recipient.post(
        path,
        data={
            "consent": "y",
            "consent_text_id": consent,
            "new_password": NEW,
            "confirm_password": NEW,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 400 and "expired" in response.text
    assert the_gift(app).status == "expired"
    assert wallet_of(app, "sam@example.org", maya.cohort_id) == (0, 0, 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"recipient_email": "maya@example.org"}, "cannot gift sessions to yourself"),
        ({"recipient_email": "MAYA@example.org"}, "cannot gift sessions to yourself"),
        ({"sessions": "7"}, "at most 6 sessions from you"),
        ({"sessions": "0"}, "Gift at least one session."),
        ({"sessions": "999999999999999999999"}, "at most 6 sessions from you"),
        ({"recipient_email": "not-an-email"}, "not valid"),
        ({"relationship": "lover"}, "Not a valid choice."),
        ({"message": "x" * 281}, "Field cannot be longer than 280 characters."),
        ({"recipient_name": ""}, "Enter their name."),
    ],
)
def test_gifts_that_break_a_rule_are_refused_and_nothing_moves(app, maya, mailbox, fields, message):
    response = send_gift(logged_in(app, maya), maya.cohort_id, **fields)
    assert response.status_code == 200 and message in response.text
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Gift)) == 0
    assert mailbox.messages == []


def test_one_waiting_gift_per_recipient_and_a_limit_on_waiting_gifts(app, maya):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id, sessions="1")
    again = send_gift(giver, maya.cohort_id, sessions="1")
    assert "already have a gift waiting for Sam Rivera" in again.text
    for n in range(4):
        assert (
            send_gift(
                giver, maya.cohort_id, sessions="1", recipient_email=f"crew{n}@example.org"
            ).status_code
            == 302
        )
    sixth = send_gift(giver, maya.cohort_id, sessions="1", recipient_email="crew9@example.org")
    assert "You have 5 gifts waiting for an answer" in sixth.text


def test_a_double_submit_makes_one_gift(app, maya, mailbox):
    giver = logged_in(app, maya)
    request_id = str(uuid.uuid4())
    for _ in range(2):
        assert send_gift(giver, maya.cohort_id, request_id=request_id).status_code == 302
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(Gift)) == 1
        assert (
            db.scalar(select(func.count()).select_from(Transfer).where(Transfer.code == "gift"))
            == 1
        )
    assert len(mailbox.to("sam@example.org")) == 1


def test_gifted_credits_cannot_be_passed_on_unless_the_cohort_allows(app, maya, mailbox):
    send_gift(logged_in(app, maya), maya.cohort_id, sessions="3")
    recipient = app.test_client()
    accept_link(recipient, gift_link(mailbox, "sam@example.org"))
    refused = send_gift(recipient, maya.cohort_id, sessions="1", recipient_email="lee@example.org")
    assert "cannot be passed on" in refused.text
    with app.app_context():
        db = get_session()
        db.get(Cohort, maya.cohort_id).allow_regift = True
        db.commit()
    allowed = send_gift(recipient, maya.cohort_id, sessions="1", recipient_email="lee@example.org")
    assert allowed.status_code == 302


def test_gifts_at_once_beyond_the_balance(app, maya):
    with app.app_context():
        db = get_session()
        db.get(Cohort, maya.cohort_id).open_gift_limit = 20
        db.commit()
    clients = [logged_in(app, maya) for _ in range(6)]
    url = f"/wallet/cohorts/{maya.cohort_id}/gift"
    tokens = [csrf_token(c.get(url).text) for c in clients]
    barrier = threading.Barrier(6)
    codes = []

    def gift(n):
        barrier.wait()
        response = clients[n].post(
            url,
            data={
                "recipient_name": f"Crew {n}",
                "recipient_email": f"crew{n}@example.org",
                "relationship": "crew",
                "sessions": "3",
                "message": "",
                "request_id": str(uuid.uuid4()),
                "csrf_token": tokens[n],
            },
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=gift, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes.count(302) == 3  # 3 gifts of 3 fit in 10
    assert wallet_of(app, maya.email, maya.cohort_id) == (1, 9, 0)


def test_accept_and_revoke_at_once_exactly_one_wins(app, maya, mailbox):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id)
    path = gift_link(mailbox, "sam@example.org")
    gift_id = the_gift(app).id
    recipient = app.test_client()
    page = recipient.get(path)
    consent = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    giver_token = csrf_token(giver.get("/wallet/").text)
    barrier = threading.Barrier(2)
    results = {}

    def accept():
        barrier.wait()
        results["accept"] = recipient.post(
            path,
            data={
                "consent": "y",
                "consent_text_id": consent,
                "new_password": NEW,
                "confirm_password": NEW,
                "csrf_token": csrf_token(page.text),
            },
        ).status_code

    def revoke():
        barrier.wait()
        giver.post(f"/wallet/gifts/{gift_id}/revoke", data={"csrf_token": giver_token})

    threads = [threading.Thread(target=accept), threading.Thread(target=revoke)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    status = the_gift(app).status
    assert status in ("accepted", "revoked")
    giver_wallet = wallet_of(app, maya.email, maya.cohort_id)
    sam_wallet = wallet_of(app, "sam@example.org", maya.cohort_id)
    if status == "accepted":
        assert results["accept"] == 302 and (giver_wallet, sam_wallet) == ((8, 0, 0), (2, 0, 0))
    else:
        assert results["accept"] == 400 and (giver_wallet, sam_wallet) == ((10, 0, 0), (0, 0, 0))


def test_the_sweep_and_a_late_revoke_settle_once(app, maya, runner):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id)
    gift_id = the_gift(app).id
    clock.advance(timedelta(days=8))
    giver = logged_in(app, maya)  # a new session, days later
    token = csrf_token(giver.get("/wallet/").text)
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        runner.invoke(args=["gifts", "expire"])

    def revoke():
        barrier.wait()
        giver.post(f"/wallet/gifts/{gift_id}/revoke", data={"csrf_token": token})

    threads = [threading.Thread(target=sweep), threading.Thread(target=revoke)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert the_gift(app).status == "expired"
    with app.app_context():
        db = get_session()
        resolutions = db.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.code == "gift", Transfer.kind != "pending")
        )
        expiries = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "gift.expire")
        )
        told = db.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "gift_update")
        )
    assert (resolutions, expiries, told) == (1, 1, 1)


def test_the_giver_learns_nothing_of_what_the_recipient_does(app, maya, mailbox):
    """Render everything the giver can reach, let the recipient use the gift, render it all
    again: nothing changes."""
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id, sessions="5")
    recipient = app.test_client()
    accept_link(recipient, gift_link(mailbox, "sam@example.org"))

    pages = ["/wallet/", f"/wallet/cohorts/{maya.cohort_id}/gift"]

    def giver_view():
        # CSRF tokens and the gift form's request id differ each time they are drawn.
        token = re.compile(r'value="[^"]{36,}"')
        return [token.sub("", giver.get(url).text) for url in pages]

    giver_view()  # the first view shows (and uses up) the "on its way" message
    before = giver_view()
    mail_before = len(mailbox.to(maya.email))
    with app.app_context():  # the recipient uses three sessions (a booking, in time)
        db = get_session()
        cohort = db.get(Cohort, maya.cohort_id)
        sam = db.scalar(select(User).where(User.email == "sam@example.org"))
        redeemed = open_account(db, cohort.ledger, "redeemed")
        apply_transfers(
            db,
            [
                NewTransfer(
                    id=uuid.uuid4(),
                    debit_account_id=wallet_account(db, cohort, sam.id).id,
                    credit_account_id=redeemed.id,
                    amount=3,
                    code="booking",
                )
            ],
        )
        db.commit()
    assert giver_view() == before
    assert len(mailbox.to(maya.email)) == mail_before
    for message in mailbox.to(maya.email):
        text = mailbox.text(message)
        assert "used" not in text and "book" not in text and "remaining" not in text


def test_others_cannot_touch_a_gift(app, maya, make_user, enrol):
    send_gift(logged_in(app, maya), maya.cohort_id)
    gift_id = the_gift(app).id
    other = make_user("ambassador", email="other@example.org")
    enrol(other, maya.cohort_id)
    intruder = logged_in(app, other)
    token = csrf_token(intruder.get("/wallet/").text)
    assert (
        intruder.post(f"/wallet/gifts/{gift_id}/revoke", data={"csrf_token": token}).status_code
        == 404
    )
    assert intruder.get(f"/wallet/gifts/{gift_id}").status_code == 404
    assert (
        intruder.post(f"/wallet/gifts/{gift_id}/accept", data={"csrf_token": token}).status_code
        == 404
    )
    # No wallet in that cohort: not found, whatever the cohort.
    assert intruder.get(f"/wallet/cohorts/{maya.cohort_id}/gift").status_code == 404
    assert the_gift(app).status == "pending"
    staff = logged_in(app, make_user("staff"))
    assert staff.get(f"/wallet/cohorts/{maya.cohort_id}/gift").status_code == 403


@pytest.fixture
def enrol(app):
    return lambda user, cohort_id: enrol_user(app, user, cohort_id)


def test_a_logged_in_recipient_answers_from_the_wallet(app, maya, make_user, mailbox):
    sam = make_user("recipient", email="sam@example.org", name="Sam Rivera")
    send_gift(logged_in(app, maya), maya.cohort_id)
    client = logged_in(app, sam)
    home = client.get("/wallet/").text
    assert "Maya Okafor gifted you 2 sessions" in home
    gift_id = the_gift(app).id
    page = client.get(f"/wallet/gifts/{gift_id}")
    consent = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    client.post(
        f"/wallet/gifts/{gift_id}/accept",
        data={"consent": "y", "consent_text_id": consent, "csrf_token": csrf_token(page.text)},
    )
    assert the_gift(app).status == "accepted"
    assert wallet_of(app, sam.email, maya.cohort_id) == (2, 0, 0)


def test_no_more_than_the_balance(app, maya):
    with app.app_context():
        db = get_session()
        db.get(Cohort, maya.cohort_id).gift_limit_per_recipient = 50
        db.commit()
    response = send_gift(logged_in(app, maya), maya.cohort_id, sessions="11")
    assert "You have 10 sessions available to gift" in response.text
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)


def test_after_an_unswept_expiry_the_same_person_can_be_gifted_again(app, maya):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id, sessions="5")
    clock.advance(timedelta(days=7))
    giver = logged_in(app, maya)  # a new session, a week later
    page = giver.get(f"/wallet/cohorts/{maya.cohort_id}/gift")
    assert "You have <strong>10</strong> sessions available" in page.text
    assert send_gift(giver, maya.cohort_id, sessions="2").status_code == 302
    with app.app_context():
        states = sorted(get_session().scalars(select(Gift.status)).all())
    assert states == ["expired", "pending"]
    assert wallet_of(app, maya.email, maya.cohort_id) == (8, 2, 0)


def test_a_disabled_account_cannot_be_gifted(app, maya, make_user, mailbox):
    sam = make_user("recipient", email="sam@example.org")
    with app.app_context():
        db = get_session()
        db.get(User, sam.id).active = False
        db.commit()
    response = send_gift(logged_in(app, maya), maya.cohort_id)
    assert "cannot be gifted to that address" in response.text
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)


def test_closing_the_cohort_ends_waiting_gifts(app, maya, mailbox):
    send_gift(logged_in(app, maya), maya.cohort_id, sessions="3")
    path = gift_link(mailbox, "sam@example.org")
    staff = logged_in(app, maya.staff)
    from tests.test_cohorts import GOOD

    closed = {
        **GOOD,
        "region": "US",
        "currency": "USD",
        "session_value": "120.00",
        "session_allowance": "20",
        "approval_threshold": "20",
        "gift_expiry_days": "7",
        "session_budget": "500",
        "status": "closed",
    }
    assert submit(staff, f"/staff/cohorts/{maya.cohort_id}/edit", closed).status_code == 302
    assert the_gift(app).status == "expired"
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    assert app.test_client().get(path).status_code == 400


def test_the_limit_on_waiting_gifts_holds_when_they_are_sent_at_once(app, maya):
    with app.app_context():
        db = get_session()
        db.get(Cohort, maya.cohort_id).open_gift_limit = 2
        db.commit()
    clients = [logged_in(app, maya) for _ in range(6)]
    url = f"/wallet/cohorts/{maya.cohort_id}/gift"
    tokens = [csrf_token(c.get(url).text) for c in clients]
    barrier = threading.Barrier(6)
    codes = []

    def gift(n):
        barrier.wait()
        codes.append(
            clients[n]
            .post(
                url,
                data={
                    "recipient_name": f"Crew {n}",
                    "recipient_email": f"crew{n}@example.org",
                    "relationship": "crew",
                    "sessions": "1",
                    "message": "",
                    "request_id": str(uuid.uuid4()),
                    "csrf_token": tokens[n],
                },
            )
            .status_code
        )

    threads = [threading.Thread(target=gift, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes.count(302) == 2
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Gift)) == 2


def test_two_givers_naming_one_new_address_at_once(app, maya, make_user, enrol):
    other = make_user("ambassador", email="lena@example.org", name="Lena")
    enrol(other, maya.cohort_id)
    grant_credits(app, other, maya.cohort_id, 4, maya.staff)
    clients = [logged_in(app, maya), logged_in(app, other)]
    url = f"/wallet/cohorts/{maya.cohort_id}/gift"
    tokens = [csrf_token(c.get(url).text) for c in clients]
    barrier = threading.Barrier(2)
    codes = []

    def gift(n):
        barrier.wait()
        codes.append(
            clients[n]
            .post(
                url,
                data={
                    "recipient_name": "Sam",
                    "recipient_email": "sam@example.org",
                    "relationship": "crew",
                    "sessions": "1",
                    "message": "",
                    "request_id": str(uuid.uuid4()),
                    "csrf_token": tokens[n],
                },
            )
            .status_code
        )

    threads = [threading.Thread(target=gift, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [302, 302]
    with app.app_context():
        db = get_session()
        assert (
            db.scalar(select(func.count()).select_from(User).where(User.email == "sam@example.org"))
            == 1
        )
        assert db.scalar(select(func.count()).select_from(Gift)) == 2


def test_gifting_each_other_at_once(app, maya, make_user, enrol):
    other = make_user("ambassador", email="lena@example.org", name="Lena")
    enrol(other, maya.cohort_id)
    grant_credits(app, other, maya.cohort_id, 4, maya.staff)
    pairs = [(maya, other), (other, maya)]
    clients = [logged_in(app, giver) for giver, _ in pairs]
    url = f"/wallet/cohorts/{maya.cohort_id}/gift"
    tokens = [csrf_token(c.get(url).text) for c in clients]
    barrier = threading.Barrier(2)
    codes = []

    def gift(n):
        barrier.wait()
        codes.append(
            clients[n]
            .post(
                url,
                data={
                    "recipient_name": "Friend",
                    "recipient_email": pairs[n][1].email,
                    "relationship": "bandmate",
                    "sessions": "1",
                    "message": "",
                    "request_id": str(uuid.uuid4()),
                    "csrf_token": tokens[n],
                },
            )
            .status_code
        )

    threads = [threading.Thread(target=gift, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [302, 302]


def _settled_gifts(app):
    """Per gift: its state, its hold's resolutions, its audit entries and emails to the giver."""
    with app.app_context():
        db = get_session()
        gifts = db.scalars(select(Gift).order_by(Gift.id)).all()
        outcome = {}
        for gift in gifts:
            kinds = db.scalars(select(Transfer.kind).where(Transfer.pending_id == gift.transfer_id))
            audited = db.scalar(
                select(func.count()).where(
                    AuditEntry.action == "gift.expire", AuditEntry.object_id == str(gift.id)
                )
            )
            told = [
                (m.to_address, m.locale)
                for m in db.scalars(
                    select(OutboxMessage).where(OutboxMessage.template == "gift_update")
                )
                if m.params == {"gift_id": gift.id}
            ]
            outcome[gift.recipient_name] = (gift.status, sorted(kinds), audited, told)
        return outcome


def test_the_sweep_settles_a_backlog_together_each_gift_as_on_its_own(app, maya, runner):
    giver = logged_in(app, maya)
    for name, sessions in (("Sam", 2), ("Alex", 3), ("Lee", 1)):
        send_gift(
            giver,
            maya.cohort_id,
            recipient_name=name,
            sessions=str(sessions),
            recipient_email=f"{name.lower()}@example.org",
        )
    with app.app_context():
        db = get_session()
        db.get(User, maya.id).locale = "es"
        db.commit()
    assert wallet_of(app, maya.email, maya.cohort_id) == (4, 6, 0)
    clock.advance(timedelta(days=7))
    assert "gifts: 3 expired" in runner.invoke(args=["gifts", "expire"]).output
    told = [(maya.email, "es")]
    assert _settled_gifts(app) == {
        name: ("expired", ["expire"], 1, told) for name in ("Sam", "Alex", "Lee")
    }
    assert wallet_of(app, maya.email, maya.cohort_id) == (10, 0, 0)
    assert "gifts: 0 expired" in runner.invoke(args=["gifts", "expire"]).output


def test_the_sweep_closes_gifts_whose_holds_the_ledger_already_lapsed(app, maya, runner):
    giver = logged_in(app, maya)
    send_gift(giver, maya.cohort_id, sessions="2")
    send_gift(giver, maya.cohort_id, recipient_name="Alex", recipient_email="alex@example.org")
    clock.advance(timedelta(days=7))
    # A session taken from her wallet: the ledger lapses the two holds on it as it goes,
    # while the gifts themselves wait for the sweep.
    with app.app_context():
        db = get_session()
        cohort = db.get(Cohort, maya.cohort_id)
        apply_transfers(
            db,
            [
                NewTransfer(
                    id=uuid.uuid4(),
                    debit_account_id=wallet_account(db, cohort, maya.id).id,
                    credit_account_id=open_account(db, cohort.ledger, "redeemed").id,
                    amount=1,
                    code="booking",
                )
            ],
        )
        db.commit()
        lapsed = db.scalar(
            select(func.count()).where(Transfer.code == "gift", Transfer.kind == "expire")
        )
    assert lapsed == 2
    assert "gifts: 2 expired" in runner.invoke(args=["gifts", "expire"]).output
    settled = _settled_gifts(app)
    told = [(maya.email, "en")]
    assert settled == {name: ("expired", ["expire"], 1, told) for name in ("Sam Rivera", "Alex")}
    assert wallet_of(app, maya.email, maya.cohort_id) == (9, 0, 0)


def test_a_page_the_ledger_refuses_is_settled_one_gift_at_a_time(app):
    """One refused item must not hold up the rest of its page: the sweep goes through that
    page again one item per transaction, and only the refused item is left."""
    from grants.core.errors import InvalidInput
    from grants.core.sweep import sweep

    waiting, settled_alone = [1, 2, 3], []

    def settle_many(session, ids):
        raise InvalidInput("item 2 is refused")

    def settle(session, item):
        if item == 2:
            return False
        settled_alone.append(item)
        waiting.remove(item)
        return True

    with app.app_context():
        assert sweep(get_session(), lambda s: list(waiting), settle, settle_many=settle_many) == 2
    assert settled_alone == [1, 3] and waiting == [2]
