"""A programme's worth of rows for the benchmarks, set up fast on PostgreSQL.

The few things with rules of their own (people who log in, cohorts and their funding,
partners) go through the core as the app would create them; the bulk (ambassadors, their
enrolments and wallets, grants, gifts, bookings, payouts and the transfers under them) is
written straight into the tables with COPY, each account's balances summed from the
transfers written, so `verify_ledger` holds afterwards. Only setup is done this way: what a
benchmark measures goes through the app.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyotp
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from grants.core.clock import clock
from grants.core.cohorts import BUDGET, SOURCE, create_cohort, fund_cohort
from grants.core.db import make_engine
from grants.core.ledger import open_account
from grants.core.models.ledger import Account
from grants.core.models.programmes import ConsentText
from grants.core.money_ledger import funding_account, payable_account
from grants.core.partners import PartnerSettings, save_partner
from grants.core.people import create_user
from grants.core.vouchers import REDEEMED

PASSWORD = "bench-password-2026"
COHORTS = 10
GRANT = 40  # sessions issued to each ambassador
SESSION_VALUE = 12_000
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY2346789"


@dataclass
class World:
    url: str
    staff_email: str = ""
    finance_email: str = ""
    ambassador_email: str = ""  # one ordinary ambassador, for the wallet home
    totp: dict[str, str] = field(default_factory=dict)  # email -> two-step secret
    transfers: int = 0
    people: int = 0
    batch_id: int | None = None  # the payout batch, when one was asked for
    small_batch_id: int | None = None
    lapsed_gifts: int = 0


class _Ledger:
    """Transfers and the balances they add up to, kept in step."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.balances: dict[int, list[int]] = {}

    def add(
        self,
        ledger_id,
        debit,
        credit,
        amount,
        kind,
        code,
        at,
        *,
        pending_id=None,
        timeout=None,
        transfer_id=None,
    ) -> uuid.UUID:
        transfer_id = transfer_id or uuid.uuid4()
        expires = at + timedelta(seconds=timeout) if timeout else None
        self.rows.append(
            (
                transfer_id,
                ledger_id,
                debit,
                credit,
                amount,
                kind,
                pending_id,
                timeout,
                expires,
                code,
                at,
            )
        )
        d = self.balances.setdefault(debit, [0, 0, 0, 0])
        c = self.balances.setdefault(credit, [0, 0, 0, 0])
        if kind == "pending":
            d[0] += amount
            c[2] += amount
        elif kind == "single":
            d[1] += amount
            c[3] += amount
        return transfer_id

    def resolve(self, pending: tuple, kind: str, at, code: str) -> uuid.UUID:
        """Post or void `pending` (a row added before)."""
        pending_id, ledger_id, debit, credit, amount = pending[:5]
        d, c = self.balances[debit], self.balances[credit]
        d[0] -= amount
        c[2] -= amount
        if kind == "post":
            d[1] += amount
            c[3] += amount
        transfer_id = uuid.uuid4()
        self.rows.append(
            (transfer_id, ledger_id, debit, credit, amount, kind, pending_id, None, None, code, at)
        )
        return transfer_id


def _copy(connection, table: str, columns: tuple[str, ...], rows) -> None:
    cursor = connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


_TRANSFER_COLUMNS = (
    "id",
    "ledger_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "kind",
    "pending_id",
    "timeout",
    "expires_at",
    "code",
    "created_at",
)


def _voucher_code(number: int) -> str:
    """A distinct code per number, in the vouchers' alphabet (scrambled so codes do not
    sort like the numbers)."""
    value = (number * 2_654_435_761 + 12_345) % len(CODE_ALPHABET) ** 8
    digits = []
    for _ in range(8):
        value, digit = divmod(value, len(CODE_ALPHABET))
        digits.append(CODE_ALPHABET[digit])
    return "".join(digits)


