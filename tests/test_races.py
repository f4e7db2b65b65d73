"""Two people acting on the same thing at the same moment: exactly one wins, the other is
told, and nothing is left half-done. These matter on PostgreSQL, where requests really run
side by side; on SQLite they run one after the other and must give the same answers."""

from __future__ import annotations

import io
import threading
import uuid

from sqlalchemy import func, select

from grants.core.cohorts import cohort_funding
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.imports import EnrolmentImport
from grants.database import get_session
from tests.conftest import BASE_URL, AuthActions, csrf_token, submit
from tests.test_enrolment_csv import GOOD as CSV


def at_once(*calls):
    """Run each call in its own thread, released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(n, call):
        barrier.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def logged_in(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def test_two_staff_cannot_fund_past_the_budget_together(app, make_user, make_cohort):
    cohort_id = make_cohort(session_budget=10)
    clients = [logged_in(app, make_user("staff")) for _ in range(8)]
    url = f"/staff/cohorts/{cohort_id}/fund"
    tokens = [csrf_token(c.get(f"/staff/cohorts/{cohort_id}").text) for c in clients]
    at_once(
        *[
            (
                lambda c=c, t=t: c.post(
                    url, data={"sessions": "6", "request_id": str(uuid.uuid4()), "csrf_token": t}
                )
            )
            for c, t in zip(clients, tokens, strict=True)
        ]
    )
    with app.app_context():
        db = get_session()
        assert cohort_funding(db, db.get(Cohort, cohort_id)).funded == 6


def test_withdrawing_an_invitation_while_it_is_accepted(
    app, client, make_user, make_cohort, mailbox
):
    staff = make_user("staff")
    cohort_id = make_cohort()
    staff_client = logged_in(app, staff)
    submit(
        staff_client,
        f"/staff/cohorts/{cohort_id}/invite",
        {"name": "Ana", "artist_name": "A", "email": "ana@example.org", "country": "US"},
    )
    [link] = mailbox.links(mailbox.to("ana@example.org")[0])
    path = link[len(BASE_URL) :]
    with app.app_context():
        enrolment_id = get_session().scalar(select(Enrolment.id))
    page = client.get(path)
    consent_id = page.text.split('name="consent_text_id" type="hidden" value="')[1].split('"')[0]
    staff_token = csrf_token(staff_client.get("/staff/").text)
    accepted, revoked = at_once(
        lambda: client.post(
            path,
            data={
                "new_password": "river stone lantern",
                "confirm_password": "river stone lantern",
                "consent": "y",
                "consent_text_id": consent_id,
                "csrf_token": csrf_token(page.text),
            },
        ),
        lambda: staff_client.post(
            f"/staff/enrolments/{enrolment_id}/revoke",
            data={"csrf_token": staff_token},
            follow_redirects=True,
        ),
    )
    with app.app_context():
        enrolment = get_session().get(Enrolment, enrolment_id)
        roles = enrolment.user.role_names
        state = enrolment.status
    # Whichever came first decided; the state and the person agree with each other.
    if state == "active":
        assert "ambassador" in roles and "Only a pending invitation" in revoked.text
    else:
        assert state == "revoked" and "ambassador" not in roles
        assert accepted.status_code == 400


def test_one_reset_link_used_twice_at_once_works_once(app, make_user, mailbox):
    user = make_user("ambassador")
    first = app.test_client()
    submit(first, "/auth/reset", {"email": user.email})
    [link] = mailbox.links(mailbox.to(user.email)[0])
    path = link[len(BASE_URL) :]
    second = app.test_client()
    pages = [first.get(path), second.get(path)]
    results = at_once(
        *[
            (
                lambda c=c, p=p, n=n: c.post(
                    path,
                    data={
                        "new_password": f"new password number {n}",
                        "confirm_password": f"new password number {n}",
                        "csrf_token": csrf_token(p.text),
                    },
                )
            )
            for n, (c, p) in enumerate(zip((first, second), pages, strict=True))
        ]
    )
    assert sorted(r.status_code for r in results) == [302, 400]
    with app.app_context():
        count = get_session().scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "auth.password_set")
        )
    assert count == 1


def test_confirming_and_discarding_one_list_at_once(app, make_user, make_cohort):
    cohort_id = make_cohort()
    clients = [logged_in(app, make_user("staff")) for _ in range(2)]
    response = submit(
        clients[0],
        f"/staff/cohorts/{cohort_id}/import",
        {"file": (io.BytesIO(CSV.encode()), "list.csv")},
    )
    preview = response.location
    tokens = [csrf_token(c.get("/staff/").text) for c in clients]
    at_once(
        lambda: clients[0].post(preview + "/confirm", data={"csrf_token": tokens[0]}),
        lambda: clients[1].post(preview + "/discard", data={"csrf_token": tokens[1]}),
    )
    with app.app_context():
        db = get_session()
        staged = db.scalar(select(EnrolmentImport))
        invited = db.scalar(select(func.count()).select_from(Enrolment))
    # The list's state says truly what happened to it.
    assert (staged.status, invited) in {("imported", 3), ("discarded", 0)}
