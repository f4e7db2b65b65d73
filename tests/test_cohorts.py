"""Staff set up cohorts and fund their session budgets."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from grants.core.cohorts import cohort_funding
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort
from grants.core.models.ledger import Transfer
from grants.database import get_session
from tests.conftest import submit

GOOD = {
    "programme_id": "3",
    "region": "GB",
    "intake_name": "2027",
    "status": "upcoming",
    "currency": "GBP",
    "session_value": "90.00",
    "session_allowance": "12",
    "session_budget": "600",
    "gift_expiry_days": "30",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "approval_threshold": "6",
    "gift_limit_per_recipient": "6",
    "open_gift_limit": "5",
}


@pytest.fixture
def staff(auth, make_user):
    user = make_user("staff")
    auth.login(user.email)
    return user


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def test_staff_create_a_cohort(app, client, staff):
    response = submit(client, "/staff/cohorts/new", GOOD)
    assert response.status_code == 302
    page = client.get(response.location)
    assert "RADAR UK 2027" in page.text and "£90.00" in page.text
    with app.app_context():
        db = get_session()
        cohort = db.scalar(select(Cohort))
        assert (cohort.session_value, cohort.currency, cohort.region) == (9000, "GBP", "GB")
        assert cohort.ledger.unit == "session"
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "cohort.create"))
        assert entry.actor_id == staff.id and entry.origin == "127.0.0.1"
        assert entry.details["session_value"] == 9000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ends_on": "2026-12-31"}, "cannot end before it starts"),
        ({"session_allowance": "0"}, "Number must be between 1 and 1000."),
        ({"session_value": "90.005"}, "at most 2 decimal places"),
        ({"session_value": "abc"}, "Not a valid decimal value."),
        ({"region": "XX"}, "Not a valid choice."),
        ({"intake_name": ""}, "Name the intake"),
        ({"gift_expiry_days": "-3"}, "Number must be between 1 and 365."),
        ({"programme_id": "99"}, "Not a valid choice."),
        ({"approval_threshold": "-1"}, "Number must be between 0 and 1000."),
        ({"approval_threshold": ""}, "Enter a number of sessions."),
    ],
)
def test_bad_cohort_settings_are_explained_and_nothing_is_written(
    app, client, staff, change, message
):
    response = submit(client, "/staff/cohorts/new", {**GOOD, **change})
    assert response.status_code == 200
    assert message in response.text
    assert count(app, Cohort) == 0


def test_a_second_cohort_for_the_same_intake_is_refused(app, client, staff):
    submit(client, "/staff/cohorts/new", GOOD)
    response = submit(client, "/staff/cohorts/new", GOOD)
    assert "already has a cohort for this region and intake" in response.text
    assert count(app, Cohort) == 1


def test_funding_moves_sessions_into_the_budget_once(app, client, staff, make_cohort):
    cohort_id = make_cohort(session_budget=100)
    page = client.get(f"/staff/cohorts/{cohort_id}")
    request_id = str(uuid.uuid4())
    for _ in range(2):  # a double submit of the same form
        response = submit(
            client,
            f"/staff/cohorts/{cohort_id}/fund",
            {"sessions": "40", "request_id": request_id},
            form_page=f"/staff/cohorts/{cohort_id}",
        )
        assert response.status_code == 302
    with app.app_context():
        db = get_session()
        assert cohort_funding(db, db.get(Cohort, cohort_id)).funded == 40
        assert db.scalar(select(func.count()).select_from(Transfer)) == 1
    assert "Funded so far" in page.text


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ("0", "Fund at least one session."),
        ("-5", "Fund at least one session."),
        ("ten", "Not a valid integer value."),
        ("101", "more than the budget of 100"),
    ],
)
def test_bad_funding_is_refused(app, client, staff, make_cohort, sessions, message):
    cohort_id = make_cohort(session_budget=100)
    response = submit(
        client,
        f"/staff/cohorts/{cohort_id}/fund",
        {"sessions": sessions, "request_id": str(uuid.uuid4())},
        form_page=f"/staff/cohorts/{cohort_id}",
        follow=True,
    )
    assert message in response.text
    assert count(app, Transfer) == 0


def test_a_closed_cohort_takes_no_funding(app, client, staff, make_cohort):
    cohort_id = make_cohort(status="closed")
    response = submit(
        client,
        f"/staff/cohorts/{cohort_id}/fund",
        {"sessions": "5", "request_id": str(uuid.uuid4())},
        form_page=f"/staff/cohorts/{cohort_id}",
        follow=True,
    )
    assert "This cohort is closed" in response.text
    assert count(app, Transfer) == 0


def test_editing_keeps_the_budget_above_what_is_funded(app, client, staff, make_cohort):
    cohort_id = make_cohort(funded=50, session_budget=100, status="upcoming")
    url = f"/staff/cohorts/{cohort_id}/edit"
    base = {**GOOD, "region": "US", "currency": "USD", "session_value": "120.00"}
    response = submit(client, url, {**base, "session_budget": "40"})
    assert "cannot be less than the 50 sessions already funded" in response.text
    response = submit(client, url, {**base, "session_budget": "80", "status": "current"})
    assert response.status_code == 302
    base["session_budget"] = "80"
    response = submit(client, url, {**base, "status": "current", "currency": "GBP"})
    assert "only change while the cohort is upcoming" in response.text
    submit(client, url, {**base, "status": "closed"})
    response = submit(client, url, {**base, "status": "current"})
    assert "cannot be opened again" in response.text
    with app.app_context():
        db = get_session()
        cohort = db.get(Cohort, cohort_id)
        assert (cohort.status, cohort.session_budget, cohort.currency) == ("closed", 80, "USD")
        changes = db.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "cohort.update")
        ).all()
        assert changes[0]["changes"] == {
            "session_budget": 80,
            "status": "current",
            "session_allowance": 12,
        }


STAFF_PAGES = [
    ("get", "/staff/"),
    ("get", "/staff/cohorts/new"),
    ("post", "/staff/cohorts/new"),
    ("get", "/staff/cohorts/{id}"),
    ("get", "/staff/cohorts/{id}/edit"),
    ("post", "/staff/cohorts/{id}/edit"),
    ("post", "/staff/cohorts/{id}/fund"),
    ("get", "/staff/cohorts/{id}/invite"),
    ("post", "/staff/cohorts/{id}/invite"),
    ("get", "/staff/cohorts/{id}/import"),
    ("post", "/staff/cohorts/{id}/import"),
    ("post", "/staff/enrolments/1/resend"),
    ("post", "/staff/enrolments/1/revoke"),
    ("post", "/staff/enrolments/1/close"),
    ("get", "/staff/imports/1"),
    ("post", "/staff/imports/1/confirm"),
    ("post", "/staff/imports/1/discard"),
]


@pytest.mark.parametrize("role", [None, "ambassador", "partner", "finance", "admin"])
def test_staff_pages_are_closed_to_everyone_else(app, client, auth, make_user, make_cohort, role):
    cohort_id = make_cohort()
    if role:
        auth.login(make_user(role).email)
    token_page = client.get("/auth/login" if role is None else "/resources/")
    from tests.conftest import csrf_token

    token = csrf_token(token_page.text) if role else None
    for method, path in STAFF_PAGES:
        url = path.format(id=cohort_id)
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token} if token else {})
        if role is None:
            assert response.status_code in (302, 400), url  # to log in, or no CSRF token
            if response.status_code == 302:
                assert response.location.startswith("/auth/login")
        else:
            assert response.status_code == 403, (role, url)
    assert count(app, Transfer) == 0
