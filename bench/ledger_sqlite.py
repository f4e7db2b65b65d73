"""Ledger transfers on SQLite (issue 10, item 4): apply_transfers + commit_with_retry, one
transfer per transaction, against a plain `sqlite3` loop running the same statements on the
same kind of file (the project's schema, WAL, the same pragmas), one writer each.

The plain loop is what a hand-written ledger would send for one transfer: BEGIN IMMEDIATE,
read the two accounts (flags, ledger, balances), look for the id, insert the row, add to
the two balances, COMMIT. No lapsed-hold search, no limit check in Python.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bench.common import Figure, emit, in_turn, median, scaled, scratch_sqlite
from bench.ledger_pg import set_up
from grants.core.db import SQLITE_BUSY_TIMEOUT_MS, commit_with_retry, make_engine
from grants.core.ledger import NewTransfer, apply_transfers, verify_ledger

NAME = "ledger (SQLite)"
SECONDS = scaled(6, 2)
ROUNDS = scaled(3, 2)


def _rate(one, seconds: float) -> float:
    """Transfers per second of `one()` for `seconds`, after 20 to warm up (caches, pages)."""
    for _ in range(20):
        one()
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        one()
        done += 1
    return done / (time.perf_counter() - began)


def ledger_rate(url: str, wallets: list[int], seconds: float) -> float:
    engine = make_engine(url)
    session = Session(engine)
    rng = random.Random()

    def one() -> None:
        debit, credit = rng.sample(wallets, 2)
        batch = [NewTransfer(uuid.uuid4(), debit, credit, 1, code="bench")]
        commit_with_retry(session, lambda: apply_transfers(session, batch))

    rate = _rate(one, seconds)
    session.close()
    engine.dispose()
    return rate


def plain_rate(path: Path, wallets: list[int], seconds: float) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        "recursive_triggers=ON",
        "synchronous=NORMAL",
    ):
        connection.execute(f"PRAGMA {pragma}")
    rng = random.Random()

    def one() -> None:
        debit, credit = rng.sample(wallets, 2)
        transfer_id = uuid.uuid4().hex
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute(
            "SELECT id, ledger_id, debits_must_not_exceed_credits, debits_pending,"
            " debits_posted, credits_pending, credits_posted FROM accounts WHERE id IN (?, ?)",
            (debit, credit),
        ).fetchall()
        ledger_id = rows[0][1]
        connection.execute("SELECT id FROM transfers WHERE id = ?", (transfer_id,)).fetchall()
        connection.execute(
            "INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount,"
            " kind, pending_id, timeout, expires_at, code, created_at)"
            " VALUES (?, ?, ?, ?, 1, 'single', NULL, NULL, NULL, 'bench', ?)",
            (transfer_id, ledger_id, debit, credit, now),
        )
        connection.execute(
            "UPDATE accounts SET debits_posted = debits_posted + 1 WHERE id = ?", (debit,)
        )
        connection.execute(
            "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = ?", (credit,)
        )
        connection.execute("COMMIT")

    rate = _rate(one, seconds)
    connection.close()
    return rate


def run() -> list[Figure]:
    with (
        tempfile.TemporaryDirectory(prefix="grants-bench-") as directory,
        scratch_sqlite(Path(directory)) as url,
    ):
        world = set_up(url)
        wallets = world["wallets"]
        path = Path(directory) / "bench.db"
        ours, theirs = [], []
        for index in range(ROUNDS):
            in_turn(
                index,
                lambda: ours.append(ledger_rate(url, wallets, SECONDS)),
                lambda: theirs.append(plain_rate(path, wallets, SECONDS)),
            )
        engine = make_engine(url)
        with Session(engine) as session:
            report = verify_ledger(session)
        engine.dispose()
    note = "ledger verifies" if report.ok else f"LEDGER BROKEN: {report.summary()}"
    return [
        Figure(
            NAME,
            "1 transfer per transaction vs plain sqlite3",
            median(ours),
            median(theirs),
            "tx/s",
            0.5,
            rounds={"project": ours, "baseline": theirs},
            note=note,
            sound=report.ok,
        )
    ]


if __name__ == "__main__":
    emit(run())
