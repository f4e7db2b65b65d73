"""A page asks the database the same number of questions however many rows it shows: the
wallet home, the staff queue and the finance home are counted with a few rows, then with
more, and the counts must be equal (a query per row is what makes pages slow at scale; see
docs/benchmarks.md)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event

from grants.core.db import commit_with_retry
from grants.core.funding import ask_for_funding
from grants.core.gifts import gift_credits
from grants.core.ledger import NewTransfer, apply_transfers
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.people import User
from grants.core.money_ledger import funding_account, payable_account
from grants.database import get_session
from tests.conftest import AuthActions
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits


class Counter:
    """SQL statements the app sends while a page is asked for."""

    def __init__(self, app) -> None:
        self.count = 0
        event.listen(app.extensions["grants.engine"], "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1

    def page(self, client, path: str) -> int:
        client.get(path)  # once first: anything a page does only the first time is done
        before = self.count
        answer = client.get(path)
        assert answer.status_code == 200, path
        return self.count - before


def signed_in(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def _in_app(app, work):
    with app.app_context():
        db = get_session()
        return commit_with_retry(db, lambda: work(db))


def test_the_wallet_home_asks_as_often_with_more_lines(app, make_user, make_cohort):
    staff = make_user("staff")
    person = make_user("ambassador")
    cohort_id = make_cohort(
        funded=100, session_allowance=40, approval_threshold=40, open_gift_limit=20
    )
    enrol_user(app, person, cohort_id)
    grant_credits(app, person, cohort_id, 30, staff)
    counter = Counter(app)
    client = signed_in(app, person)

    def gifts(numbers):
        def work(db):
            for n in numbers:
                gift_credits(
                    db,
                    db.get(User, person.id),
                    db.get(Cohort, cohort_id),
                    recipient_name=f"Crew {n}",
                    recipient_email=f"crew{n}@example.org",
                    relationship="crew",
                    message="",
                    sessions=1,
                    transfer_id=uuid.uuid4(),
                )

        _in_app(app, work)

    gifts(range(1))
    few = counter.page(client, "/wallet/")
    gifts(range(1, 8))
    assert counter.page(client, "/wallet/") == few


def test_the_staff_queue_asks_as_often_with_more_requests(app, make_user, make_cohort):
    staff = make_user("staff")
    cohort_id = make_cohort(funded=100, session_allowance=10)
    counter = Counter(app)
    client = signed_in(app, staff)

    def requests(count):
        for _ in range(count):
            person = make_user("ambassador")
            enrolment_id = enrol_user(app, person, cohort_id)

            def work(db, person=person, enrolment_id=enrolment_id):
                ask_for_funding(db, db.get(User, person.id), db.get(Enrolment, enrolment_id), 2)

            _in_app(app, work)

    requests(1)
    few = counter.page(client, "/staff/requests")
    requests(6)
    assert counter.page(client, "/staff/requests") == few


@pytest.mark.parametrize("path", ["/finance/"])
def test_the_finance_home_asks_as_often_with_more_partners_owed(app, make_user, path):
    finance = make_user("finance")
    counter = Counter(app)
    client = signed_in(app, finance)

    def owed(count):
        for _ in range(count):
            partner = make_user("partner")

            def work(db, partner_id=partner.partner_id):
                funding = funding_account(db, "USD")
                payable = payable_account(db, partner_id, "USD")
                apply_transfers(
                    db, [NewTransfer(uuid.uuid4(), funding.id, payable.id, 12_000, code="session")]
                )

            _in_app(app, work)

    owed(1)
    few = counter.page(client, path)
    owed(6)
    assert counter.page(client, path) == few
