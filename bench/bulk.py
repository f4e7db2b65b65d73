"""Bulk work (issue 10, item 8).

- Importing 10,000 enrolments from a CSV file through the core (read, check, import all or
  none, commit: what `flask enrol import` does) against inserting the same rows (the users,
  their enrolments and their invitation emails in the outbox) with raw `executemany`.
  Each round imports into a cohort of its own, with addresses of its own.
- Sweeping 100,000 gifts past their time with the project's sweep (what `flask gifts
  expire` runs) against a raw SQL bulk void of the same rows in one transaction (the expire
  transfers, the balances, the gifts' state, and the same audit rows and emails). Each side
  sweeps its own copy of one database; the ledger must verify after both.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace

import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench import world as worlds
from bench.common import (
    Figure,
    _server_engine,
    emit,
    in_turn,
    median,
    pg_url,
    scaled,
    scratch_postgres,
)
from grants.core.cohorts import create_cohort
from grants.core.db import commit_with_retry, make_engine
from grants.core.enrolment_csv import check_places, import_rows, read_enrolment_csv
from grants.core.gifts import sweep_lapsed_gifts
from grants.core.ledger import verify_ledger
from grants.core.models.people import User

NAME = "bulk work"
ROWS = scaled(10_000, 2_000)
ROUNDS = scaled(3, 2)
# 100,000 is the number (BENCH_SWEEP_GIFTS to try another).
GIFTS = scaled(int(os.environ.get("BENCH_SWEEP_GIFTS", 100_000)), 3_000)


def _csv(tag: str) -> bytes:
    lines = ["name,artist_name,email,country"]
    lines += [f"Person {tag} {n},Band {n},p{n}-{tag}@import.test,US" for n in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _new_cohort(url: str, index: int) -> tuple[int, int]:
    engine = make_engine(url)
    with Session(engine) as session:
        staff = session.scalar(select(User).where(User.email == "staff@bench.test"))
        settings = replace(
            worlds._settings(index, 10, worlds.GRANT),
            intake_name=f"import {index} {uuid.uuid4().hex[:6]}",
        )
        cohort = create_cohort(session, staff, settings)
        session.commit()
        ids = cohort.id, staff.id
    engine.dispose()
    return ids


def import_seconds(url: str, index: int) -> float:
    cohort_id, staff_id = _new_cohort(url, index)
    data = _csv(f"a{index}")
    engine = make_engine(url)
    with Session(engine) as session:
        start = time.perf_counter()

        def work():
            from grants.core.models.cohorts import Cohort

            cohort = session.get(Cohort, cohort_id)
            rows = check_places(session, cohort, read_enrolment_csv(data))
            return import_rows(session, session.get(User, staff_id), cohort, rows)

        done = commit_with_retry(session, work)
        seconds = time.perf_counter() - start
    engine.dispose()
    assert done == ROWS
    return seconds


def executemany_seconds(url: str, index: int) -> float:
    cohort_id, staff_id = _new_cohort(url, 100 + index)
    tag = f"b{index}"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        start = time.perf_counter()
        cursor = connection.cursor()
        cursor.executemany(
            "INSERT INTO users (email, name, active, session_generation, created_at)"
            " VALUES (%s, %s, true, 1, now()) RETURNING id",
            [(f"p{n}-{tag}@import.test", f"Person {tag} {n}") for n in range(ROWS)],
            returning=True,
        )
        user_ids = []
        while True:
            user_ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                break
        cursor.executemany(
            "INSERT INTO enrolments (cohort_id, user_id, artist_name, country, status,"
            " invite_nonce, invitations_sent, invited_at, invited_by_id)"
            " VALUES (%s, %s, %s, 'US', 'invited', md5(random()::text), 1, now(), %s)"
            " RETURNING id",
            [(cohort_id, user_id, f"Band {n}", staff_id) for n, user_id in enumerate(user_ids)],
            returning=True,
        )
        enrolment_ids = []
        while True:
            enrolment_ids.append(cursor.fetchone()[0])
            if not cursor.nextset():
                break
        cursor.executemany(
            "INSERT INTO outbox_messages (to_address, template, params, locale, status,"
            " attempts, next_attempt_at, created_at)"
            " VALUES (%s, 'invitation', %s, 'en', 'pending', 0, now(), now())",
            [
                (f"p{n}-{tag}@import.test", psycopg.types.json.Json({"enrolment_id": e}))
                for n, e in enumerate(enrolment_ids)
            ],
        )
        connection.commit()
        return time.perf_counter() - start


# The raw bulk void: every step the sweep takes, as one statement each over all the rows.
BULK_VOID = [
    """CREATE TEMP TABLE lapsed ON COMMIT DROP AS
       SELECT g.id AS gift_id, g.giver_id, t.id AS hold_id, t.ledger_id, t.debit_account_id,
              t.credit_account_id, t.amount, t.code
       FROM gifts g JOIN transfers t ON t.id = g.transfer_id
       WHERE g.status = 'pending' AND g.expires_at <= now()
         AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)""",
    """INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount, kind,
                             pending_id, code, created_at)
       SELECT gen_random_uuid(), ledger_id, debit_account_id, credit_account_id, amount,
              'expire', hold_id, code, now() FROM lapsed""",
    """UPDATE accounts a SET debits_pending = a.debits_pending - s.amount
       FROM (SELECT debit_account_id AS id, sum(amount) AS amount FROM lapsed
             GROUP BY debit_account_id) s WHERE a.id = s.id""",
    """UPDATE accounts a SET credits_pending = a.credits_pending - s.amount
       FROM (SELECT credit_account_id AS id, sum(amount) AS amount FROM lapsed
             GROUP BY credit_account_id) s WHERE a.id = s.id""",
    """UPDATE gifts SET status = 'expired', nonce = NULL, resolved_at = now()
       WHERE id IN (SELECT gift_id FROM lapsed)""",
    """INSERT INTO audit_entries (at, action, object_type, object_id, details)
       SELECT now(), 'gift.expire', 'Gift', gift_id::text, '{}' FROM lapsed""",
    """INSERT INTO outbox_messages (to_address, template, params, locale, status, attempts,
                                   next_attempt_at, created_at)
       SELECT u.email, 'gift_update', json_build_object('gift_id', l.gift_id), 'en',
              'pending', 0, now(), now()
       FROM lapsed l JOIN users u ON u.id = l.giver_id""",
]


def sweep_seconds(url: str) -> float:
    engine = make_engine(url)
    with Session(engine) as session:
        start = time.perf_counter()
        swept = sweep_lapsed_gifts(session)
        seconds = time.perf_counter() - start
    engine.dispose()
    return seconds, swept


def bulk_void_seconds(url: str) -> float:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        start = time.perf_counter()
        for statement in BULK_VOID:
            connection.execute(statement)
        connection.commit()
        return time.perf_counter() - start


def _verifies(url: str) -> bool:
    engine = make_engine(url)
    with Session(engine) as session:
        report = verify_ledger(session)
    engine.dispose()
    return report.ok


def run() -> list[Figure]:
    figures = []
    with scratch_postgres("grants_bench_import") as url:
        worlds.build(url, people=100, sessions=0, gifts=0, open_requests=0)
        ours, theirs = [], []
        for index in range(ROUNDS):
            in_turn(
                index,
                lambda i=index: ours.append(import_seconds(url, i)),
                lambda i=index: theirs.append(executemany_seconds(url, i)),
            )
    figures.append(
        Figure(
            NAME,
            f"import {ROWS:,} enrolments from CSV vs executemany",
            median(ours),
            median(theirs),
            "s",
            3.0,
            higher_is_better=False,
            rounds={"project": ours, "baseline": theirs},
        )
    )

    with scratch_postgres("grants_bench_sweep") as url:
        world = worlds.build(
            url,
            people=max(GIFTS // 8, 100),
            sessions=0,
            gifts=0,
            open_requests=0,
            lapsed_gifts=GIFTS + GIFTS // 10,
        )
        copy = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_raw"
        name = copy.rsplit("/", 1)[1]
        server = _server_engine()
        with server.connect() as connection:
            connection.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE "{url.rsplit("/", 1)[1]}"'
            )
        try:
            seconds, swept = sweep_seconds(url)
            raw = bulk_void_seconds(pg_url(name))
            sound = _verifies(url) and _verifies(pg_url(name))
        finally:
            with server.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.dispose()
    figures.append(
        Figure(
            NAME,
            f"sweep {swept:,} expired gifts vs raw SQL bulk void",
            seconds,
            raw,
            "s",
            3.0,
            higher_is_better=False,
            sound=sound,
            note=f"{world.lapsed_gifts:,} set up; "
            + ("the ledger verifies after both" if sound else "LEDGER BROKEN"),
            rounds={"project": [seconds], "baseline": [raw]},
        )
    )
    return figures


if __name__ == "__main__":
    emit(run())