def build(
    url: str,
    *,
    people: int,
    sessions: int,
    gifts: int,
    open_requests: int,
    lapsed_gifts: int = 0,
    payout_batch: bool = False,
    ambassador_sessions: int | None = None,
    grant: int = GRANT,
    seed: int = 10,
) -> World:
    """Fill the (migrated, empty) PostgreSQL database at `url`.

    `people` ambassadors each granted `grant` sessions; `sessions` confirmed sessions with one
    partner (a hold, its post and the payment: three transfers each); `gifts` accepted gifts
    (two transfers each); `lapsed_gifts` gifts past their time that nothing has settled yet;
    `open_requests` funding requests waiting for staff. With `payout_batch`, a draft payout
    batch paying every session (and a second one paying the first tenth of them). The
    measured ambassador is granted `ambassador_sessions` (more, to gift many times)."""
    ambassador_sessions = ambassador_sessions or grant
    if sessions > people * grant:
        raise ValueError("more sessions than the ambassadors hold: raise `grant`")
    rng = random.Random(seed)
    now = clock.now()
    world = World(url=url)
    engine = make_engine(url)
    with Session(engine) as session:
        staff = create_user(
            session,
            None,
            email="staff@bench.test",
            name="Bench Staff",
            roles=["staff"],
            password=PASSWORD,
        )
        finance = create_user(
            session,
            None,
            email="finance@bench.test",
            name="Bench Finance",
            roles=["finance"],
            password=PASSWORD,
        )
        ambassador = create_user(
            session,
            None,
            email="ambassador@bench.test",
            name="Bench Ambassador",
            roles=["ambassador"],
            password=PASSWORD,
        )
        for user in (staff, finance):
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = now
            world.totp[user.email] = user.totp_secret
        partner = save_partner(
            session,
            staff,
            PartnerSettings(
                name="Harbour Therapy", kind="therapy", currency="USD", regions=("US",)
            ),
        )
        partner_user = create_user(
            session,
            None,
            email="partner@bench.test",
            name="Partner Desk",
            roles=["partner"],
            password=PASSWORD,
        )
        partner_user.partner_id = partner.id
        per_cohort = -(-(people + 1) // COHORTS)
        cohorts = []
        for index in range(COHORTS):
            cohort = create_cohort(
                session, staff, _settings(index, per_cohort, ambassador_sessions, grant)
            )
            extra = ambassador_sessions - grant if index == 0 else 0
            fund_cohort(
                session, staff, cohort, per_cohort * grant + extra, transfer_id=uuid.uuid4()
            )
            cohorts.append(cohort)
        session.flush()
        consent = {
            c.id: session.scalar(
                select(ConsentText.id).where(ConsentText.programme_id == c.programme_id)
            )
            for c in cohorts
        }
        budgets = {
            c.id: open_account(session, c.ledger, BUDGET, debits_must_not_exceed_credits=True).id
            for c in cohorts
        }
        redeemed = {c.id: open_account(session, c.ledger, REDEEMED).id for c in cohorts}
        funding = funding_account(session, "USD").id
        payable = payable_account(session, partner.id, "USD").id
        session.flush()
        money_ledger = session.get(Account, funding).ledger_id
        cohort_rows = [(c.id, c.ledger_id) for c in cohorts]
        ids = {
            "staff": staff.id,
            "partner_user": partner_user.id,
            "partner": partner.id,
            "ambassador": ambassador.id,
            "finance": finance.id,
        }
        # Balances written through the core so far (funding the cohorts), to add to.
        start = {
            a.id: [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted]
            for a in session.scalars(select(Account))
        }
        session.commit()
    world.staff_email, world.finance_email = "staff@bench.test", "finance@bench.test"
    world.ambassador_email = "ambassador@bench.test"

    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            # Setup only: the rows below are consistent by construction (and the ledger is
            # verified afterwards), so the per-row foreign key checks are skipped.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SELECT max(id) FROM users")
            next_user = cursor.fetchone()[0] + 1
            cursor.execute("SELECT max(id) FROM accounts")
            next_account = cursor.fetchone()[0] + 1
        ledger = _Ledger()
        users, roles, enrolments, accounts, grants = [], [], [], [], []
        holders = []  # (user id, cohort id, ledger id, wallet id)
        # The measured ambassador first, then everyone else.
        people_ids = [ids["ambassador"], *range(next_user, next_user + people - 1)]
        for number, user_id in enumerate(people_ids):
            cohort_id, ledger_id = cohort_rows[number % COHORTS]
            at = now - timedelta(days=365) + timedelta(seconds=number * 30 % 31_000_000)
            if user_id != ids["ambassador"]:
                users.append(
                    (user_id, f"person{user_id}@bench.test", f"Person {user_id}", None, True, 1, at)
                )
                roles.append((user_id, "ambassador"))
            wallet = next_account + number
            accounts.append((wallet, ledger_id, "wallet", user_id, True, False, 0, 0, 0, 0, at))
            enrolments.append(
                (
                    number + 1,
                    cohort_id,
                    user_id,
                    f"Band {user_id}",
                    "US",
                    "active",
                    None,
                    1,
                    at,
                    ids["staff"],
                    at,
                    consent[cohort_id],
                    at,
                )
            )
            granted = ambassador_sessions if user_id == ids["ambassador"] else grant
            transfer = ledger.add(
                ledger_id,
                budgets[cohort_id],
                wallet,
                granted,
                "single",
                "grant",
                at + timedelta(days=1),
            )
            grants.append(
                (
                    number + 1,
                    cohort_id,
                    number + 1,
                    user_id,
                    "upfront",
                    "approved",
                    granted,
                    None,
                    granted,
                    None,
                    None,
                    ids["staff"],
                    at,
                    transfer,
                    at,
                )
            )
            holders.append((user_id, cohort_id, ledger_id, wallet, number + 1))
        next_grant = len(grants) + 1
        for holder in rng.sample(holders, min(open_requests, len(holders))):
            user_id, cohort_id, _ledger_id, _wallet, enrolment_id = holder
            grants.append(
                (
                    next_grant,
                    cohort_id,
                    enrolment_id,
                    user_id,
                    "request",
                    "pending",
                    3,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    now - timedelta(hours=rng.randrange(1, 500)),
                )
            )
            next_grant += 1

        vouchers = []
        spent: dict[int, int] = {}
        for number in range(sessions):
            user_id, cohort_id, ledger_id, wallet, _e = holders[number % len(holders)]
            spent[wallet] = spent.get(wallet, 0) + 1
            at = now - timedelta(days=300) + timedelta(seconds=number * 97 % 25_000_000)
            hold = ledger.add(
                ledger_id,
                wallet,
                redeemed[cohort_id],
                1,
                "pending",
                "booking",
                at,
                timeout=90 * 86400,
            )
            hold_row = ledger.rows[-1]
            ledger.resolve(hold_row, "post", at + timedelta(days=3), "booking")
            payment = ledger.add(
                money_ledger,
                funding,
                payable,
                SESSION_VALUE,
                "single",
                "session",
                at + timedelta(days=3),
            )
            code = _voucher_code(number)
            vouchers.append(
                (
                    number + 1,
                    code,
                    cohort_id,
                    user_id,
                    ids["partner"],
                    "confirmed",
                    hold,
                    at + timedelta(days=90),
                    at,
                    (at + timedelta(days=2)).date(),
                    at + timedelta(days=3),
                    ids["partner_user"],
                    SESSION_VALUE,
                    "USD",
                    payment,
                )
            )
        gift_rows, waiting = [], set()
        for number in range(gifts + lapsed_gifts):
            # Holders take turns through the cohorts, so COHORTS apart is the same cohort.
            at_giver = rng.randrange(len(holders))
            giver = holders[at_giver]
            recipient = holders[(at_giver + COHORTS * rng.randrange(1, 50)) % len(holders)]
            if recipient[0] == giver[0] or recipient[2] != giver[2]:
                continue
            _g, cohort_id, ledger_id, giver_wallet, _e = giver
            lapsed = number >= gifts
            if spent.get(giver_wallet, 0) + 2 > grant or (
                lapsed and (giver[0], recipient[0]) in waiting  # one waiting gift per pair
            ):
                continue
            if lapsed:
                waiting.add((giver[0], recipient[0]))
            spent[giver_wallet] = spent.get(giver_wallet, 0) + 2
            at = now - timedelta(days=40 if lapsed else rng.randrange(1, 300))
            hold = ledger.add(
                ledger_id, giver_wallet, recipient[3], 2, "pending", "gift", at, timeout=30 * 86400
            )
            if not lapsed:
                ledger.resolve(ledger.rows[-1], "post", at + timedelta(days=2), "gift")
            gift_rows.append(
                (
                    len(gift_rows) + 1,
                    cohort_id,
                    giver[0],
                    recipient[0],
                    f"Person {recipient[0]}",
                    "bandmate",
                    "",
                    2,
                    "pending" if lapsed else "accepted",
                    hold,
                    secrets.token_hex(16) if lapsed else None,
                    at + timedelta(days=30),
                    at,
                    None if lapsed else at + timedelta(days=2),
                    None,
                )
            )
            world.lapsed_gifts += lapsed

        _copy(
            connection,
            "users",
            ("id", "email", "name", "password_hash", "active", "session_generation", "created_at"),
            users,
        )
        _copy(connection, "user_roles", ("user_id", "role"), roles)
        _copy(
            connection,
            "accounts",
            (
                "id",
                "ledger_id",
                "code",
                "user_id",
                "debits_must_not_exceed_credits",
                "credits_must_not_exceed_debits",
                "debits_pending",
                "debits_posted",
                "credits_pending",
                "credits_posted",
                "created_at",
            ),
            accounts,
        )
        _copy(connection, "transfers", _TRANSFER_COLUMNS, ledger.rows)
        _copy(
            connection,
            "enrolments",
            (
                "id",
                "cohort_id",
                "user_id",
                "artist_name",
                "country",
                "status",
                "invite_nonce",
                "invitations_sent",
                "invited_at",
                "invited_by_id",
                "activated_at",
                "consent_text_id",
                "consented_at",
            ),
            enrolments,
        )
        _copy(
            connection,
            "grants",
            (
                "id",
                "cohort_id",
                "enrolment_id",
                "user_id",
                "kind",
                "status",
                "sessions_asked",
                "sessions_proposed",
                "sessions_approved",
                "first_approver_id",
                "first_approved_at",
                "decided_by_id",
                "decided_at",
                "transfer_id",
                "created_at",
            ),
            grants,
        )
        _copy(
            connection,
            "vouchers",
            (
                "id",
                "code",
                "cohort_id",
                "holder_id",
                "partner_id",
                "status",
                "hold_transfer_id",
                "expires_at",
                "created_at",
                "session_date",
                "resolved_at",
                "confirmed_by_id",
                "amount",
                "currency",
                "payment_transfer_id",
            ),
            vouchers,
        )
        _copy(
            connection,
            "gifts",
            (
                "id",
                "cohort_id",
                "giver_id",
                "recipient_id",
                "recipient_name",
                "relationship",
                "message",
                "sessions",
                "status",
                "transfer_id",
                "nonce",
                "expires_at",
                "created_at",
                "resolved_at",
                "consent_text_id",
            ),
            gift_rows,
        )
        with connection.cursor() as cursor:
            # The finance home's running totals, as confirming each session would have kept
            # them: one statement over the vouchers just written.
            cursor.execute(
                "INSERT INTO session_totals (cohort_id, currency, month, sessions, amount)"
                " SELECT cohort_id, currency, CAST(date_trunc('month', session_date) AS DATE),"
                " count(*), sum(amount) FROM vouchers"
                " WHERE status IN ('confirmed', 'missed') AND amount IS NOT NULL"
                " GROUP BY 1, 2, 3"
            )
        if payout_batch:
            world.batch_id, world.small_batch_id = _payout_batches(
                connection, ids, [v[14] for v in vouchers], now
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_balances (id int, dp bigint, dpo bigint,"
                " cp bigint, cpo bigint)"
            )
        _copy(
            connection,
            "bench_balances",
            ("id", "dp", "dpo", "cp", "cpo"),
            [
                (
                    account_id,
                    *[a + b for a, b in zip(values, start.get(account_id, [0] * 4), strict=True)],
                )
                for account_id, values in ledger.balances.items()
            ],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts SET debits_pending = b.dp, debits_posted = b.dpo,"
                " credits_pending = b.cp, credits_posted = b.cpo"
                " FROM bench_balances b WHERE accounts.id = b.id"
            )
            for table in (
                "users",
                "accounts",
                "enrolments",
                "grants",
                "vouchers",
                "gifts",
                "payout_batches",
                "payout_lines",
                "payout_items",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT coalesce(max(id), 1) FROM {table}))"
                )
            cursor.execute("SET session_replication_role = DEFAULT")
        connection.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
        autocommit.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    world.transfers = len(ledger.rows)
    world.people = people
    return world


