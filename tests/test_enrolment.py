"""Inviting ambassadors, and their way in through the emailed link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grants.core.clock import clock
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Enrolment
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User
from grants.core.programmes import publish_consent
from grants.database import get_session
from tests.conftest import BASE_URL, PASSWORD, csrf_token, submit

ARTIST = {
    "name": "Ana Brook",
    "artist_name": "The Brooks",
    "email": "ana@example.org",
    "country": "US",
}
NEW_PASSWORD = "river stone lantern"


@pytest.fixture
def staff(auth, make_user):
    user = make_user("staff")
    auth.login(user.email)
    return user


def invite(client, cohort_id, **person):
    return submit(client, f"/staff/cohorts/{cohort_id}/invite", {**ARTIST, **person})


def link_in(mailbox, address: str) -> str:
    """The path of the newest link emailed to `address`."""
    [*_, message] = mailbox.to(address)
    [link] = mailbox.links(message)
    assert link.startswith(BASE_URL)
    return link[len(BASE_URL) :]


def accept(client, path, **fields):
    data = {
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        "consent": "y",
        **fields,
    }
    page = client.get(path)
    hidden = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    return client.post(
        path, data={**data, "consent_text_id": hidden, "csrf_token": csrf_token(page.text)}
    )


def enrolment_state(app, email="ana@example.org"):
    with app.app_context():
        db = get_session()
        return db.scalar(
            select(Enrolment.status)
            .join(User, User.id == Enrolment.user_id)
            .where(User.email == email)
        )


def test_an_invited_artist_gets_in_through_the_emailed_link(
    app, client, staff, make_cohort, mailbox
):
    cohort_id = make_cohort()
    response = invite(client, cohort_id)
    assert response.status_code == 302
    [message] = mailbox.to("ana@example.org")
    assert message["Subject"] == "Your invitation to RADAR"
    assert "therapy" not in message["Subject"].lower()
    assert message.get_body(preferencelist=("html",)) is not None
    path = link_in(mailbox, "ana@example.org")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/staff/").text)})

    page = client.get(path)
    assert page.status_code == 200
    assert "By joining RADAR, you agree" in page.text and "Version 1" in page.text
    response = accept(client, path)
    assert response.status_code == 302 and response.location == "/wallet/"
    assert client.get("/wallet/").status_code == 200

    with app.app_context():
        db = get_session()
        enrolment = db.scalar(select(Enrolment))
        assert enrolment.status == "active"
        assert enrolment.consent_text.version == 1 and enrolment.consented_at is not None
        assert enrolment.user.role_names == {"ambassador"}
        actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        # Accepting the invitation logs the new ambassador in.
        assert "enrolment.invite" in actions and actions[-2:] == ["enrolment.accept", "auth.login"]


def test_the_link_works_once(client, staff, make_cohort, mailbox, app):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    accept(client, path)
    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.text


def test_an_expired_link_is_refused(client, staff, make_cohort, mailbox, app):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    clock.advance(timedelta(days=15))
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.text
    assert accept_refused(client, path)
    assert enrolment_state(app) == "invited"


def accept_refused(client, path) -> bool:
    response = client.post(path, data={"new_password": NEW_PASSWORD})
    return response.status_code == 400


def test_a_forged_link_is_refused(client, staff, make_cohort, mailbox, app):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    for forged in (
        path[:-3] + "abc",
        "/auth/invitation/not-a-token",
        path.replace("/invitation/", "/invitation/x"),
    ):
        response = client.get(forged)
        assert response.status_code == 400 and "not valid" in response.text
    assert enrolment_state(app) == "invited"


def test_a_password_reset_link_cannot_open_an_invitation(app, client, make_user, mailbox):
    from grants.core.tokens import make_token

    token = make_token(app.config["SECRET_KEY"], "password-reset", {"e": 1, "n": "x"})
    assert client.get(f"/auth/invitation/{token}").status_code == 400


def test_withdrawn_and_replaced_links_stop_working(app, client, staff, make_cohort, mailbox):
    cohort_id = make_cohort()
    invite(client, cohort_id)
    first = link_in(mailbox, "ana@example.org")
    with app.app_context():
        enrolment_id = get_session().scalar(select(Enrolment.id))
    clock.advance(timedelta(minutes=2))
    submit(client, f"/staff/enrolments/{enrolment_id}/resend", form_page="/staff/")
    second = link_in(mailbox, "ana@example.org")
    assert first != second
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200
    submit(client, f"/staff/enrolments/{enrolment_id}/revoke", form_page="/staff/")
    assert client.get(second).status_code == 400
    assert enrolment_state(app) == "revoked"


def test_bad_invitation_input_changes_nothing(app, client, staff, make_cohort, mailbox):
    cohort_id = make_cohort()
    for change, message in (
        ({"email": "not-an-email"}, "not valid"),
        ({"email": ""}, "Enter their email address."),
        ({"name": ""}, "Enter their name."),
        ({"artist_name": " "}, "Enter an artist or project name."),
        ({"country": "ZZ"}, "Not a valid choice."),
    ):
        response = invite(client, cohort_id, **change)
        assert response.status_code == 200 and message in response.text, change
    with app.app_context():
        db = get_session()
        assert db.scalar(select(func.count()).select_from(Enrolment)) == 0
        assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert mailbox.messages == []


def test_the_same_person_is_not_invited_twice(app, client, staff, make_cohort, mailbox):
    cohort_id = make_cohort()
    invite(client, cohort_id)
    response = invite(client, cohort_id, email="ANA@example.org")
    assert "already invited to this cohort" in response.text
    assert len(mailbox.messages) == 1


def test_one_current_cohort_per_programme(app, client, staff, make_cohort, mailbox):
    current = make_cohort(intake_name="2027")
    other_current = make_cohort(intake_name="2027b", region="GB", currency="GBP")
    upcoming = make_cohort(intake_name="2028", status="upcoming")
    other_programme = make_cohort(programme_id=1)
    invite(client, current)
    accept(client, link_in(mailbox, "ana@example.org"))
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/wallet/").text)})
    from tests.conftest import AuthActions

    AuthActions(client).login(staff.email)
    response = invite(client, other_current)
    assert "already enrolled in RADAR US 2027, a current RADAR cohort" in response.text
    # Not the next intake either, while the current place is held...
    assert "a current RADAR cohort" in invite(client, upcoming).text
    # ...but another programme is fine.
    assert invite(client, other_programme).status_code == 302


def test_someone_with_an_account_confirms_their_password(
    app, client, staff, make_cohort, make_user, mailbox
):
    bandmate = make_user("recipient", email="sam@example.org")
    invite(client, make_cohort(), email=bandmate.email)
    path = link_in(mailbox, bandmate.email)
    page = client.get(path)
    assert "Confirm it is you" in page.text and "Choose your password" not in page.text
    wrong = accept(client, path, current_password="not my password")
    assert "not the password of this account" in wrong.text
    assert enrolment_state(app, bandmate.email) == "invited"
    right = accept(client, path, current_password=PASSWORD)
    assert right.status_code == 302
    with app.app_context():
        user = get_session().get(User, bandmate.id)
        assert user.role_names == {"recipient", "ambassador"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consent": ""}, "Tick the box to agree"),
        ({"new_password": "short", "confirm_password": "short"}, "at least 12 characters"),
        ({"confirm_password": "something else entirely"}, "not the same"),
    ],
)
def test_bad_acceptance_input_is_explained(
    app, client, staff, make_cohort, mailbox, fields, message
):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    response = accept(client, path, **fields)
    assert response.status_code == 200 and message in response.text
    assert enrolment_state(app) == "invited"


def test_a_consent_text_published_meanwhile_must_be_read(app, client, staff, make_cohort, mailbox):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    page = client.get(path)
    with app.app_context():
        db = get_session()
        from grants.core.models.programmes import Programme

        publish_consent(db, db.get(User, staff.id), db.get(Programme, 3), "A new text. " * 5)
        db.commit()
    response = client.post(
        path,
        data={
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "consent": "y",
            "consent_text_id": page.text.split('name="consent_text_id" type="hidden" value="')[
                1
            ].split('"')[0],
            "csrf_token": csrf_token(page.text),
        },
    )
    assert "consent text changed" in response.text
    assert accept(client, path).status_code == 302  # agreeing to version 2 works


def test_closing_and_the_wrong_actions(app, client, staff, make_cohort, mailbox):
    invite(client, make_cohort())
    with app.app_context():
        enrolment_id = get_session().scalar(select(Enrolment.id))
    response = submit(
        client, f"/staff/enrolments/{enrolment_id}/close", form_page="/staff/", follow=True
    )
    assert "Only an active enrolment can be closed." in response.text
    assert enrolment_state(app) == "invited"
    assert client.post(f"/staff/enrolments/{enrolment_id}/delete").status_code == 404
    assert submit(client, "/staff/enrolments/9999/close", form_page="/staff/").status_code == 404


def test_a_double_click_on_resend_sends_one_email(app, client, staff, make_cohort, mailbox):
    invite(client, make_cohort())
    with app.app_context():
        enrolment_id = get_session().scalar(select(Enrolment.id))
    clock.advance(timedelta(minutes=5))
    for _ in range(2):
        response = submit(
            client, f"/staff/enrolments/{enrolment_id}/resend", form_page="/staff/", follow=True
        )
    assert "sent a moment ago" in response.text
    assert len(mailbox.to("ana@example.org")) == 2  # the invitation and one resend


def test_closing_a_cohort_withdraws_its_pending_invitations(
    app, client, staff, make_cohort, mailbox
):
    cohort_id = make_cohort()
    invite(client, cohort_id)
    path = link_in(mailbox, "ana@example.org")
    from tests.test_cohorts import GOOD

    closed = {
        **GOOD,
        "region": "US",
        "currency": "USD",
        "session_value": "120.00",
        "session_budget": "500",
        "status": "closed",
    }
    assert submit(client, f"/staff/cohorts/{cohort_id}/edit", closed).status_code == 302
    assert enrolment_state(app) == "revoked"
    assert client.get(path).status_code == 400


def test_an_invitation_to_a_cohort_closed_meanwhile_cannot_be_accepted(
    app, client, staff, make_cohort, mailbox
):
    cohort_id = make_cohort()
    invite(client, cohort_id)
    path = link_in(mailbox, "ana@example.org")
    page = client.get(path)
    with app.app_context():  # closed behind the invitation page's back
        from grants.core.models.cohorts import Cohort

        db = get_session()
        db.get(Cohort, cohort_id).status = "closed"
        db.commit()
    response = client.post(
        path,
        data={
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "consent": "y",
            "consent_text_id": "1",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 400 and "has closed" in response.text
    assert enrolment_state(app) == "invited"


@pytest.mark.parametrize("value", ["abc", "", "99999999999999999999", "-1"])
def test_a_tampered_consent_id_is_a_clear_refusal(app, client, staff, make_cohort, mailbox, value):
    invite(client, make_cohort())
    path = link_in(mailbox, "ana@example.org")
    page = client.get(path)
    response = client.post(
        path,
        data={
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "consent": "y",
            "consent_text_id": value,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 200 and "consent text changed" in response.text
    assert enrolment_state(app) == "invited"


def test_addresses_smtp_cannot_carry_are_refused(app, client, staff, make_cohort):
    response = invite(client, make_cohort(), email="jos\u00e9@example.org")
    assert response.status_code == 200 and "not valid" in response.text
