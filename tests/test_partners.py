"""Partners: booking with vouchers, confirming delivered sessions, what partners see and
are owed, partner grants, and admin's partner pages."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.funding import wallet_account
from grants.core.ledger import NewTransfer, apply_transfers
from grants.core.models.cohorts import Cohort
from grants.core.models.ledger import Transfer
from grants.core.models.partners import Partner, PartnerGrant, Voucher
from grants.core.money_ledger import funding_account, payable_account
from grants.core.partners import PartnerSettings, save_partner
from grants.core.vouchers import ALPHABET
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token, submit
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits

TODAY = date(2027, 3, 10)


@pytest.fixture
def world(app, make_user, make_cohort):
    """A US cohort ($120 a session) with an ambassador holding 3 credits, a partner P serving
    the US with one user, and a partner Q with its own user."""
    clock.set(clock.now().replace(year=2027, month=3, day=10))
    staff = make_user("staff", email="jo@example.org")
    maya = make_user("ambassador", email="maya@example.org", name="Maya Okafor")
    cohort_id = make_cohort(
        funded=50, session_allowance=10, approval_threshold=10, session_value=12_000
    )
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 3, staff)
    with app.app_context():
        db = get_session()
        ids = []
        for name in ("Harbour Therapy", "Quay Counselling"):
            settings = PartnerSettings(name=name, kind="therapy", currency="USD", regions=("US",))
            partner = commit_with_retry(db, lambda s=settings: save_partner(db, None, s))
            ids.append(partner.id)
    p_user = make_user("partner", email="desk@harbour.example", partner_id=ids[0])
    q_user = make_user("partner", email="desk@quay.example", partner_id=ids[1])
    return {
        "staff": staff,
        "maya": maya,
        "cohort_id": cohort_id,
        "p": ids[0],
        "q": ids[1],
        "p_user": p_user,
        "q_user": q_user,
    }


def need_redis() -> None:
    """Redis runs on the project's machines (and CI requires it); elsewhere, say so."""
    import os

    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("GRANTS_REQUIRE_REDIS") == "1":
            pytest.fail("Redis is required (GRANTS_REQUIRE_REDIS=1) but not on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def logged_in(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def book(client, world, partner="p", request_id=None):
    data = {"partner_id": str(world[partner]), "request_id": request_id or str(uuid.uuid4())}
    return submit(client, f"/wallet/cohorts/{world['cohort_id']}/book", data)


def the_voucher(app) -> Voucher:
    with app.app_context():
        db = get_session()
        voucher = db.scalar(select(Voucher).order_by(Voucher.id.desc()))
        db.expunge(voucher)
        return voucher


def confirm(client, code, when=TODAY, outcome="delivered"):
    return submit(
        client,
        "/partner/confirm",
        {"code": code, "session_date": when.isoformat(), "outcome": outcome},
    )


def balances(app, world):
    """(holder available, holder on hold, P owed in cents)."""
    with app.app_context():
        db = get_session()
        cohort = db.get(Cohort, world["cohort_id"])
        wallet = wallet_account(db, cohort, world["maya"].id)
        owed = payable_account(db, world["p"], "USD").available
        db.rollback()
        return wallet.available, wallet.debits_pending, owed


def test_booking_holds_one_credit_and_gives_a_code(app, world):
    holder = logged_in(app, world["maya"])
    page = holder.get(f"/wallet/cohorts/{world['cohort_id']}/book")
    assert "Harbour Therapy" in page.text and "Quay Counselling" in page.text
    assert book(holder, world).status_code == 302
    voucher = the_voucher(app)
    assert len(voucher.code) == 8 and set(voucher.code) <= set(ALPHABET)
    assert balances(app, world) == (2, 1, 0)
    shown = f"{voucher.code[:4]}-{voucher.code[4:]}"
    assert shown in holder.get("/wallet/").text
    submit(holder, f"/wallet/vouchers/{voucher.id}/cancel", form_page="/wallet/")
    assert the_voucher(app).status == "cancelled"
    assert balances(app, world) == (3, 0, 0)


def test_a_double_submit_books_once(app, world):
    holder = logged_in(app, world["maya"])
    request_id = str(uuid.uuid4())
    book(holder, world, request_id=request_id)
    book(holder, world, request_id=request_id)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Voucher)) == 1
    assert balances(app, world) == (2, 1, 0)