def _payout_batches(connection, ids, payments: list[uuid.UUID], now) -> tuple[int, int]:
    """A draft batch paying every session in `payments`, and a small one paying a tenth."""
    made = []
    for number, items in enumerate((payments, payments[: max(len(payments) // 10, 1)])):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO payout_batches (currency, cutoff, status, request_id, created_by_id,"
                " created_at) VALUES ('USD', %s, 'draft', %s, %s, %s) RETURNING id",
                (now.date(), uuid.uuid4(), ids["finance"], now),
            )
            batch_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO payout_lines (batch_id, partner_id, amount, status)"
                " VALUES (%s, %s, %s, 'draft') RETURNING id",
                (batch_id, ids["partner"], SESSION_VALUE * len(items)),
            )
            line_id = cursor.fetchone()[0]
        _copy(
            connection,
            "payout_items",
            ("line_id", "transfer_id", "amount"),
            ((line_id, transfer_id, SESSION_VALUE) for transfer_id in items),
        )
        made.append(batch_id)
        if number == 0 and len(payments) < 10:
            break
    return made[0], made[-1]


def _settings(index: int, per_cohort: int, ambassador_sessions: int, grant: int = GRANT):
    from grants.core.cohorts import CohortSettings

    return CohortSettings(
        programme_id=1 + index % 3,
        region="US",
        intake_name=f"20{27 + index // 3}",
        status="current",
        currency="USD",
        session_value=SESSION_VALUE,
        session_allowance=max(grant, ambassador_sessions) + 10,
        session_budget=per_cohort * grant + max(ambassador_sessions - grant, 0),
        open_gift_limit=1000,
        gift_limit_per_recipient=1000,
        gift_expiry_days=30,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
    )


def today() -> datetime:
    return datetime.now(UTC)


__all__ = ["PASSWORD", "SOURCE", "World", "build"]
