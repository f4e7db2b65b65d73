"""Ledger transfers on PostgreSQL against pgbench's tpcb-like, same server, same run.

Figures (issue 10, items 1 to 3):
- one transfer per transaction through apply_transfers + commit_with_retry, 1 and 8 client
  processes, over `pgbench -b tpcb-like -M prepared` (scale 8) at the same client counts;
- 100 transfers per transaction over one per transaction (transfers per second, 1 client);
- a hot account: every transfer credits one system account (as every session confirmation
  credits the cohort's `redeemed`), 8 clients, over tpcb-like at 8; no error may be left
  after retries and no deadlock may happen.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import uuid

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bench.common import (
    Figure,
    emit,
    in_turn,
    median,
    pgbench_init,
    pgbench_tps,
    scaled,
    scratch_postgres,
)
from grants.core.db import commit_with_retry, make_engine
from grants.core.ledger import (
    NewTransfer,
    apply_transfers,
    get_or_create_ledger,
    open_account,
    verify_ledger,
)

NAME = "ledger (PostgreSQL)"
WALLETS = 1000
SECONDS = scaled(8, 3)
ROUNDS = scaled(3, 2)
BATCH = 100


def set_up(url: str) -> dict:
    """A credits ledger with a funding source, `WALLETS` wallets that must not go below zero
    (funded generously, so no transfer is refused), and one hot system account. All through
    the ledger API: this is small."""
    engine = make_engine(url)
    with Session(engine) as session:
        ledger = get_or_create_ledger(session, "bench:credits", unit="session", name="Bench")
        source = open_account(session, ledger, "source")
        hot = open_account(session, ledger, "redeemed")
        wallets = [
            open_account(session, ledger, f"wallet{i}", debits_must_not_exceed_credits=True)
            for i in range(WALLETS)
        ]
        session.flush()
        apply_transfers(
            session,
            [
                NewTransfer(uuid.uuid4(), source.id, wallet.id, 10**9, code="fund")
                for wallet in wallets
            ],
        )
        session.commit()
        world = {"wallets": [w.id for w in wallets], "hot": hot.id}
    engine.dispose()
    return world


def _client(url, world, mode, seconds, start, results) -> None:
    """One client process: transfers until the time is up; reports what it did."""
    engine = make_engine(url)
    session = Session(engine)
    wallets, hot = world["wallets"], world["hot"]
    rng = random.Random()
    counts = {"transfers": 0, "errors": 0, "retries": 0, "deadlocks": 0}

    def on_retry(error: DBAPIError) -> None:
        counts["retries"] += 1
        if getattr(error.orig, "sqlstate", None) == "40P01":
            counts["deadlocks"] += 1

    def one_batch() -> list[NewTransfer]:
        size = BATCH if mode == "batched" else 1
        batch = []
        for _ in range(size):
            debit = rng.choice(wallets)
            credit = hot if mode == "hot" else rng.choice(wallets)
            while credit == debit:
                credit = rng.choice(wallets)
            batch.append(NewTransfer(uuid.uuid4(), debit, credit, 1, code="bench"))
        return batch

    def run(until: float | None, times: int | None) -> int:
        done = 0
        while (until is None or time.perf_counter() < until) and (times is None or times):
            batch = one_batch()
            try:
                commit_with_retry(
                    session, lambda b=batch: apply_transfers(session, b), on_retry=on_retry
                )
                done += len(batch)
            except DBAPIError:
                counts["errors"] += 1
            if times is not None:
                times -= 1
        return done

    run(None, 20)  # warm up: connection, statement caches
    counts.update(transfers=0, errors=0, retries=0, deadlocks=0)
    start.wait()
    began = time.perf_counter()
    counts["transfers"] = run(began + seconds, None)
    counts["elapsed"] = time.perf_counter() - began
    session.close()
    engine.dispose()
    results.put(counts)


def ledger_rate(url: str, world: dict, *, clients: int, mode: str, seconds: float) -> dict:
    """Transfers per second of `clients` processes together, and their errors."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients)
    results = context.Queue()
    workers = [
        context.Process(target=_client, args=(url, world, mode, seconds, start, results))
        for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    total = {key: sum(r[key] for r in reports) for key in ("transfers", "errors", "retries")}
    total["deadlocks"] = sum(r["deadlocks"] for r in reports)
    total["rate"] = total["transfers"] / max(r["elapsed"] for r in reports)
    return total


def run() -> list:
    with (
        scratch_postgres("grants_bench_ledger") as url,
        scratch_postgres("grants_bench_pgbench", migrate=False) as pgbench_url,
    ):
        world = set_up(url)
        pgbench_init(pgbench_url, scale=8)
        rows: dict[str, list] = {key: [] for key in ("c1", "pg1", "batch", "c8", "pg8", "hot")}
        extra = {"hot_errors": 0, "hot_deadlocks": 0, "hot_retries": 0}

        def ours(key, clients, mode):
            def measure():
                result = ledger_rate(url, world, clients=clients, mode=mode, seconds=SECONDS)
                if mode == "hot":
                    extra["hot_errors"] += result["errors"]
                    extra["hot_deadlocks"] += result["deadlocks"]
                    extra["hot_retries"] += result["retries"]
                rows[key].append(result["rate"])
                return result["rate"]

            return measure

        def theirs(key, clients):
            def measure():
                rate = pgbench_tps(pgbench_url, clients=clients, seconds=SECONDS)
                rows[key].append(rate)
                return rate

            return measure

        for index in range(ROUNDS):
            # Project and baseline alternate, and which goes first swaps every round.
            in_turn(index, ours("c1", 1, "single"), theirs("pg1", 1), ours("batch", 1, "batched"))
            in_turn(index, ours("c8", 8, "single"), theirs("pg8", 8), ours("hot", 8, "hot"))

        engine = make_engine(url)
        with Session(engine) as session:
            report = verify_ledger(session)
        engine.dispose()

    verified = "ledger verifies" if report.ok else f"LEDGER BROKEN: {report.summary()}"
    hot_note = (
        f"{extra['hot_errors']} errors left after retries, {extra['hot_deadlocks']} deadlocks, "
        f"{extra['hot_retries']} retries; {verified}"
    )
    return [
        Figure(
            NAME,
            "1 client vs tpcb-like",
            median(rows["c1"]),
            median(rows["pg1"]),
            "tx/s",
            0.3,
            rounds={"project": rows["c1"], "baseline": rows["pg1"]},
            note=verified,
            sound=report.ok,
        ),
        Figure(
            NAME,
            "8 clients vs tpcb-like",
            median(rows["c8"]),
            median(rows["pg8"]),
            "tx/s",
            0.4,
            rounds={"project": rows["c8"], "baseline": rows["pg8"]},
            sound=report.ok,
        ),
        Figure(
            NAME,
            "100 per transaction vs 1",
            median(rows["batch"]),
            median(rows["c1"]),
            "transfers/s",
            3.0,
            rounds={"project": rows["batch"], "baseline": rows["c1"]},
        ),
        Figure(
            NAME,
            "hot account, 8 clients vs tpcb-like",
            median(rows["hot"]),
            median(rows["pg8"]),
            "tx/s",
            0.25,
            rounds={"project": rows["hot"], "baseline": rows["pg8"]},
            note=hot_note,
            sound=report.ok and not extra["hot_errors"] and not extra["hot_deadlocks"],
        ),
    ]


if __name__ == "__main__":
    emit(run())
