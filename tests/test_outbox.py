"""Email through the outbox: sent only after commit, retried when the server falters, never
lost and never sent twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants.core import outbox
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User
from grants.core.people import request_password_reset
from grants.database import get_session
from grants.mailer import deliver, send_claimed


@pytest.fixture
def queue(app, make_user):
    """queue(n) puts n password-reset emails in the outbox and returns their ids."""

    def make(n: int = 1) -> list[int]:
        ids = []
        for _ in range(n):
            user = make_user("ambassador")
            with app.app_context():
                db = get_session()
                commit_with_retry(db, lambda db=db, u=user: request_password_reset(db, u.email))
                ids.append(db.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())))
        return ids

    return make


def message(app, message_id) -> OutboxMessage:
    with app.app_context():
        db = get_session()
        row = db.get(OutboxMessage, message_id)
        db.expunge(row)
        return row


def test_nothing_is_queued_when_the_transaction_rolls_back(app, make_user, mailbox):
    user = make_user("ambassador")
    with app.app_context():
        db = get_session()
        request_password_reset(db, user.email)
        assert db.info["outbox_new"]
        db.rollback()
        assert "outbox_new" not in db.info and "outbox_committed" not in db.info
        assert db.scalar(select(OutboxMessage)) is None
        db.commit()
        assert deliver().sent == 0
    assert mailbox.messages == []


def test_send_delivers_each_message_once(app, runner, queue, mailbox):
    [first, _second] = queue(2)
    result = runner.invoke(args=["outbox", "send"])
    assert "outbox: 2 sent, 0 to retry later, 0 refused for good" in result.output
    assert len(mailbox.messages) == 2
    assert message(app, first).status == "sent" and message(app, first).sent_at is not None
    again = runner.invoke(args=["outbox", "send"])
    assert "outbox: 0 sent" in again.output
    assert len(mailbox.messages) == 2


def test_every_email_has_a_text_and_an_html_part(app, queue, mailbox):
    queue(1)
    with app.app_context():
        deliver()
    [email] = mailbox.messages
    assert email["Subject"] == "Choose a new password"
    assert email["Message-ID"].startswith("<outbox-")
    assert "Someone asked to choose a new password" in mailbox.text(email)
    assert "<a href=" in email.get_body(preferencelist=("html",)).get_content()


def test_a_refusal_for_now_is_retried_later_with_backoff(app, queue, mailbox):
    [message_id] = queue(1)
    mailbox.refuse("451 4.3.0 try again later")
    with app.app_context():
        report = deliver()
    assert (report.sent, report.retrying) == (0, 1)
    row = message(app, message_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > clock.now() and "451" in row.last_error

    mailbox.refuse(None)
    with app.app_context():
        assert deliver().sent == 0  # not due yet
    clock.advance(timedelta(seconds=31))
    with app.app_context():
        assert deliver().sent == 1
    assert len(mailbox.messages) == 1
    assert message(app, message_id).status == "sent"


def test_a_permanent_refusal_stops_retries_but_keeps_the_message(app, queue, mailbox):
    [message_id] = queue(1)
    mailbox.refuse("550 5.1.1 no such mailbox")
    with app.app_context():
        assert deliver().failed == 1
    row = message(app, message_id)
    assert row.status == "failed" and "550" in row.last_error
    assert "@" not in row.last_error  # what is kept says nothing of the address


def test_a_mail_server_that_is_down_loses_nothing(app, queue, mailbox):
    [message_id] = queue(1)
    app.config["MAIL_PORT"] = 1  # nothing listens there
    with app.app_context():
        report = deliver()
    assert report.retrying == 1
    assert message(app, message_id).status == "pending"
    app.config["MAIL_PORT"] = mailbox.collector.port
    clock.advance(timedelta(minutes=1))
    with app.app_context():
        assert deliver().sent == 1


def test_a_sender_that_died_mid_send_is_taken_over_after_its_lease(app, queue, mailbox):
    [message_id] = queue(1)
    with app.app_context():
        db = get_session()
        token, claimed = outbox.claim(db)  # claimed, then the sender stalled
        assert claimed == [message_id]
        db.commit()
        assert deliver().sent == 0  # its lease still holds
    clock.advance(outbox.LEASE + timedelta(seconds=1))
    with app.app_context():
        assert deliver().sent == 1  # another sender takes over
        # The stalled sender wakes up: the message is no longer its to send or record.
        late = send_claimed(token, claimed)
    assert (late.sent, late.failed, late.retrying) == (0, 0, 0)
    assert len(mailbox.messages) == 1
    row = message(app, message_id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_one_bad_message_does_not_hold_up_the_others(app, queue, mailbox):
    [good] = queue(1)
    with app.app_context():
        db = get_session()
        # An address SMTP cannot carry, as if it had slipped past the checks at the edge.
        db.add(
            OutboxMessage(
                to_address="jos\u00e9@example.org",
                template="password_reset",
                params={"email": "jos\u00e9@example.org"},
            )
        )
        db.add(User(email="jos\u00e9@example.org", name="Jose", password_hash=None))
        db.commit()
        report = deliver()
    assert (report.sent, report.failed) == (1, 1)
    assert [m.envelope_to for m in mailbox.messages] == [[message(app, good).to_address]]
    assert all("jos" not in error for error in report.errors)  # no address in what is said


def test_a_refused_recipient_fails_alone(app, queue, mailbox):
    ids = queue(3)
    mailbox.refuse_only(message(app, ids[1]).to_address, "550 5.1.1 no such mailbox")
    with app.app_context():
        report = deliver()
    assert (report.sent, report.failed) == (2, 1)
    assert [message(app, i).status for i in ids] == ["sent", "failed", "sent"]


def test_a_reset_for_an_unknown_address_is_queued_alike_then_dropped(app, client, mailbox):
    from tests.conftest import submit

    submit(client, "/auth/reset", {"email": "nobody@example.org"})
    assert mailbox.messages == []
    with app.app_context():
        row = get_session().scalar(select(OutboxMessage))
    assert row.status == "failed" and row.to_address == "" and row.params == {}


def test_two_senders_at_once_send_each_message_once(app, queue, mailbox):
    ids = queue(12)
    barrier = threading.Barrier(4)
    reports = []

    def sender():
        with app.app_context():
            barrier.wait()
            reports.append(deliver(limit=12))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.sent for report in reports) == 12
    assert sorted(m["Message-ID"] for m in mailbox.messages) == sorted(
        {m["Message-ID"] for m in mailbox.messages}
    )
    assert len(mailbox.messages) == len(ids)


def test_a_withdrawn_invitation_is_not_sent(app, make_cohort, make_user, mailbox):
    from grants.core.enrolment import Invitee, invite, revoke_invitation

    cohort_id = make_cohort()
    staff = make_user("staff")
    with app.app_context():
        db = get_session()
        from grants.core.models.cohorts import Cohort

        actor = db.get(User, staff.id)
        enrolment = invite(
            db, actor, db.get(Cohort, cohort_id), Invitee("Ana", "A", "ana@example.org", "US")
        )
        revoke_invitation(db, actor, enrolment)
        db.commit()
        report = deliver()
    assert (report.sent, report.failed) == (0, 1)
    assert mailbox.messages == []


def test_retry_waits_grow_and_stop_growing_at_an_hour():
    waits = [outbox.retry_delay(n) for n in (1, 2, 3, 10, 1000)]
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert waits[3] == waits[4] == timedelta(hours=1)