def test_no_credit_no_booking(app, world):
    holder = logged_in(app, world["maya"])
    for _ in range(3):
        book(holder, world)
    refused = book(holder, world)
    assert "no sessions available" in refused.text
    assert balances(app, world) == (0, 3, 0)


def test_confirming_uses_the_credit_and_pays_the_partner(app, world):
    book(logged_in(app, world["maya"]), world)
    code = the_voucher(app).code
    partner = logged_in(app, world["p_user"])
    response = confirm(partner, f" {code[:4].lower()}-{code[4:]} ")  # as people type it
    assert response.status_code == 302
    voucher = the_voucher(app)
    assert (voucher.status, voucher.amount, voucher.currency) == ("confirmed", 12_000, "USD")
    assert balances(app, world) == (2, 0, 12_000)
    home = partner.get("/partner/").text
    assert "$120.00" in home and f"{code[:4]}-{code[4:]}" in home
    assert "Maya" not in home  # the partner learns the code, not who holds it

    # The value is snapshotted: a later change to the cohort does not touch what is owed.
    with app.app_context():
        db = get_session()
        db.get(Cohort, world["cohort_id"]).session_value = 20_000
        db.commit()
    assert balances(app, world)[2] == 12_000
    again = confirm(partner, code)
    assert again.status_code == 422 and "already confirmed" in again.text


def test_a_failure_inside_the_confirmation_leaves_neither_half(app, world):
    book(logged_in(app, world["maya"]), world)
    voucher = the_voucher(app)
    # Inject a failure between the two transfers: the payment's id is already taken by a
    # different transfer, so the ledger refuses the batch after the credit's post.
    import grants.core.vouchers as vouchers

    with app.app_context():
        db = get_session()
        funding = funding_account(db, "USD")
        other = payable_account(db, world["q"], "USD")
        apply_transfers(
            db,
            [
                NewTransfer(
                    id=uuid.uuid5(vouchers._NAMESPACE, f"pay:{voucher.id}"),
                    debit_account_id=funding.id,
                    credit_account_id=other.id,
                    amount=1,
                    code="x",
                )
            ],
        )
        db.commit()
    response = confirm(logged_in(app, world["p_user"]), voucher.code)
    assert response.status_code == 422
    assert the_voucher(app).status == "booked"
    assert balances(app, world) == (2, 1, 0)  # the credit is still only held, nobody paid
    with app.app_context():
        posts = get_session().scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.pending_id == voucher.hold_transfer_id)
        )
    assert posts == 0


@pytest.mark.parametrize("who", ["q_user", "stranger_code"])
def test_another_partners_code_and_an_unknown_code_get_one_answer(app, world, who):
    book(logged_in(app, world["maya"]), world)
    code = the_voucher(app).code
    if who == "q_user":
        response = confirm(logged_in(app, world["q_user"]), code)
    else:
        response = confirm(logged_in(app, world["p_user"]), "ZZZZ-ZZZZ")
    assert response.status_code == 422
    assert "No booking with your organisation has that code" in response.text
    assert the_voucher(app).status == "booked"


