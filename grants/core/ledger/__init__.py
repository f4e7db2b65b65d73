"""The ledger API: the only code that writes balances.

ledger = get_or_create_ledger(session, "money:GBP", unit="GBP", name="Pounds")
payable = open_account(session, ledger, "payable")
wallet = open_account(session, credits, "wallet", user_id=7,
                      debits_must_not_exceed_credits=True)
apply_transfers(session, [NewTransfer(id=uuid4(), debit_account_id=...,
                                      credit_account_id=..., amount=3)])
"""

from grants.core.ledger.accounts import get_or_create_ledger, open_account
from grants.core.ledger.transfers import (
    NewTransfer,
    apply_transfers,
    expire_hold,
    expire_holds,
    lapse_id,
)
from grants.core.ledger.verify import VerifyReport, Violation, verify_ledger
from grants.core.models.ledger import TransferKind

__all__ = [
    "NewTransfer",
    "TransferKind",
    "VerifyReport",
    "Violation",
    "apply_transfers",
    "expire_hold",
    "expire_holds",
    "get_or_create_ledger",
    "lapse_id",
    "open_account",
    "verify_ledger",
]
