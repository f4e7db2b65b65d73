"""Admin manages accounts: roles, disabling (which ends every session), enabling, and
resetting two-step sign-in; each needs a recent password and is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.core import accounts
from grants.core.clock import clock
from grants.core.errors import Forbidden
from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token, submit


@pytest.fixture
def admin(client, make_user):
    person = make_user("admin", email="robin@example.org")
    AuthActions(client).login(person.email)
    return person


def _user(app, user_id) -> User:
    with app.app_context():
        db = get_session()
        user = db.get(User, user_id)
        user.role_names  # noqa: B018 (loaded before the session closes)
        db.expunge(user)
        return user


def _actions(app, user_id) -> list[str]:
    with app.app_context():
        return list(
            get_session().scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "User", AuditEntry.object_id == str(user_id))
                .order_by(AuditEntry.id)
            )
        )


def test_disabling_an_account_ends_its_sessions_at_once(app, client, admin, make_user):
    maya = make_user("ambassador", email="maya@example.org")
    hers = app.test_client()
    AuthActions(hers).login(maya.email)
    assert hers.get("/wallet/").status_code == 200
    page = f"/admin/users/{maya.id}"
    assert "maya@example.org" in client.get(page).text
    submit(client, f"{page}/disable", form_page=page)
    assert not _user(app, maya.id).active
    assert hers.get("/wallet/").status_code == 302  # her open session is over
    refused = AuthActions(app.test_client()).login(maya.email)
    assert refused.status_code == 200 and "do not match an account" in refused.text
    submit(client, f"{page}/disable", form_page=page)  # a second click: nothing more
    assert _actions(app, maya.id).count("user.disabled") == 1
    submit(client, f"{page}/enable", form_page=page)
    assert _user(app, maya.id).active
    assert AuthActions(app.test_client()).login(maya.email).status_code == 302


def test_roles_change_with_a_recent_password_only(app, client, admin, make_user):
    sam = make_user("recipient", email="sam@example.org")
    page = f"/admin/users/{sam.id}"
    clock.advance(timedelta(minutes=16))
    client.get("/admin/")  # still logged in (not idle), but the password is not fresh
    response = submit(
        client, f"{page}/roles", {"roles": ["recipient", "ambassador"]}, form_page=page
    )
    assert "/auth/confirm" in response.headers["Location"]
    assert _user(app, sam.id).role_names == {"recipient"}
    confirm = client.get("/auth/confirm")
    client.post(
        "/auth/confirm",
        data={"password": "correct horse battery staple", "csrf_token": csrf_token(confirm.text)},
    )
    submit(client, f"{page}/roles", {"roles": ["recipient", "ambassador"]}, form_page=page)
    assert _user(app, sam.id).role_names == {"recipient", "ambassador"}
    with app.app_context():
        entry = get_session().scalar(
            select(AuditEntry).where(AuditEntry.action == "user.roles_changed")
        )
        assert entry.actor_id == admin.id
        assert entry.details == {"before": ["recipient"], "after": ["ambassador", "recipient"]}


def test_bad_role_changes_are_refused_and_change_nothing(app, client, admin, make_user):
    sam = make_user("recipient", email="sam@example.org")
    page = f"/admin/users/{sam.id}"
    response = submit(
        client, f"{page}/roles", {"roles": ["recipient", "king"]}, form_page=page, follow=True
    )
    assert "king is not a role." in response.text
    response = submit(client, f"{page}/roles", {"roles": ["partner"]}, form_page=page, follow=True)
    assert "added from the partner" in response.text
    assert _user(app, sam.id).role_names == {"recipient"}
    own = f"/admin/users/{admin.id}"
    response = submit(client, f"{own}/roles", {"roles": ["staff"]}, form_page=own, follow=True)
    assert "cannot take away your own admin role" in response.text
    assert "admin" in _user(app, admin.id).role_names
    response = submit(client, f"{own}/disable", form_page=own, follow=True)
    assert "cannot disable your own account" in response.text
    assert client.post("/admin/users/99999/disable").status_code in (400, 404)


def test_taking_the_partner_role_away_ends_acting_for_the_partner(app, client, admin, make_user):
    desk = make_user("partner", email="desk@example.org")
    page = f"/admin/users/{desk.id}"
    submit(client, f"{page}/roles", {"roles": []}, form_page=page)
    person = _user(app, desk.id)
    assert person.role_names == frozenset() and person.partner_id is None
    partner = app.test_client()
    AuthActions(partner).login(desk.email)
    assert partner.get("/partner/").status_code == 403


def test_the_last_active_admin_cannot_be_disabled(app, make_user):
    robin = make_user("admin")
    jo = make_user("staff")
    with app.app_context():
        db = get_session()
        with pytest.raises(Forbidden):
            accounts.disable(db, db.get(User, jo.id), db.get(User, robin.id))


def test_an_admin_resets_two_step_sign_in(app, client, admin, make_user):
    jo = make_user("staff", email="jo@example.org")
    hers = app.test_client()
    AuthActions(hers).login(jo.email)
    page = f"/admin/users/{jo.id}"
    submit(client, f"{page}/two-step/reset", form_page=page)
    person = _user(app, jo.id)
    assert person.totp_secret is None and person.totp_enabled_at is None
    assert hers.get("/staff/").status_code == 302  # her session ended with the reset
    assert "auth.two_factor_off" in _actions(app, jo.id)
    # At her next login she sets it up again before anything else.
    again = app.test_client()
    AuthActions(again).login(jo.email)
    assert again.get("/staff/").headers["Location"].endswith("/auth/two-step/setup")


def test_only_admins_manage_accounts(app, client, make_user):
    jo = make_user("staff")
    maya = make_user("ambassador")
    AuthActions(client).login(jo.email)
    token = csrf_token(client.get("/staff/").text)
    for url in (f"/admin/users/{maya.id}/disable", f"/admin/users/{maya.id}/roles"):
        assert client.post(url, data={"csrf_token": token, "roles": ["admin"]}).status_code == 403
    assert client.get(f"/admin/users/{maya.id}").status_code == 403
    assert _user(app, maya.id).active and _user(app, maya.id).role_names == {"ambassador"}


def test_payout_details_ask_for_the_password_again(app, client, admin, make_user):
    """A partner's payout details (where money goes) open only after a recent password."""
    clock.advance(timedelta(minutes=16))
    response = client.get("/admin/partners/new")
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    confirm = client.get("/auth/confirm")
    client.post(
        "/auth/confirm?next=/admin/partners/new",
        data={"password": "correct horse battery staple", "csrf_token": csrf_token(confirm.text)},
    )
    assert client.get("/admin/partners/new").status_code == 200