def test_cancelled_and_expired_codes_are_refused(app, world):
    holder = logged_in(app, world["maya"])
    book(holder, world)
    first = the_voucher(app)
    submit(holder, f"/wallet/vouchers/{first.id}/cancel", form_page="/wallet/")
    partner = logged_in(app, world["p_user"])
    assert "cancelled by the person" in confirm(partner, first.code).text
    book(holder, world)
    second = the_voucher(app)
    clock.advance(timedelta(days=91))
    partner = logged_in(app, world["p_user"])  # a new session, months later
    late = confirm(partner, second.code, when=clock.now().date())
    assert late.status_code == 422 and "expired" in late.text
    assert the_voucher(app).status == "expired"
    assert balances(app, world) == (3, 0, 0)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (TODAY + timedelta(days=2), "cannot be in the future"),
        (TODAY - timedelta(days=30), "before the booking was made"),
    ],
)
def test_the_session_date_must_make_sense(app, world, when, message):
    book(logged_in(app, world["maya"]), world)
    response = confirm(logged_in(app, world["p_user"]), the_voucher(app).code, when=when)
    assert response.status_code == 422 and message in response.text


@pytest.mark.parametrize(
    ("policy", "paid", "holder"), [("pay", 12_000, (2, 0)), ("return", 0, (3, 0))]
)
def test_a_missed_session_follows_the_cohorts_policy(app, world, policy, paid, holder):
    with app.app_context():
        db = get_session()
        db.get(Cohort, world["cohort_id"]).missed_session_policy = policy
        db.commit()
    book(logged_in(app, world["maya"]), world)
    confirm(logged_in(app, world["p_user"]), the_voucher(app).code, outcome="missed")
    assert the_voucher(app).status == "missed"
    available, held, owed = balances(app, world)
    assert ((available, held), owed) == (holder, paid)


