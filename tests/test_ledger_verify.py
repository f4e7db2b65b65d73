"""`ledger verify` and the invariants behind it: it passes on honest books and names what
is wrong, and where, when someone has tampered with them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from grants.core.ledger import apply_transfers, verify_ledger
from tests.ledger_helpers import Books, pending, post, single


@pytest.fixture
def books(session):
    books = Books(session)
    wallet = books.wallet(funded=10)
    sink = books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 3)])
    apply_transfers(session, [single(wallet, sink, 2), post(hold.id, amount=2)])
    session.commit()
    books.wallet_id, books.sink_id = wallet.id, sink.id
    return books


def test_verify_passes_on_honest_books(session, books):
    report = verify_ledger(session)
    assert report.ok
    assert report.summary() == (
        "ledger OK: 1 ledgers, 3 accounts, 4 transfers; every invariant holds"
    )


def test_verify_passes_on_an_empty_database(session):
    assert verify_ledger(session).ok


@pytest.mark.breaks_ledger
def test_a_tampered_balance_is_named_with_its_account(session, books):
    session.execute(
        text("UPDATE accounts SET credits_posted = credits_posted + 5 WHERE id = :id"),
        {"id": books.sink_id},
    )
    session.commit()
    report = verify_ledger(session)
    assert not report.ok
    invariants = {violation.invariant for violation in report.violations}
    assert invariants == {"ledger_balanced", "account_matches_transfers"}
    [replay] = [v for v in report.violations if v.invariant == "account_matches_transfers"]
    assert replay.account_id == books.sink_id
    assert f"account {books.sink_id}" in str(replay)
    assert "credits_posted is 9 but its transfers add up to 4" in str(replay)


@pytest.mark.breaks_ledger
def test_a_pending_balance_out_of_step_is_found(session, books):
    # Both sides moved together, so the ledger still balances: only a replay finds it.
    session.execute(
        text("UPDATE accounts SET debits_pending = 1 WHERE id = :id"), {"id": books.wallet_id}
    )
    session.execute(
        text("UPDATE accounts SET credits_pending = 1 WHERE id = :id"), {"id": books.sink_id}
    )
    session.commit()
    report = verify_ledger(session)
    assert {v.invariant for v in report.violations} == {"account_matches_transfers"}
    assert {v.account_id for v in report.violations} == {books.wallet_id, books.sink_id}


def test_cli_verify_prints_one_line_and_exits_zero(app, runner):
    from grants.core.db import commit_with_retry
    from grants.database import get_session

    with app.app_context():
        db = get_session()
        commit_with_retry(db, lambda: Books(db).wallet(funded=4))
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "ledger OK: 1 ledgers, 2 accounts, 1 transfers; every invariant holds"
    ]


@pytest.mark.breaks_ledger
def test_cli_verify_fails_naming_the_invariant_and_account(app, runner):
    from grants.database import get_session

    with app.app_context():
        db = get_session()
        wallet = Books(db).wallet(funded=4)
        db.commit()
        db.execute(
            text("UPDATE accounts SET credits_posted = 40 WHERE id = :id"), {"id": wallet.id}
        )
        db.commit()
        wallet_id = wallet.id
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert result.output.startswith("ledger BROKEN: ledger_balanced: ledger 1")
    assert f"account {wallet_id}" in result.output
    assert "account_matches_transfers" in result.output


@pytest.mark.breaks_ledger
def test_a_resolution_that_breaks_the_expiry_rules_is_found(session, books):
    from datetime import UTC, datetime, timedelta

    from grants.core.clock import clock

    clock.set(datetime(2027, 5, 1, tzinfo=UTC))
    [hold] = apply_transfers(session, [pending(books.wallet_id, books.sink_id, 1, timeout=60)])
    session.commit()
    # Written behind the ledger's back: a void an hour after the hold expired.
    late = (clock.now() + timedelta(hours=1)).replace(tzinfo=None)
    if session.bind.dialect.name == "postgresql":
        late = late.replace(tzinfo=UTC)
    session.execute(
        text(
            "INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount,"
            " kind, pending_id, code, created_at) SELECT :id, ledger_id, debit_account_id,"
            " credit_account_id, amount, 'void', id, code, :late FROM transfers WHERE id = :hold"
        ),
        {
            "id": _uuid_value(session, uuid.uuid4()),
            "hold": _uuid_value(session, hold.id),
            "late": late,
        },
    )
    session.execute(
        text("UPDATE accounts SET debits_pending = debits_pending - 1 WHERE id = :id"),
        {"id": books.wallet_id},
    )
    session.execute(
        text("UPDATE accounts SET credits_pending = credits_pending - 1 WHERE id = :id"),
        {"id": books.sink_id},
    )
    session.commit()
    report = verify_ledger(session)
    assert [v.invariant for v in report.violations] == ["resolution_matches_pending"]


def _uuid_value(session, value: uuid.UUID):
    # SQLAlchemy stores UUIDs as 32 hex digits on SQLite and natively on PostgreSQL.
    return value.hex if session.bind.dialect.name == "sqlite" else value
