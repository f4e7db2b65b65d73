"""Login sessions live on the server: logout, a password change or a disabled account
ends them for every copy of the cookie; they are renewed at login and time out when idle
and after a fixed time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from grants.core.clock import clock
from grants.core.models.sessions import LoginSession
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token


def _copy_cookie(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def _in(client, url="/wallet/") -> bool:
    return client.get(url).status_code == 200


def test_a_cookie_copied_before_logout_no_longer_works(app, client, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(maya.email)
    thief = _copy_cookie(app, client)
    assert _in(thief)  # the copy works while the session lives...
    AuthActions(client).logout()
    assert not _in(client)
    response = thief.get("/wallet/")  # ...and not after logout
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    with app.app_context():
        [row] = get_session().scalars(select(LoginSession)).all()
        assert row.ended_reason == "logout"


def test_login_starts_a_new_session(app, client, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    client.get("/auth/login")
    with client.session_transaction() as planted:
        planted["sid"] = "chosen-by-an-attacker"
        planted["planted"] = "yes"
    before = client.get_cookie("session").value
    AuthActions(client).login(maya.email)
    assert client.get_cookie("session").value != before
    with client.session_transaction() as fresh:
        assert "planted" not in fresh and fresh["sid"] != "chosen-by-an-attacker"
    # Two logins are two sessions: one logout leaves the other alone.
    other = app.test_client()
    AuthActions(other).login(maya.email)
    AuthActions(client).logout()
    assert _in(other)


def test_a_password_change_ends_the_other_sessions(app, client, make_user):
    from grants.core.models.people import User
    from grants.core.people import set_password

    maya = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(maya.email)
    with app.app_context():
        db = get_session()
        set_password(db, None, db.get(User, maya.id), "a brand new long password")
        db.commit()
        assert {row.ended_reason for row in db.scalars(select(LoginSession))} == {"password"}
    assert not _in(client)


def test_an_idle_session_times_out(app, client, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(maya.email)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    # Activity keeps it alive well past one idle period...
    for _ in range(4):
        clock.advance(idle - timedelta(minutes=5))
        assert _in(client)
    # ...silence ends it.
    clock.advance(idle + timedelta(seconds=1))
    assert not _in(client)
    with app.app_context():
        [row] = get_session().scalars(select(LoginSession)).all()
        assert row.ended_reason == "idle"
    # And it stays ended when activity resumes with the old cookie.
    assert not _in(client)


def test_a_session_ends_after_the_absolute_limit_however_active(app, client, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(maya.email)
    step = timedelta(minutes=20)
    absolute = app.config["SESSION_ABSOLUTE_TIMEOUT"]
    for _ in range(int(absolute / step) - 1):
        clock.advance(step)
        assert _in(client)
    clock.advance(step)
    assert not _in(client)
    with app.app_context():
        [row] = get_session().scalars(select(LoginSession)).all()
        assert row.ended_reason == "expired"


def test_logout_needs_the_csrf_token_and_a_get_does_not_log_out(app, client, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(maya.email)
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400
    assert _in(client)
    page = client.get("/wallet/")
    client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})
    assert not _in(client)
