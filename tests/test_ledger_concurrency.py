"""Many connections at once against one wallet: the ledger's locking, not luck, keeps it right.

Each thread has its own connection (a file database on SQLite), and every attempt goes
through commit_with_retry exactly as a view or CLI command would.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core.db import commit_with_retry, make_engine
from grants.core.errors import DebitsExceedCredits, PendingTransferAlreadyResolved
from grants.core.ledger import apply_transfers, verify_ledger
from grants.core.models.ledger import Account
from tests.ledger_helpers import Books, balances, pending, post, single, void

THREADS = 50
ROUNDS = 20
SPEND = 10
WALLET = 100


@pytest.fixture
def crowd_engine(database_url):
    """An engine whose pool lets every thread hold its own connection at once."""
    engine = make_engine(database_url, pool_size=THREADS + 5, max_overflow=0)
    yield engine
    engine.dispose()


def test_fifty_threads_spend_from_one_wallet(crowd_engine):
    with Session(crowd_engine) as session:
        books = Books(session)
        sink = books.sink()
        wallets = [books.wallet(funded=WALLET) for _ in range(ROUNDS)]
        session.commit()
        wallet_ids = [wallet.id for wallet in wallets]
        sink_id = sink.id

    lowest_seen = []

    def spend(wallet_id: int, attempt: int, barrier: threading.Barrier) -> bool:
        # Half the spenders hold (pending), half spend outright: both count against the balance.
        make = pending if attempt % 2 else single
        barrier.wait()
        with Session(crowd_engine) as session:
            try:
                commit_with_retry(
                    session, lambda: apply_transfers(session, [make(wallet_id, sink_id, SPEND)])
                )
            except DebitsExceedCredits:
                return False
            account = session.scalar(select(Account).where(Account.id == wallet_id))
            lowest_seen.append(account.available)
            return True

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for wallet_id in wallet_ids:
            barrier = threading.Barrier(THREADS)
            outcomes = list(
                pool.map(lambda n, w=wallet_id, b=barrier: spend(w, n, b), range(THREADS))
            )
            assert outcomes.count(True) == WALLET // SPEND, f"wallet {wallet_id}"

    assert min(lowest_seen) >= 0
    with Session(crowd_engine) as session:
        for wallet_id in wallet_ids:
            debits_pending, debits_posted, _, credits_posted = balances(session, wallet_id)
            assert debits_pending + debits_posted == credits_posted == WALLET
        report = verify_ledger(session)
        assert report.ok, report.summary()


def test_opposite_transfers_at_once_do_not_deadlock(crowd_engine):
    with Session(crowd_engine) as session:
        books = Books(session)
        a, b = books.wallet(funded=1000), books.wallet(funded=1000)
        session.commit()
        a_id, b_id = a.id, b.id

    pairs = 200
    barrier = threading.Barrier(16)
    retried = []

    def move(n: int) -> None:
        debit, credit = (a_id, b_id) if n % 2 else (b_id, a_id)
        if n < 16:
            barrier.wait()
        with Session(crowd_engine) as session:
            commit_with_retry(
                session,
                lambda: apply_transfers(session, [single(debit, credit, 1)]),
                on_retry=lambda error: retried.append(getattr(error.orig, "sqlstate", None)),
            )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(move, range(2 * pairs)))  # re-raises any error from a thread

    # Locking in account-id order means PostgreSQL never had to break a deadlock.
    assert "40P01" not in retried
    with Session(crowd_engine) as session:
        assert balances(session, a_id) == (0, pairs, 0, 1000 + pairs)
        assert balances(session, b_id) == (0, pairs, 0, 1000 + pairs)


def test_the_same_transfer_sent_at_once_by_many_lands_once(crowd_engine):
    with Session(crowd_engine) as session:
        books = Books(session)
        wallet, sink = books.wallet(funded=100), books.sink()
        session.commit()
        transfer = single(wallet.id, sink.id, 7)
        wallet_id = wallet.id

    barrier = threading.Barrier(12)

    def send(_n: int):
        barrier.wait()
        with Session(crowd_engine) as session:
            [row] = commit_with_retry(session, lambda: apply_transfers(session, [transfer]))
            return row.id, row.amount

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = set(pool.map(send, range(12)))
    assert answers == {(transfer.id, 7)}
    with Session(crowd_engine) as session:
        assert balances(session, wallet_id) == (0, 7, 0, 100)


def test_one_pending_transfer_resolved_by_many_at_once_resolves_once(crowd_engine):
    with Session(crowd_engine) as session:
        books = Books(session)
        wallet, sink = books.wallet(funded=10), books.sink()
        [hold] = apply_transfers(session, [pending(wallet, sink, 6)])
        session.commit()
        hold_id, wallet_id = hold.id, wallet.id

    barrier = threading.Barrier(12)

    def resolve(n: int) -> str:
        make = post if n % 2 else void
        barrier.wait()
        with Session(crowd_engine) as session:
            try:
                commit_with_retry(session, lambda: apply_transfers(session, [make(hold_id)]))
            except PendingTransferAlreadyResolved:
                return "refused"
            return make.__name__

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(resolve, range(12)))
    assert outcomes.count("refused") == 11
    [winner] = [outcome for outcome in outcomes if outcome != "refused"]
    with Session(crowd_engine) as session:
        expected = (0, 6, 0, 10) if winner == "post" else (0, 0, 0, 10)
        assert balances(session, wallet_id) == expected
