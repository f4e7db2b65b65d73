"""The money side of the ledger: one ledger per currency, in minor units.

Programme funding is the account money leaves from (it runs into debit as the programme
commits money); each partner has a payable account holding what it is owed, which payouts
can never take below zero.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from grants.core.ledger import get_or_create_ledger, open_account
from grants.core.models.ledger import Account, Ledger
from grants.core.money import CURRENCIES

FUNDING = "funding"
PAYABLE = "payable"


def money_ledger(session: Session, currency: str) -> Ledger:
    if currency not in CURRENCIES:
        raise ValueError(f"not a currency the programme pays in: {currency}")
    return get_or_create_ledger(
        session, f"money:{currency}", unit=currency, name=f"Money ({currency})"
    )


def funding_account(session: Session, currency: str) -> Account:
    return open_account(session, money_ledger(session, currency), FUNDING)


def payable_account(session: Session, partner_id: int, currency: str) -> Account:
    return open_account(
        session,
        money_ledger(session, currency),
        PAYABLE,
        partner_id=partner_id,
        debits_must_not_exceed_credits=True,
    )
