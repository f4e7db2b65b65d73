"""Asking for funding, and staff deciding: every credit issued is a ledger transfer from a
funded budget, within the allowance, approved by someone else, twice above the threshold."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.funding import wallet_account
from grants.core.models.cohorts import Cohort, Enrolment, EnrolmentStatus
from grants.core.models.funding import Grant
from grants.core.models.ledger import Transfer
from grants.core.models.people import Role, User, UserRole
from grants.core.programmes import ConsentText
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token, submit


def enrol_user(app, user, cohort_id: int) -> int:
    """An active place for `user`, as if the invitation had been accepted."""
    with app.app_context():
        db = get_session()

        def work():
            cohort = db.get(Cohort, cohort_id)
            consent = db.scalar(
                select(ConsentText).where(ConsentText.programme_id == cohort.programme_id)
            )
            enrolment = Enrolment(
                cohort_id=cohort_id,
                user_id=user.id,
                artist_name="Band",
                country="US",
                status=EnrolmentStatus.ACTIVE,
                invitations_sent=1,
                activated_at=clock.now(),
                consent_text_id=consent.id,
                consented_at=clock.now(),
            )
            db.add(enrolment)
            person = db.get(User, user.id)
            if not person.has_role(Role.AMBASSADOR):
                person.roles.append(UserRole(role=Role.AMBASSADOR))
            db.flush()
            return enrolment.id

        return commit_with_retry(db, work)


@pytest.fixture
def enrol(app):
    """enrol(user, cohort_id): an active place, as if the invitation had been accepted."""
    return lambda user, cohort_id: enrol_user(app, user, cohort_id)


@pytest.fixture
def setting(app, make_user, make_cohort, enrol):
    """An ambassador in a funded cohort (allowance 10, threshold 6) and two staff."""
    ambassador = make_user("ambassador", email="maya@example.org", name="Maya")
    cohort_id = make_cohort(funded=50, session_allowance=10, approval_threshold=6)
    enrol(ambassador, cohort_id)
    return {
        "ambassador": ambassador,
        "cohort_id": cohort_id,
        "staff": make_user("staff", email="jo@example.org"),
        "staff2": make_user("staff", email="priya@example.org"),
    }


def as_user(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def ask(client, cohort_id, sessions):
    return submit(client, f"/wallet/cohorts/{cohort_id}/ask", {"sessions": str(sessions)})


def decide(client, grant_id, action, **data):
    return submit(
        client,
        f"/staff/requests/{grant_id}/{action}",
        data,
        form_page=f"/staff/requests/{grant_id}",
    )


def the_grant(app) -> Grant:
    with app.app_context():
        db = get_session()
        grant = db.scalar(select(Grant).order_by(Grant.id.desc()))
        db.expunge(grant)
        return grant


def available(app, user, cohort_id) -> int:
    with app.app_context():
        db = get_session()
        return wallet_account(db, db.get(Cohort, cohort_id), user.id).available


def transfers(app) -> int:
    with app.app_context():
        return get_session().scalar(
            select(func.count()).select_from(Transfer).where(Transfer.code == "grant")
        )


def test_ask_approve_in_part_and_the_credits_land(app, setting, mailbox):
    ambassador = as_user(app, setting["ambassador"])
    home = ambassador.get("/wallet/")
    assert "Ask for funded sessions" in home.text
    assert ask(ambassador, setting["cohort_id"], 6).status_code == 302
    assert "is with programme staff" in ambassador.get("/wallet/").text

    staff = as_user(app, setting["staff"])
    queue = staff.get("/staff/requests")
    assert "Maya" in queue.text and "RADAR US 2027" in queue.text
    grant = the_grant(app)
    assert decide(staff, grant.id, "approve", sessions="4").status_code == 302

    grant = the_grant(app)
    assert (grant.status, grant.sessions_approved) == ("approved", 4)
    assert available(app, setting["ambassador"], setting["cohort_id"]) == 4
    page = ambassador.get("/wallet/").text
    assert "4 sessions approved (of 6 asked for)" in page
    assert "Still open in your allowance" in page
    [email] = mailbox.to("maya@example.org")
    assert email["Subject"] == "An update on your request"
    assert "4 sessions of the 6 you asked for" in mailbox.text(email)


def test_decline_with_a_message(app, setting, mailbox):
    ambassador = as_user(app, setting["ambassador"])
    ask(ambassador, setting["cohort_id"], 3)
    staff = as_user(app, setting["staff"])
    grant = the_grant(app)
    empty = decide(staff, grant.id, "decline", message="  ")
    assert empty.status_code == 400 and "Write a short message" in empty.text
    decide(staff, grant.id, "decline", message="Please talk to Jo first.")
    assert the_grant(app).status == "declined"
    assert transfers(app) == 0
    [email] = mailbox.to("maya@example.org")
    assert "Please talk to Jo first." in mailbox.text(email)
    assert "therapy" not in email["Subject"].lower()


def test_withdraw_while_pending_and_ask_again(app, setting):
    ambassador = as_user(app, setting["ambassador"])
    ask(ambassador, setting["cohort_id"], 3)
    again = ask(ambassador, setting["cohort_id"], 2)
    assert "already have a request waiting" in again.text
    grant = the_grant(app)
    submit(ambassador, f"/wallet/requests/{grant.id}/withdraw", form_page="/wallet/")
    assert the_grant(app).status == "withdrawn"
    assert ask(ambassador, setting["cohort_id"], 2).status_code == 302
    staff = as_user(app, setting["staff"])
    refused = decide(staff, grant.id, "approve", sessions="3")
    assert refused.status_code == 409 and "already withdrawn" in refused.text


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ("11", "up to 10 more sessions"),
        ("0", "Ask for at least one session."),
        ("-2", "Ask for at least one session."),
        ("lots", "Not a valid integer value."),
        ("99999999999999999999", "up to 10 more sessions"),
    ],
)
def test_asking_is_bounded_by_the_allowance(app, setting, sessions, message):
    ambassador = as_user(app, setting["ambassador"])
    response = ask(ambassador, setting["cohort_id"], sessions)
    assert response.status_code == 200 and message in response.text
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Grant)) == 0


def test_the_allowance_counts_what_was_issued(app, setting):
    ambassador = as_user(app, setting["ambassador"])
    staff = as_user(app, setting["staff"])
    ask(ambassador, setting["cohort_id"], 6)
    decide(staff, the_grant(app).id, "approve", sessions="6")
    assert "up to 4 more sessions" in ask(ambassador, setting["cohort_id"], 5).text


def test_above_the_threshold_two_different_staff_must_approve(app, setting, mailbox):
    ambassador = as_user(app, setting["ambassador"])
    ask(ambassador, setting["cohort_id"], 8)
    grant_id = the_grant(app).id
    first, second = as_user(app, setting["staff"]), as_user(app, setting["staff2"])
    decide(first, grant_id, "approve", sessions="8")
    grant = the_grant(app)
    assert (grant.status, grant.sessions_proposed) == ("second", 8)
    assert transfers(app) == 0 and mailbox.messages == []  # no credit moves yet

    again = decide(first, grant_id, "approve", sessions="8")
    assert again.status_code == 409 and "a different member of staff" in again.text
    too_many = decide(second, grant_id, "approve", sessions="9")
    assert "at most the 8 sessions proposed" in too_many.text
    decide(second, grant_id, "approve", sessions="8")
    assert the_grant(app).status == "approved"
    assert available(app, setting["ambassador"], setting["cohort_id"]) == 8
    assert len(mailbox.to("maya@example.org")) == 1


def test_a_threshold_of_zero_means_every_grant_needs_two(app, make_user, make_cohort, enrol):
    person = make_user("ambassador")
    cohort_id = make_cohort(funded=10, approval_threshold=0)
    enrol(person, cohort_id)
    ask(as_user(app, person), cohort_id, 1)
    decide(as_user(app, make_user("staff")), the_grant(app).id, "approve", sessions="1")
    assert the_grant(app).status == "second"


def test_nobody_decides_their_own_request(app, make_user, make_cohort, enrol):
    both = make_user("staff", "ambassador", email="both@example.org")
    cohort_id = make_cohort(funded=10)
    enrol(both, cohort_id)
    client = as_user(app, both)
    ask(client, cohort_id, 2)
    grant_id = the_grant(app).id
    for action, data in (("approve", {"sessions": "2"}), ("decline", {"message": "no"})):
        response = decide(client, grant_id, action, **data)
        assert response.status_code == 409 and "request of your own" in response.text
    assert the_grant(app).status == "pending"


def test_a_budget_that_cannot_cover_it_is_refused(app, make_user, make_cohort, enrol):
    person = make_user("ambassador")
    cohort_id = make_cohort(funded=3, session_allowance=10)
    enrol(person, cohort_id)
    ask(as_user(app, person), cohort_id, 5)
    response = decide(as_user(app, make_user("staff")), the_grant(app).id, "approve", sessions="5")
    assert response.status_code == 409
    assert "has 3 funded sessions left, not enough for 5" in response.text
    assert the_grant(app).status == "pending" and transfers(app) == 0


def test_a_double_submit_of_the_approval_issues_once(app, setting):
    ask(as_user(app, setting["ambassador"]), setting["cohort_id"], 4)
    grant_id = the_grant(app).id
    staff = as_user(app, setting["staff"])
    page = staff.get(f"/staff/requests/{grant_id}")
    token = csrf_token(page.text)
    first = staff.post(
        f"/staff/requests/{grant_id}/approve", data={"sessions": "4", "csrf_token": token}
    )
    second = staff.post(
        f"/staff/requests/{grant_id}/approve", data={"sessions": "4", "csrf_token": token}
    )
    assert first.status_code == 302
    assert second.status_code == 409 and "already approved" in second.text
    assert transfers(app) == 1
    assert available(app, setting["ambassador"], setting["cohort_id"]) == 4


def test_two_staff_at_the_same_moment_exactly_one_decision_wins(app, setting):
    ask(as_user(app, setting["ambassador"]), setting["cohort_id"], 4)
    grant_id = the_grant(app).id
    clients = [as_user(app, setting["staff"]), as_user(app, setting["staff2"])]
    tokens = [csrf_token(c.get(f"/staff/requests/{grant_id}").text) for c in clients]
    barrier = threading.Barrier(2)
    results = []

    def act(n):
        barrier.wait()
        action, data = (
            ("approve", {"sessions": "4"}) if n == 0 else ("decline", {"message": "Not now."})
        )
        response = clients[n].post(
            f"/staff/requests/{grant_id}/{action}", data={**data, "csrf_token": tokens[n]}
        )
        results.append((action, response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=act, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for _, code, _ in results)
    assert codes == [302, 409]
    [(_, _, loser)] = [r for r in results if r[1] == 409]
    assert "Someone else got there first" in loser
    grant = the_grant(app)
    assert grant.status in ("approved", "declined")
    assert transfers(app) == (1 if grant.status == "approved" else 0)


def test_an_upfront_cohort_issues_the_allowance_on_joining(
    app, client, make_user, make_cohort, mailbox
):
    staff = make_user("staff")
    cohort_id = make_cohort(funded=20, session_allowance=8, upfront_allowance=True)
    AuthActions(client).login(staff.email)
    submit(
        client,
        f"/staff/cohorts/{cohort_id}/invite",
        {"name": "Ana", "artist_name": "A", "email": "ana@example.org", "country": "US"},
    )
    from tests.test_enrolment import accept, link_in

    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/staff/").text)})
    accept(client, link_in(mailbox, "ana@example.org"))
    page = client.get("/wallet/").text
    assert "8 sessions issued when you joined" in page
    grant = the_grant(app)
    assert (grant.kind, grant.status, grant.sessions_approved) == ("upfront", "approved", 8)


def test_an_upfront_allowance_the_budget_cannot_cover_waits_for_staff(
    app, client, make_user, make_cohort, mailbox
):
    staff = make_user("staff")
    cohort_id = make_cohort(funded=5, session_allowance=8, upfront_allowance=True)
    AuthActions(client).login(staff.email)
    submit(
        client,
        f"/staff/cohorts/{cohort_id}/invite",
        {"name": "Ana", "artist_name": "A", "email": "ana@example.org", "country": "US"},
    )
    from tests.test_enrolment import accept, link_in

    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/staff/").text)})
    assert accept(client, link_in(mailbox, "ana@example.org")).status_code == 302
    grant = the_grant(app)
    assert (grant.kind, grant.status) == ("upfront", "pending")
    assert transfers(app) == 0


def test_ambassadors_cannot_touch_each_others_requests(app, setting, make_user, enrol):
    other = make_user("ambassador", email="other@example.org")
    enrol(other, setting["cohort_id"])
    ask(as_user(app, setting["ambassador"]), setting["cohort_id"], 2)
    grant_id = the_grant(app).id
    intruder = as_user(app, other)
    response = submit(intruder, f"/wallet/requests/{grant_id}/withdraw", form_page="/wallet/")
    assert response.status_code == 404
    assert the_grant(app).status == "pending"
    assert "other@example.org" not in intruder.get("/wallet/").text
    assert intruder.get(f"/staff/requests/{grant_id}").status_code == 403
    # Asking in a cohort where one has no place: not found, whoever asks.
    assert intruder.get("/wallet/cohorts/999/ask").status_code == 404


@pytest.mark.parametrize("role", ["partner", "finance", "admin", "recipient"])
def test_the_queue_is_staff_only(app, make_user, setting, role):
    client = as_user(app, make_user(role))
    assert client.get("/staff/requests").status_code == 403
    token = csrf_token(client.get("/resources/").text)
    assert client.post("/staff/requests/1/approve", data={"csrf_token": token}).status_code == 403