def test_two_partner_users_confirming_one_code_at_once(app, world, make_user):
    book(logged_in(app, world["maya"]), world)
    code = the_voucher(app).code
    second = make_user("partner", email="desk2@harbour.example", partner_id=world["p"])
    clients = [logged_in(app, world["p_user"]), logged_in(app, second)]
    tokens = [csrf_token(c.get("/partner/confirm").text) for c in clients]
    barrier = threading.Barrier(2)
    codes = []

    def go(n):
        barrier.wait()
        codes.append(
            clients[n]
            .post(
                "/partner/confirm",
                data={
                    "code": code,
                    "session_date": TODAY.isoformat(),
                    "outcome": "delivered",
                    "csrf_token": tokens[n],
                },
            )
            .status_code
        )

    threads = [threading.Thread(target=go, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [302, 422]
    assert balances(app, world)[2] == 12_000


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379"])
def test_guessing_codes_is_throttled_per_partner(app, world, make_user, storage):
    """Every attempt counts, and all the partner's logins share one budget. With Redis, as
    production runs, the count is shared by every worker."""
    from grants.limits import limiter

    if storage.startswith("redis"):
        need_redis()
    app.config["VOUCHER_ENTRY_LIMIT"] = "5 per minute"
    app.config["RATELIMIT_STORAGE_URI"] = storage
    limiter.init_app(app)
    limiter.reset()
    second_login = make_user("partner", email="desk2@harbour.example", partner_id=world["p"])
    clients = [logged_in(app, world["p_user"]), logged_in(app, second_login)]
    tokens = [csrf_token(c.get("/partner/confirm").text) for c in clients]
    answers = [
        clients[n % 2]
        .post(
            "/partner/confirm",
            data={
                "code": f"GUESS{n:03d}",
                "session_date": TODAY.isoformat(),
                "outcome": "delivered",
                "csrf_token": tokens[n % 2],
            },
        )
        .status_code
        for n in range(6)
    ]
    assert answers == [422] * 5 + [429]
    other_partner = logged_in(app, world["q_user"])  # another partner has its own budget
    assert confirm(other_partner, "GUESS999").status_code == 422
    limiter.reset()


def test_what_is_owed_is_sessions_at_their_value_plus_approved_grants(app, world, make_user):
    holder = logged_in(app, world["maya"])
    partner = logged_in(app, world["p_user"])
    for value in (12_000, 15_000):
        with app.app_context():
            db = get_session()
            db.get(Cohort, world["cohort_id"]).session_value = value
            db.commit()
        book(holder, world)
        confirm(partner, the_voucher(app).code)
    proposer, approver = logged_in(app, world["staff"]), logged_in(app, make_user("staff"))
    submit(
        proposer,
        "/staff/partner-grants",
        {"partner_id": str(world["p"]), "amount": "500.50", "purpose": "Outreach"},
    )
    with app.app_context():
        grant_id = get_session().scalar(select(PartnerGrant.id))
    submit(approver, f"/staff/partner-grants/{grant_id}/approve", form_page="/staff/")
    assert balances(app, world)[2] == 12_000 + 15_000 + 50_050
    assert "$770.50" in partner.get("/partner/").text


def test_partner_grants_need_a_second_member_of_staff(app, world, make_user):
    proposer = logged_in(app, world["staff"])
    bad = submit(
        proposer,
        "/staff/partner-grants",
        {"partner_id": str(world["p"]), "amount": "0", "purpose": "x"},
    )
    assert "between 0.01 and 1,000,000" in bad.text
    submit(
        proposer,
        "/staff/partner-grants",
        {"partner_id": str(world["p"]), "amount": "100", "purpose": "Outreach"},
    )
    with app.app_context():
        grant_id = get_session().scalar(select(PartnerGrant.id))
    refused = submit(
        proposer, f"/staff/partner-grants/{grant_id}/approve", form_page="/staff/", follow=True
    )
    assert "A different member of staff must approve" in refused.text
    assert balances(app, world)[2] == 0
    other = logged_in(app, make_user("staff"))
    submit(
        other,
        f"/staff/partner-grants/{grant_id}/decline",
        {"message": "Not this year"},
        form_page="/staff/",
    )
    with app.app_context():
        assert get_session().get(PartnerGrant, grant_id).status == "declined"
    again = submit(
        other, f"/staff/partner-grants/{grant_id}/approve", form_page="/staff/", follow=True
    )
    assert "already declined" in again.text
    assert balances(app, world)[2] == 0


def test_partners_see_only_their_own(app, world):
    holder = logged_in(app, world["maya"])
    book(holder, world, partner="q")
    confirm(logged_in(app, world["q_user"]), the_voucher(app).code)
    p_home = logged_in(app, world["p_user"]).get("/partner/").text
    assert "Quay" not in p_home and "No sessions confirmed yet" in p_home


@pytest.mark.parametrize("role", ["ambassador", "staff", "finance", "admin"])
def test_the_portal_is_for_partners(app, world, make_user, role):
    client = logged_in(app, make_user(role))
    assert client.get("/partner/").status_code == 403
    token = csrf_token(client.get("/resources/").text)
    assert client.post("/partner/confirm", data={"csrf_token": token}).status_code == 403


def test_admin_sets_up_a_partner_and_its_people(app, client, auth, make_user, mailbox):
    auth.login(make_user("admin").email)
    response = submit(
        client,
        "/admin/partners/new",
        {
            "name": "Backline",
            "kind": "nonprofit",
            "currency": "USD",
            "regions": ["US", "GB"],
            "contact_name": "Ops",
            "contact_email": "ops@backline.example",
            "payout_reference": "GB29 NWBK 6016 1331 9268 19",
            "active": "y",
        },
    )
    assert response.status_code == 302
    page = client.get(response.location).text
    assert "•••• 6819" in page and "6016 1331" not in page
    with app.app_context():
        partner = get_session().scalar(select(Partner).where(Partner.name == "Backline"))
        assert partner.region_codes == ["GB", "US"] and partner.payout_reference == "•••• 6819"
        partner_id = partner.id
    submit(
        client,
        f"/admin/partners/{partner_id}/users",
        {"name": "Ana Ops", "email": "ana@backline.example"},
        form_page=f"/admin/partners/{partner_id}",
    )
    [email] = mailbox.to("ana@backline.example")
    assert email["Subject"] == "Choose a new password"
    twin = submit(
        client,
        "/admin/partners/new",
        {"name": "Backline", "kind": "therapy", "currency": "USD", "regions": ["US"]},
    )
    assert "already a partner called Backline" in twin.text


@pytest.mark.parametrize("role", ["staff", "partner", "ambassador"])
def test_partner_admin_is_admins_only(app, make_user, role):
    client = logged_in(app, make_user(role))
    assert client.get("/admin/partners").status_code == 403
    token = csrf_token(client.get("/resources/").text)
    assert client.post("/admin/partners/new", data={"csrf_token": token}).status_code == 403


def test_nobody_confirms_their_own_booking(app, world):
    from grants.core.models.people import Role, User, UserRole

    with app.app_context():  # someone who is both (made before the rule below existed)
        db = get_session()
        person = db.get(User, world["maya"].id)
        person.partner_id = world["p"]
        person.roles.append(UserRole(role=Role.PARTNER))
        db.commit()
    holder = logged_in(app, world["maya"])
    book(holder, world)
    response = confirm(holder, the_voucher(app).code)
    assert response.status_code == 422 and "booked yourself" in response.text
    assert balances(app, world)[2] == 0


def test_a_partner_login_needs_an_email_of_its_own(app, client, auth, make_user, world):
    from grants.core.models.people import User

    auth.login(make_user("admin").email)
    for email in (world["maya"].email, world["staff"].email):
        response = submit(
            client,
            f"/admin/partners/{world['p']}/users",
            {"name": "Someone", "email": email},
            form_page=f"/admin/partners/{world['p']}",
            follow=True,
        )
        assert "needs an email of its own" in response.text
    with app.app_context():
        maya = get_session().get(User, world["maya"].id)
        assert maya.partner_id is None and "partner" not in maya.role_names


def test_a_double_submit_proposes_once(app, world):
    proposer = logged_in(app, world["staff"])
    page = proposer.get("/staff/partner-grants")
    request_id = page.text.split('name="request_id" type="hidden" value="')[1].split('"')[0]
    data = {
        "partner_id": str(world["p"]),
        "amount": "0.01",
        "purpose": "Outreach",
        "request_id": request_id,
        "csrf_token": csrf_token(page.text),
    }
    assert proposer.post("/staff/partner-grants", data=data).status_code == 302
    assert proposer.post("/staff/partner-grants", data=data).status_code == 302
    with app.app_context():
        amounts = get_session().scalars(select(PartnerGrant.amount)).all()
    assert amounts == [1]  # one proposal, of one cent (0.01 is a fine amount)


@pytest.mark.parametrize("amount", ["sNaN", "NaN", "Infinity", "-1", "1000000.01"])
def test_odd_amounts_are_refused(app, world, amount):
    response = submit(
        logged_in(app, world["staff"]),
        "/staff/partner-grants",
        {"partner_id": str(world["p"]), "amount": amount, "purpose": "x"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(PartnerGrant)) == 0


def test_a_currency_change_cannot_strand_a_booking(app, world, client, auth, make_user):
    book(logged_in(app, world["maya"]), world)
    auth.login(make_user("admin").email)
    refused = submit(
        client,
        f"/admin/partners/{world['p']}",
        {
            "name": "Harbour Therapy",
            "kind": "therapy",
            "currency": "GBP",
            "regions": ["US"],
            "active": "y",
        },
    )
    assert "cannot change while this partner has open bookings" in refused.text
    with app.app_context():  # changed behind the rules' back: confirmation still refuses
        db = get_session()
        db.get(Partner, world["p"]).currency = "GBP"
        db.commit()
    response = confirm(logged_in(app, world["p_user"]), the_voucher(app).code)
    assert response.status_code == 422
    assert "currency for this booking has changed" in response.text
    assert balances(app, world)[2] == 0


def test_the_sweep_expires_unconfirmed_bookings(app, world, runner):
    book(logged_in(app, world["maya"]), world)
    clock.advance(timedelta(days=90))
    assert "vouchers: 1 expired" in runner.invoke(args=["vouchers", "expire"]).output
    assert the_voucher(app).status == "expired"
    assert balances(app, world) == (3, 0, 0)
    assert "vouchers: 0 expired" in runner.invoke(args=["vouchers", "expire"]).output
