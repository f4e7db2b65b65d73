"""Checking the ledger's invariants. Each check is one aggregate query returning breaches,
so the cost stays in the database however many transfers there are."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from grants.core.models.ledger import Account, Ledger, Transfer

LEDGER_BALANCED = text("""
SELECT ledger_id,
       sum(debits_pending), sum(credits_pending), sum(debits_posted), sum(credits_posted)
FROM accounts
GROUP BY ledger_id
HAVING sum(debits_pending) <> sum(credits_pending) OR sum(debits_posted) <> sum(credits_posted)
ORDER BY ledger_id
""")

# Posted balances replay from single and post transfers; pending balances from pending
# transfers that nothing has resolved yet.
ACCOUNT_REPLAY = text("""
WITH posted_debits AS (
    SELECT debit_account_id AS account_id, sum(amount) AS total FROM transfers
    WHERE kind IN ('single', 'post') GROUP BY debit_account_id
), posted_credits AS (
    SELECT credit_account_id AS account_id, sum(amount) AS total FROM transfers
    WHERE kind IN ('single', 'post') GROUP BY credit_account_id
), open_pending AS (
    SELECT p.debit_account_id, p.credit_account_id, p.amount FROM transfers p
    WHERE p.kind = 'pending'
      AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
), pending_debits AS (
    SELECT debit_account_id AS account_id, sum(amount) AS total FROM open_pending
    GROUP BY debit_account_id
), pending_credits AS (
    SELECT credit_account_id AS account_id, sum(amount) AS total FROM open_pending
    GROUP BY credit_account_id
)
SELECT a.id, a.code, a.ledger_id,
       a.debits_pending, coalesce(pd.total, 0),
       a.debits_posted, coalesce(dp.total, 0),
       a.credits_pending, coalesce(pc.total, 0),
       a.credits_posted, coalesce(cp.total, 0)
FROM accounts a
LEFT JOIN pending_debits pd ON pd.account_id = a.id
LEFT JOIN posted_debits dp ON dp.account_id = a.id
LEFT JOIN pending_credits pc ON pc.account_id = a.id
LEFT JOIN posted_credits cp ON cp.account_id = a.id
WHERE a.debits_pending <> coalesce(pd.total, 0)
   OR a.debits_posted <> coalesce(dp.total, 0)
   OR a.credits_pending <> coalesce(pc.total, 0)
   OR a.credits_posted <> coalesce(cp.total, 0)
ORDER BY a.id
""")

LIMITS = text("""
SELECT id, code, ledger_id,
       CASE WHEN debits_must_not_exceed_credits THEN 'debits exceed credits'
            ELSE 'credits exceed debits' END
FROM accounts
WHERE (debits_must_not_exceed_credits AND debits_pending + debits_posted > credits_posted)
   OR (credits_must_not_exceed_debits AND credits_pending + credits_posted > debits_posted)
   OR debits_pending < 0 OR debits_posted < 0 OR credits_pending < 0 OR credits_posted < 0
ORDER BY id
""")

RESOLVED_TWICE = text("""
SELECT pending_id, count(*) FROM transfers
WHERE pending_id IS NOT NULL
GROUP BY pending_id HAVING count(*) > 1
""")

OFF_LEDGER = text("""
SELECT t.id, t.ledger_id, d.id, d.ledger_id, c.id, c.ledger_id
FROM transfers t
JOIN accounts d ON d.id = t.debit_account_id
JOIN accounts c ON c.id = t.credit_account_id
WHERE d.ledger_id <> t.ledger_id OR c.ledger_id <> t.ledger_id
""")

BAD_RESOLUTION = text("""
SELECT r.id, r.kind, p.id
FROM transfers r JOIN transfers p ON p.id = r.pending_id
WHERE p.kind <> 'pending'
   OR r.debit_account_id <> p.debit_account_id
   OR r.credit_account_id <> p.credit_account_id
   OR r.amount > p.amount
   OR (r.kind <> 'post' AND r.amount <> p.amount)
   OR (r.kind IN ('post', 'void') AND p.expires_at IS NOT NULL AND r.created_at >= p.expires_at)
   OR (r.kind = 'expire' AND (p.expires_at IS NULL OR r.created_at < p.expires_at))
""")

BALANCE_FIELDS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str
    account_id: int | None = None

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


@dataclass
class VerifyReport:
    ledgers: int
    accounts: int
    transfers: int
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        counts = f"{self.ledgers} ledgers, {self.accounts} accounts, {self.transfers} transfers"
        if self.ok:
            return f"ledger OK: {counts}; every invariant holds"
        first = self.violations[0]
        more = len(self.violations) - 1
        tail = f" (and {more} more)" if more else ""
        return f"ledger BROKEN: {first}{tail}; {counts}"


def verify_ledger(session: Session) -> VerifyReport:
    """Check every invariant of the ledger and report each breach, naming the account."""
    report = VerifyReport(
        ledgers=session.scalar(select(func.count()).select_from(Ledger)) or 0,
        accounts=session.scalar(select(func.count()).select_from(Account)) or 0,
        transfers=session.scalar(select(func.count()).select_from(Transfer)) or 0,
    )
    add = report.violations.append

    for ledger_id, dpe, cpe, dpo, cpo in session.execute(LEDGER_BALANCED):
        add(
            Violation(
                "ledger_balanced",
                f"ledger {ledger_id}: debits pending {dpe} vs credits pending {cpe}, "
                f"debits posted {dpo} vs credits posted {cpo}",
            )
        )

    for row in session.execute(ACCOUNT_REPLAY):
        account_id, code, ledger_id, *pairs = row
        stored_and_replayed = zip(pairs[::2], pairs[1::2], strict=True)
        for name, (stored, replayed) in zip(BALANCE_FIELDS, stored_and_replayed, strict=True):
            if stored != replayed:
                add(
                    Violation(
                        "account_matches_transfers",
                        f"account {account_id} ({code}, ledger {ledger_id}): {name} is "
                        f"{stored} but its transfers add up to {replayed}",
                        account_id,
                    )
                )

    for account_id, code, ledger_id, what in session.execute(LIMITS):
        add(
            Violation(
                "limit_flags_hold",
                f"account {account_id} ({code}, ledger {ledger_id}): {what}",
                account_id,
            )
        )

    for pending_id, count in session.execute(RESOLVED_TWICE):
        add(
            Violation(
                "pending_resolved_once", f"pending transfer {pending_id} was resolved {count} times"
            )
        )

    for transfer_id, ledger_id, debit_id, debit_ledger, credit_id, credit_ledger in session.execute(
        OFF_LEDGER
    ):
        add(
            Violation(
                "transfer_on_one_ledger",
                f"transfer {transfer_id} on ledger {ledger_id} moves from account "
                f"{debit_id} (ledger {debit_ledger}) to {credit_id} (ledger {credit_ledger})",
            )
        )

    for transfer_id, kind, pending_id in session.execute(BAD_RESOLUTION):
        add(
            Violation(
                "resolution_matches_pending",
                f"{kind} {transfer_id} does not match pending transfer {pending_id}",
            )
        )
    return report
