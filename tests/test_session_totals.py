"""The finance home's running totals of paid sessions (per cohort, currency and month): kept
by each confirmation in its own transaction, they must always equal a fresh sum over the
vouchers, whatever happened to the bookings, and the migration that made them fills them
from the vouchers there were."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import demo, passwords, schema
from grants.core.clock import clock
from grants.core.models.cohorts import Cohort
from grants.core.models.partners import SessionTotal
from grants.core.session_totals import drift
from grants.database import get_session
from tests.conftest import submit
from tests.test_gifts import grant_credits
from tests.test_partners import TODAY, book, confirm, logged_in, the_voucher, world  # noqa: F401


def totals(app) -> list[tuple]:
    with app.app_context():
        db = get_session()
        return [
            (t.month, t.sessions, t.amount)
            for t in db.scalars(select(SessionTotal).order_by(SessionTotal.month))
        ]


def no_drift(app) -> bool:
    with app.app_context():
        found = drift(get_session())
        assert not found, [str(d) for d in found]
        return True


def cohort_settings(app, cohort_id: int, **values) -> None:
    with app.app_context():
        db = get_session()
        cohort = db.get(Cohort, cohort_id)
        for name, value in values.items():
            setattr(cohort, name, value)
        db.commit()


def test_the_totals_follow_every_kind_of_ending(app, world, make_user):  # noqa: F811
    holder, partner = logged_in(app, world["maya"]), logged_in(app, world["p_user"])
    # Delivered: counted in its month, at the cohort's value.
    book(holder, world)
    confirm(partner, the_voucher(app).code)
    assert totals(app) == [(date(2027, 3, 1), 1, 12_000)] and no_drift(app)
    # Confirmed twice: refused, and counted once.
    assert confirm(partner, the_voucher(app).code).status_code == 422
    # Cancelled by the holder: never counted.
    book(holder, world)
    submit(holder, f"/wallet/vouchers/{the_voucher(app).id}/cancel", form_page="/wallet/")
    # Missed where the credit goes back: not paid, not counted.
    cohort_settings(app, world["cohort_id"], missed_session_policy="return")
    book(holder, world)
    confirm(partner, the_voucher(app).code, outcome="missed")
    assert the_voucher(app).status == "missed"
    assert totals(app) == [(date(2027, 3, 1), 1, 12_000)] and no_drift(app)
    # Missed where the partner is paid: counted, in the month of the session, at the value
    # the cohort has then.
    cohort_settings(app, world["cohort_id"], missed_session_policy="pay", session_value=15_000)
    book(holder, world)
    clock.advance(timedelta(days=23))  # 2 April
    holder, partner = logged_in(app, world["maya"]), logged_in(app, world["p_user"])
    confirm(partner, the_voucher(app).code, when=date(2027, 3, 31), outcome="missed")
    book(holder, world)
    confirm(partner, the_voucher(app).code, when=date(2027, 4, 2))
    assert totals(app) == [(date(2027, 3, 1), 2, 27_000), (date(2027, 4, 1), 1, 15_000)]
    # Expired unconfirmed: never counted.
    cohort_settings(app, world["cohort_id"], session_value=12_000)
    clock.advance(timedelta(days=1))
    grant_credits(app, world["maya"], world["cohort_id"], 1, world["staff"])  # one to lapse
    book(logged_in(app, world["maya"]), world)
    clock.advance(timedelta(days=91))
    partner = logged_in(app, world["p_user"])
    assert confirm(partner, the_voucher(app).code, when=clock.now().date()).status_code == 422
    assert the_voucher(app).status == "expired"
    assert totals(app) == [(date(2027, 3, 1), 2, 27_000), (date(2027, 4, 1), 1, 15_000)]
    assert no_drift(app)

    # The finance home shows the months, the programme and the region from the totals.
    home = logged_in(app, make_user("finance")).get("/finance/").text
    assert "2027-03" in home and "2027-04" in home and "No confirmed sessions yet" not in home


def test_drift_names_a_month_that_disagrees(app, world):  # noqa: F811
    book(logged_in(app, world["maya"]), world)
    confirm(logged_in(app, world["p_user"]), the_voucher(app).code)
    with app.app_context():
        db = get_session()
        db.scalar(select(SessionTotal)).amount += 1
        db.flush()
        [found] = drift(db)
        db.rollback()
    assert (found.kept, found.counted) == ((1, 12_001), (1, 12_000))
    assert "2027-03" in str(found)


@pytest.mark.breaks_ledger  # on purpose: the totals are made wrong
def test_ledger_verify_fails_when_the_totals_drift(app, world, runner):  # noqa: F811
    book(logged_in(app, world["maya"]), world)
    confirm(logged_in(app, world["p_user"]), the_voucher(app).code)
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    with app.app_context():
        db = get_session()
        db.scalar(select(SessionTotal)).sessions += 1
        db.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "session totals differ: cohort" in result.output
    assert "totals say 2 sessions" in result.output


def test_the_finance_home_without_sessions_says_so(app, make_user):
    home = logged_in(app, make_user("finance")).get("/finance/").text
    assert "No confirmed sessions yet" in home


def test_the_migration_fills_the_totals_from_the_vouchers(engine):
    passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)
    with Session(engine) as session:
        demo.seed(session)  # confirms sessions through the core: totals kept as it goes
        session.commit()
        kept = session.execute(select(SessionTotal.__table__)).all()
    assert kept
    schema.downgrade(engine, "0011")
    schema.upgrade(engine)
    with Session(engine) as session:
        assert sorted(session.execute(select(SessionTotal.__table__)).all()) == sorted(kept)
        assert drift(session) == []


def test_the_session_month_is_the_first_of_the_month():
    from grants.core.session_totals import month_of

    assert month_of(TODAY) == date(2027, 3, 1)
