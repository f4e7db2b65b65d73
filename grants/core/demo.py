"""Demo data: one user per role and a little ledger activity, safe to run again and again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core.ledger import (
    NewTransfer,
    TransferKind,
    apply_transfers,
    get_or_create_ledger,
    open_account,
)
from grants.core.models.people import User
from grants.core.people import create_user

DEMO_PASSWORD = "demo-password-2026"

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ambassador@demo.test", "Maya Okafor", ("ambassador",)),
    ("recipient@demo.test", "Sam Rivera", ("recipient",)),
    ("partner@demo.test", "Harbour Therapy desk", ("partner",)),
    ("staff@demo.test", "Jordan Reyes", ("staff",)),
    ("staff2@demo.test", "Priya Shah", ("staff",)),
    ("finance@demo.test", "Alex Morgan", ("finance",)),
    ("finance2@demo.test", "Chris Novak", ("finance",)),
    ("admin@demo.test", "Robin Hale", ("admin",)),
)

# Fixed transfer ids make a second seed a no-op: the ledger returns the first result.
_NAMESPACE = uuid.UUID("6f1c2d0e-5b7a-4c1e-9a43-0d2f3e4b5a61")


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, name)


@dataclass
class SeedResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def seed(session: Session) -> SeedResult:
    """Create whatever demo data is missing. Flushes; the caller commits."""
    result = SeedResult()
    users: dict[str, User] = {}
    for email, name, roles in DEMO_USERS:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(
                session, None, email=email, name=name, roles=roles, password=DEMO_PASSWORD
            )
            result.created.append(email)
        else:
            result.existing.append(email)
        users[email] = user

    ledger = get_or_create_ledger(session, "demo:credits", unit="session", name="Demo sessions")
    source = open_account(session, ledger, "source")
    budget = open_account(session, ledger, "budget", debits_must_not_exceed_credits=True)
    wallet = open_account(
        session,
        ledger,
        "wallet",
        user_id=users["ambassador@demo.test"].id,
        debits_must_not_exceed_credits=True,
    )
    bandmate = open_account(
        session,
        ledger,
        "wallet",
        user_id=users["recipient@demo.test"].id,
        debits_must_not_exceed_credits=True,
    )
    apply_transfers(
        session,
        [
            NewTransfer(
                id=_id("fund"),
                debit_account_id=source.id,
                credit_account_id=budget.id,
                amount=100,
                code="fund",
            ),
            NewTransfer(
                id=_id("grant"),
                debit_account_id=budget.id,
                credit_account_id=wallet.id,
                amount=6,
                code="grant",
            ),
            NewTransfer(
                id=_id("gift"),
                debit_account_id=wallet.id,
                credit_account_id=bandmate.id,
                amount=2,
                kind=TransferKind.PENDING,
                code="gift",
            ),
        ],
    )
    return result
