"""Logging in and out, the role check on every area, and the session's life."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import PASSWORD, csrf_token

AREAS = {
    "ambassador": "/wallet/",
    "recipient": "/wallet/",
    "partner": "/partner/",
    "staff": "/staff/",
    "finance": "/finance/",
    "admin": "/admin/",
}


def test_the_login_page_renders_with_a_csrf_token(client):
    page = client.get("/auth/login")
    assert page.status_code == 200
    assert csrf_token(page.text)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_root_sends_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/auth/login")


@pytest.mark.parametrize("role", list(AREAS))
def test_each_role_lands_on_its_home(client, auth, make_user, role):
    user = make_user(role)
    response = auth.login(user.email)
    assert response.status_code == 302
    assert response.location == AREAS[role]
    assert client.get(AREAS[role]).status_code == 200


@pytest.mark.parametrize("role", list(AREAS))
def test_every_other_area_is_closed_to_a_role(client, auth, make_user, role):
    auth.login(make_user(role).email)
    for other_role, area in AREAS.items():
        if area != AREAS[role]:
            assert client.get(area).status_code == 403, (role, other_role)


def test_anonymous_visitors_are_sent_to_login_from_every_area(client):
    for area in set(AREAS.values()):
        response = client.get(area)
        assert response.status_code == 302
        assert response.location.startswith("/auth/login?next=")


def test_the_public_resources_page_needs_no_login(app, client):
    from grants.core.resources import load_seed

    with app.app_context():
        db = get_session()
        load_seed(db)
        db.commit()
    page = client.get("/resources/")
    assert page.status_code == 200 and "988" in page.text and "116 123" in page.text


def test_login_records_an_audit_entry(app, auth, make_user):
    user = make_user("staff")
    auth.login(user.email)
    with app.app_context():
        actions = (
            get_session()
            .scalars(select(AuditEntry.action).where(AuditEntry.actor_id == user.id))
            .all()
        )
    assert actions == ["auth.login"]


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth, make_user):
    user = make_user("ambassador")
    wrong = auth.login(user.email, "not the password at all")
    unknown = auth.login("nobody@example.org", PASSWORD)
    malformed = auth.login("not an email", PASSWORD)
    for response in (wrong, unknown, malformed):
        assert response.status_code == 200
        assert "That email and password do not match an account." in response.text
    assert client.get("/wallet/").status_code == 302


def test_a_disabled_user_cannot_log_in(app, auth, make_user):
    user = make_user("ambassador")
    with app.app_context():
        db = get_session()
        db.get(User, user.id).active = False
        db.commit()
    response = auth.login(user.email)
    assert "That email and password do not match an account." in response.text


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", PASSWORD, "Enter your email."),
        ("someone@example.org", "", "Enter your password."),
        ("x" * 300 + "@example.org", PASSWORD, "Field cannot be longer than 254 characters."),
    ],
)
def test_bad_login_input_is_explained_next_to_its_field(client, email, password, message):
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 200
    assert message in response.text
    assert 'aria-invalid="true"' in response.text


def test_login_without_a_csrf_token_is_refused(client, make_user):
    user = make_user("staff")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert client.get("/staff/").status_code == 302


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(auth, client, make_user):
    user = make_user("staff")
    assert auth.login(user.email, next_url="/staff/").location == "/staff/"
    auth.logout()
    for unsafe in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert auth.login(user.email, next_url=unsafe).location == "/staff/"
        auth.logout()


def test_logout_needs_post_and_a_token(client, auth, make_user):
    auth.login(make_user("staff").email)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/staff/").status_code == 200  # still logged in
    response = auth.logout()
    assert response.status_code == 302 and response.location == "/auth/login"
    assert client.get("/staff/").status_code == 302


def test_a_new_session_generation_ends_old_sessions(app, client, auth, make_user):
    user = make_user("staff")
    auth.login(user.email)
    with app.app_context():
        db = get_session()
        db.get(User, user.id).session_generation += 1
        db.commit()
    assert client.get("/staff/").status_code == 302


def test_the_session_is_renewed_at_login(client, auth, make_user):
    user = make_user("staff")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    auth.login(user.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_unknown_pages_get_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page" in response.text


def test_a_user_with_no_role_is_told_so(client, auth, make_user):
    response = auth.login(make_user().email)
    assert response.location == "/auth/no-role"
    assert "does not hold a role" in client.get("/auth/no-role").text
