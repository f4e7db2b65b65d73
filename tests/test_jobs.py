"""Scheduled jobs (issue 12): runners on several hosts at once run each job once (one wins,
none doubles the work); the work underneath is idempotent even without the lease; the
schedule lives in the database; a failing job or an unreachable database never stops the
loop; and the resource check tells staff once when entries come due.

Concurrency is real: threads released together by a barrier, each with its own database
session, against SQLite or PostgreSQL (GRANTS_TEST_DATABASE_URL).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from grants import create_app
from grants.core import jobs as leases
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.gifts import gift_credits, sweep_lapsed_gifts
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort
from grants.core.models.gifts import Gift
from grants.core.models.jobs import JobRun
from grants.core.models.outbox import OutboxMessage
from grants.core.models.partners import Voucher
from grants.core.models.people import User
from grants.core.models.resources import EmergencyNumber, Resource
from grants.core.resources import add_entry, mark_checked, set_emergency_number
from grants.core.stale_resources import flag_stale
from grants.core.sweep import sweep
from grants.core.vouchers import book_session, expire_voucher, lapsed_voucher_ids
from grants.database import get_session
from grants.jobs import JOBS, Job, run_due, run_forever, run_job, send_outbox
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # inside the test cohort's year
LONG_AGO = T0.date() - timedelta(days=400)


def at_once(app, work, runners: int = 2) -> list:
    """`work()` in `runners` threads released together, each in an application context of
    its own (its own database session), as runners on separate hosts would be."""
    barrier = threading.Barrier(runners)
    results: list = [None] * runners
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                results[index] = work()
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def directory_entry(name: str, checked_on) -> dict:
    return {
        "name": name,
        "country": "US",
        "languages": ["en"],
        "topics": ["crisis"],
        "channels": [{"kind": "phone", "value": "988"}],
        "hours": None,
        "free": "yes",
        "source": "https://example.org/help",
        "checked_on": checked_on,
    }


@pytest.fixture
def world(app, make_user, make_cohort):
    """Work for every job, all of it due: three gifts and two bookings past their time,
    two directory entries and an emergency number a year unchecked (one entry still fresh),
    the emails all that queued, and three members of staff to tell (Jo, Kai who reads
    Spanish, and the one who made the cohort)."""
    clock.set(T0)
    jo = make_user("staff", email="jo@example.org", name="Jo Staff")
    kai = make_user("staff", email="kai@example.org", name="Kai Staff", locale="es")
    maya = make_user("ambassador", email="maya@example.org", name="Maya Okafor")
    desk = make_user("partner", email="desk@clinic.example")
    cohort_id = make_cohort(
        funded=100,
        session_allowance=20,
        approval_threshold=20,
        gift_expiry_days=7,
        open_gift_limit=10,
        gift_limit_per_recipient=6,
    )
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 10, jo)
    with app.app_context():
        db = get_session()

        def work():
            person, cohort = db.get(User, maya.id), db.get(Cohort, cohort_id)
            staff = db.get(User, jo.id)
            gifts = [
                gift_credits(
                    db, person, cohort, recipient_name=f"Crew {n}",
                    recipient_email=f"crew{n}@example.org", relationship="crew",
                    message="For the tour.", sessions=1, transfer_id=uuid.uuid4(),
                ).id
                for n in range(3)
            ]  # fmt: skip
            vouchers = [
                book_session(db, person, cohort, desk.partner_id, transfer_id=uuid.uuid4()).id
                for _ in range(2)
            ]
            entries = [
                add_entry(db, staff, directory_entry(name, LONG_AGO)).id
                for name in ("Old Line", "Older Line")
            ]
            fresh = add_entry(db, staff, directory_entry("Fresh Line", T0.date())).id
            set_emergency_number(
                db,
                staff,
                {
                    "country": "US",
                    "number": "911",
                    "source": "https://example.org/us",
                    "checked_on": LONG_AGO,
                },
            )
            return gifts, vouchers, entries, fresh

        gifts, vouchers, entries, fresh = commit_with_retry(db, work)
    clock.advance(timedelta(days=91))  # gifts last 7 days, bookings 90
    return SimpleNamespace(
        staff=[jo, kai], maya=maya, gifts=gifts, vouchers=vouchers, entries=entries, fresh=fresh
    )


def audit_count(app, action: str) -> int:
    with app.app_context():
        db = get_session()
        return db.scalar(select(func.count()).where(AuditEntry.action == action))


def gift_updates(mailbox, world) -> int:
    return sum(m["Subject"] == "An update on your gift" for m in mailbox.to(world.maya.email))


def check_every_email_went_once(app, mailbox) -> None:
    ids = [message["Message-ID"] for message in mailbox.messages]
    assert len(ids) == len(set(ids)), "an email was sent twice"
    with app.app_context():
        db = get_session()
        states = dict(
            db.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    assert states.get("pending", 0) == states.get("sending", 0) == 0, states
    assert states["sent"] == len(ids)


def test_runners_on_three_hosts_at_once_run_each_job_once(app, world, mailbox):
    turns = at_once(app, run_due, runners=3)
    for name in JOBS:
        ran = [outcome for turn in turns for outcome in turn if outcome.name == name]
        assert sum(outcome.ran for outcome in ran) == 1, (name, ran)
        assert all(outcome.ok for outcome in ran if outcome.ran)
    # The work, once: every gift and booking settled once, each entry flagged once.
    with app.app_context():
        db = get_session()
        assert {db.get(Gift, i).status for i in world.gifts} == {"expired"}
        assert {db.get(Voucher, i).status for i in world.vouchers} == {"expired"}
        flagged = db.scalars(select(Resource.id).where(Resource.flagged_stale_on.is_not(None)))
        assert sorted(flagged) == sorted(world.entries)
        assert db.get(EmergencyNumber, "US").flagged_stale_on == clock.today()
    assert audit_count(app, "gift.expire") == 3
    assert audit_count(app, "voucher.expire") == 2
    assert audit_count(app, "resources.flag_stale") == 1
    with app.app_context():
        # Nothing is due again before its interval: another turn straight away does nothing.
        assert not any(outcome.ran for outcome in run_due())
        # The email the others queued while another runner was sending goes at the
        # outbox's next turn, 30 seconds on.
        clock.advance(timedelta(seconds=31))
        assert [outcome.name for outcome in run_due() if outcome.ran] == ["outbox-send"]
    for person in world.staff:
        assert [m["Subject"] for m in mailbox.to(person.email)] == [
            "Resource hub: entries due a check"
            if person.email == "jo@example.org"
            else "Centro de recursos: entradas pendientes de revisión"
        ]
    assert gift_updates(mailbox, world) == 3  # told of each lapsed gift, once
    check_every_email_went_once(app, mailbox)


def _expire_gifts():
    return sweep_lapsed_gifts(get_session())


def _expire_vouchers():
    return sweep(get_session(), lapsed_voucher_ids, expire_voucher)


def _flag_stale():
    db = get_session()
    return commit_with_retry(db, lambda: flag_stale(db, clock.today()))


@pytest.mark.parametrize("job", ["gifts-expire", "vouchers-expire", "resources-flag-stale"])
def test_the_work_itself_is_done_once_even_without_the_lease(app, world, mailbox, job):
    """What a runner that outlived its lease would do: the same work twice at once, with no
    lease between them. Each item is still settled (or flagged, or told) once."""
    if job == "gifts-expire":
        assert sum(at_once(app, _expire_gifts)) == 3
        assert audit_count(app, "gift.expire") == 3
    elif job == "vouchers-expire":
        assert sum(at_once(app, _expire_vouchers)) == 2
        assert audit_count(app, "voucher.expire") == 2
    else:
        reports = at_once(app, _flag_stale)
        assert sum(r.flagged for r in reports) == 3  # two entries, one emergency number
        assert sum(r.told for r in reports) == 3  # each member of staff (three) once
        assert audit_count(app, "resources.flag_stale") == 1
    with app.app_context():
        send_outbox()
    check_every_email_went_once(app, mailbox)


def test_two_senders_without_the_lease_send_each_email_once(app, world, mailbox):
    with app.app_context():
        _expire_gifts()  # three more emails to the giver, beside the gifts' own
    at_once(app, send_outbox)
    check_every_email_went_once(app, mailbox)
    assert gift_updates(mailbox, world) == 3


def test_a_job_another_runner_holds_is_left_to_it_until_its_lease_runs_out(app, world, runner):
    with app.app_context():
        db = get_session()
        commit_with_retry(db, lambda: leases.ensure(db, ["gifts-expire"]))
        token = commit_with_retry(
            db, lambda: leases.claim(db, "gifts-expire", holder="host-b:4242")
        )
        assert token is not None
        outcome = run_job("gifts-expire", force=True)
    assert not outcome.ran and outcome.held_by == "host-b:4242"
    result = runner.invoke(args=["jobs", "run-once", "gifts-expire"])
    assert result.exit_code == 0
    assert "another runner (host-b:4242) is doing it now" in result.output
    assert audit_count(app, "gift.expire") == 0
    # host-b died: once its lease has run out, the job is taken over.
    clock.advance(leases.LEASE + timedelta(seconds=1))
    result = runner.invoke(args=["jobs", "run-once", "gifts-expire"])
    assert result.exit_code == 0 and "gifts-expire: 3 expired" in result.output
    with app.app_context():
        db = get_session()
        # host-b, back from the dead, can neither renew nor record over the new run.
        assert not commit_with_retry(db, lambda: leases.renew(db, "gifts-expire", token))
        finished = commit_with_retry(
            db,
            lambda: leases.finish(
                db, "gifts-expire", token, ok=True, result="x", every=timedelta(minutes=5)
            ),
        )
        assert not finished
        assert db.get(JobRun, "gifts-expire").last_result == "3 expired"


def test_the_schedule_is_kept_in_the_database(app, world):
    with app.app_context():
        assert [o.name for o in run_due() if o.ran] == list(JOBS)
        clock.advance(timedelta(seconds=31))
        assert [o.name for o in run_due() if o.ran] == ["outbox-send"]
        clock.advance(timedelta(minutes=5))
        assert [o.name for o in run_due() if o.ran] == ["gifts-expire", "outbox-send"]
        clock.advance(timedelta(hours=6))
        assert [o.name for o in run_due() if o.ran] == list(JOBS)
        # `run-once` runs a job now, due or not.
        assert run_job("resources-flag-stale", force=True).ran
        rows = {row.name: row for row in leases.states(get_session())}
    assert rows["outbox-send"].runs == 4 and rows["resources-flag-stale"].runs == 3
    assert all(row.holder is None and row.lease_until is None for row in rows.values())


def test_a_failing_job_is_recorded_and_the_others_still_run(app, world, runner, monkeypatch):
    def broken(lease):
        raise ValueError("the job's own bug")

    monkeypatch.setitem(JOBS, "gifts-expire", Job("gifts-expire", timedelta(minutes=5), broken))
    with app.app_context():
        outcomes = {o.name: o for o in run_due()}
    assert not outcomes["gifts-expire"].ok
    assert outcomes["gifts-expire"].result == "failed: ValueError"
    assert all(o.ran and o.ok for name, o in outcomes.items() if name != "gifts-expire")
    status = runner.invoke(args=["jobs", "status"]).output
    assert "gifts-expire" in status and "last failed" in status and "ValueError" in status
    result = runner.invoke(args=["jobs", "run-once", "gifts-expire"])
    assert result.exit_code == 1 and "failed: ValueError" in result.output


def test_the_loop_runs_until_stopped(app, world, mailbox):
    stop = threading.Event()

    def loop():
        with app.app_context():
            run_forever(stop, tick=0.05)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.app_context():
                rows = leases.states(get_session())
            if len(rows) == len(JOBS) and all(row.runs >= 1 for row in rows):
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert all(row.last_outcome == "ok" for row in rows)
    assert gift_updates(mailbox, world) == 3


def test_the_loop_waits_out_a_database_it_cannot_reach(tmp_path, caplog):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/grants.db"}, env="test")
    stop = threading.Event()
    caplog.set_level(logging.WARNING, logger="grants.jobs")
    try:
        with app.app_context():
            timer = threading.Timer(0.3, stop.set)
            timer.start()
            run_forever(stop, tick=0.05)  # returns only when stopped: it never dies of it
    finally:
        app.extensions["grants.engine"].dispose()
    unavailable = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(unavailable) >= 2


def test_the_resource_check_tells_staff_once_and_again_after_a_new_lapse(
    app, world, runner, mailbox
):
    result = runner.invoke(args=["jobs", "run-once", "resources-flag-stale"])
    assert "3 newly due a check, 0 cleared, 3 staff told" in result.output
    runner.invoke(args=["jobs", "run-once", "outbox-send"])
    [email] = mailbox.to("jo@example.org")
    text = mailbox.text(email)
    assert "3 entries in the resource hub have gone 12 months without a check" in text
    assert "http://grants.test/staff/resources?show=stale" in mailbox.links(email)
    [spanish] = mailbox.to("kai@example.org")
    assert "3 entradas del centro de recursos llevan 12 meses" in mailbox.text(spanish)
    # Nothing new: nobody is told again.
    result = runner.invoke(args=["jobs", "run-once", "resources-flag-stale"])
    assert "0 newly due a check, 0 cleared, 0 staff told" in result.output
    # Checked again: the flag goes. A year on, it lapses again and staff hear of it again.
    with app.app_context():
        db = get_session()
        commit_with_retry(
            db, lambda: mark_checked(db, db.get(User, world.staff[0].id), world.entries[0])
        )
    result = runner.invoke(args=["jobs", "run-once", "resources-flag-stale"])
    assert "0 newly due a check, 1 cleared" in result.output
    clock.advance(timedelta(days=366))
    result = runner.invoke(args=["jobs", "run-once", "resources-flag-stale"])
    assert "2 newly due a check" in result.output  # the re-checked entry, and the fresh one
    runner.invoke(args=["jobs", "run-once", "outbox-send"])
    assert "2 entries in the resource hub" in mailbox.text(mailbox.to("jo@example.org")[-1])


def test_a_host_without_email_leaves_the_outbox_to_another(app, world, runner):
    app.config["MAIL_BACKEND"] = "none"
    with app.app_context():
        outcomes = {o.name: o for o in run_due()}
        assert get_session().get(JobRun, "outbox-send") is None  # not even claimed
    assert not outcomes["outbox-send"].ran
    assert outcomes["gifts-expire"].ran
    result = runner.invoke(args=["jobs", "run-once", "outbox-send"])
    assert result.exit_code == 1 and "MAIL_BACKEND=none" in result.output


def test_status_lists_every_job(app, world, runner):
    before = runner.invoke(args=["jobs", "status"]).output
    assert all(f"{name}" in before and "never run" in before for name in JOBS)
    runner.invoke(args=["jobs", "run-once", "vouchers-expire"])
    after = runner.invoke(args=["jobs", "status"]).output
    line = next(line for line in after.splitlines() if line.startswith("vouchers-expire"))
    assert "every 15 min" in line and "last ok now: 2 expired" in line and "due in 15 min" in line
