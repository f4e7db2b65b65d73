"""Opening ledgers and accounts. Accounts start at zero; only transfers move them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants.core.db import insert_or_fetch
from grants.core.errors import InvalidInput
from grants.core.i18n import _
from grants.core.models.ledger import Account, Ledger


def get_or_create_ledger(session: Session, code: str, *, unit: str, name: str) -> Ledger:
    """The ledger with `code`, created when missing. Its unit never changes afterwards."""
    ledger = session.scalar(select(Ledger).where(Ledger.code == code))
    if ledger is None:
        ledger = insert_or_fetch(
            session,
            Ledger(code=code, unit=unit, name=name),
            select(Ledger).where(Ledger.code == code),
        )
    if ledger.unit != unit:
        raise InvalidInput(
            _(
                "ledger %(code)s counts %(counts)s, not %(unit)s",
                code=code,
                counts=ledger.unit,
                unit=unit,
            )
        )
    return ledger


def open_account(
    session: Session,
    ledger: Ledger,
    code: str,
    *,
    user_id: int | None = None,
    partner_id: int | None = None,
    debits_must_not_exceed_credits: bool = False,
    credits_must_not_exceed_debits: bool = False,
) -> Account:
    """The `code` account of `user_id` or `partner_id` (or the system's) on `ledger`, opened
    when missing."""
    if debits_must_not_exceed_credits and credits_must_not_exceed_debits:
        raise InvalidInput(_("an account takes at most one of the two limit flags"))
    if user_id and partner_id:
        raise InvalidInput(_("an account has one owner"))
    query = select(Account).where(
        Account.ledger_id == ledger.id,
        Account.code == code,
        func.coalesce(Account.user_id, 0) == (user_id or 0),
        func.coalesce(Account.partner_id, 0) == (partner_id or 0),
    )
    account = session.scalar(query)
    if account is None:
        account = insert_or_fetch(
            session,
            Account(
                ledger_id=ledger.id,
                code=code,
                user_id=user_id,
                partner_id=partner_id,
                debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=credits_must_not_exceed_debits,
                debits_pending=0,
                debits_posted=0,
                credits_pending=0,
                credits_posted=0,
            ),
            query,
        )
    flags = (account.debits_must_not_exceed_credits, account.credits_must_not_exceed_debits)
    if flags != (debits_must_not_exceed_credits, credits_must_not_exceed_debits):
        raise InvalidInput(
            _("account %(id)s already exists with other limit flags", id=str(account.id))
        )
    return account
