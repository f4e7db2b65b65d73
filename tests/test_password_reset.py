"""Choosing a new password through an emailed link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from grants.core.clock import clock
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import BASE_URL, PASSWORD, csrf_token, submit

NEW = "a brand new passphrase"


def ask(client, email):
    return submit(client, "/auth/reset", {"email": email}, follow=True)


def reset_path(mailbox, email) -> str:
    [*_, message] = mailbox.to(email)
    [link] = mailbox.links(message)
    return link[len(BASE_URL) :]


def choose(client, path, password=NEW, confirm=None):
    return submit(client, path, {"new_password": password, "confirm_password": confirm or password})


def test_a_reset_link_lets_you_choose_a_new_password(app, client, auth, make_user, mailbox):
    user = make_user("ambassador")
    response = ask(client, user.email)
    assert "If an account uses that address" in response.text
    [email] = mailbox.to(user.email)
    assert email["Subject"] == "Choose a new password"
    path = reset_path(mailbox, user.email)
    assert choose(client, path).location == "/auth/login"
    assert auth.login(user.email, NEW).location == "/wallet/"
    auth.logout()
    assert "do not match" in auth.login(user.email, PASSWORD).text


def test_the_answer_is_the_same_for_unknown_addresses(client, make_user, mailbox):
    user = make_user("ambassador")
    known = ask(client, user.email)
    unknown = ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    strip = lambda page: page.text.replace(csrf_token(page.text), "")  # noqa: E731
    assert strip(known) == strip(unknown)
    assert [m.envelope_to for m in mailbox.messages] == [[user.email]]


def test_a_disabled_account_gets_no_link(app, client, make_user, mailbox):
    user = make_user("ambassador")
    with app.app_context():
        db = get_session()
        db.get(User, user.id).active = False
        db.commit()
    ask(client, user.email)
    assert mailbox.messages == []


def test_the_link_works_once_and_ends_other_sessions(app, client, auth, make_user, mailbox):
    user = make_user("staff")
    other_device = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other_device).login(user.email)
    assert other_device.get("/staff/").status_code == 200
    ask(client, user.email)
    path = reset_path(mailbox, user.email)
    choose(client, path)
    assert other_device.get("/staff/").status_code == 302  # logged out there
    again = client.get(path)
    assert again.status_code == 400 and "already been used" in again.text


def test_an_old_link_stops_working_when_a_newer_one_is_used(client, make_user, mailbox):
    user = make_user("ambassador")
    ask(client, user.email)
    first = reset_path(mailbox, user.email)
    clock.advance(timedelta(seconds=2))
    ask(client, user.email)
    second = reset_path(mailbox, user.email)
    choose(client, second)
    assert client.get(first).status_code == 400


def test_expired_and_forged_links(client, make_user, mailbox):
    user = make_user("ambassador")
    ask(client, user.email)
    path = reset_path(mailbox, user.email)
    clock.advance(timedelta(minutes=61))
    expired = client.get(path)
    assert expired.status_code == 400 and "expired" in expired.text
    forged = client.get(path[:-4] + "AAAA")
    assert forged.status_code == 400 and "not valid" in forged.text


def test_bad_new_passwords_are_explained(app, client, make_user, mailbox):
    user = make_user("ambassador")
    ask(client, user.email)
    path = reset_path(mailbox, user.email)
    assert "at least 12 characters" in choose(client, path, "short").text
    assert "not the same" in choose(client, path, NEW, "something else").text
    with app.app_context():
        generation = get_session().scalar(select(User.session_generation).where(User.id == user.id))
    assert generation == 1  # nothing changed
