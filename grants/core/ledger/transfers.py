"""Applying transfers: one batch, one database transaction, all or nothing.

The order of work matters for correctness under concurrency:
1. check each transfer's shape (no database needed);
2. in one query, read the transfers the batch names (its own ids, the pending transfers it
   resolves and their resolutions) and the lapsed holds on the accounts it debits: rows
   that never change, so safe to read unlocked (a row written meanwhile makes the insert
   below clash, and the retry sees it);
3. lock the touched accounts that have a limit flag, in id order (`FOR NO KEY UPDATE` on
   PostgreSQL; on SQLite the transaction already holds the write lock from BEGIN
   IMMEDIATE), and read the others;
4. apply the batch to a scratch copy of the balances, checking limits after each transfer;
5. only when the whole batch passed, insert its rows and add its changes to the balances.
See grants.core.ledger.storage for the statements and why each is safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from grants.core.clock import clock
from grants.core.errors import (
    BalanceOverflow,
    CreditsExceedDebits,
    DebitsExceedCredits,
    InvalidAmount,
    InvalidTransfer,
    LedgerMismatch,
    PendingTransferAlreadyResolved,
    PendingTransferExpired,
    PendingTransferNotExpired,
    PendingTransferNotFound,
    TransferConflict,
    UnknownAccount,
)
from grants.core.i18n import _
from grants.core.ledger import storage
from grants.core.ledger.storage import Balances, TransferRow
from grants.core.models.ledger import RESOLVING_KINDS, Transfer, TransferKind

# Balances and amounts are BIGINT; timeouts are INTEGER seconds (about 68 years).
MAX_AMOUNT = 2**63 - 1
MAX_TIMEOUT = 2**31 - 1
MAX_CODE = 32


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A transfer to apply. For post, void and expire, accounts and amount may be omitted:
    they come from the pending transfer (a post may name a smaller amount)."""

    id: uuid.UUID
    debit_account_id: int | None = None
    credit_account_id: int | None = None
    amount: int | None = None
    kind: str = TransferKind.SINGLE
    pending_id: uuid.UUID | None = None
    timeout: int | None = None  # seconds; pending transfers only
    code: str = ""


def apply_transfers(session: Session, batch: Sequence[NewTransfer]) -> list[TransferRow]:
    """Apply `batch` linked (all or nothing) and return one row per item, as written.

    An id that already exists with the same payload returns the row written the first
    time; with a different payload it raises TransferConflict naming the field.
    """
    batch = list(batch)
    for index, transfer in enumerate(batch):
        _check_shape(transfer, index)
    ids = [transfer.id for transfer in batch]
    if len(set(ids)) != len(ids):
        raise InvalidTransfer(_("the same transfer id appears twice in one batch"))
    if not batch:
        return []

    session.flush()  # what the caller added first goes in first (it may be referred to)
    connection = session.connection()
    now = clock.now()
    in_batch = {transfer.id: transfer for transfer in batch}
    referenced = {t.pending_id for t in batch if t.pending_id is not None}
    # Holds on the accounts this batch debits whose time ran out lapse first, as
    # TigerBeetle's do: a wallet never stays short because of a hold nobody has swept yet.
    debited = {t.debit_account_id for t in batch if t.kind not in RESOLVING_KINDS}
    named = _account_ids(batch, in_batch, {})
    found, accounts = storage.read(
        connection, ids=ids, referenced=referenced, debited=debited, accounts=named, now=now
    )
    storage.refresh_loaded(session, accounts)
    pendings = {key: row for key, row in found.by_id.items() if key in referenced}
    existing = {key: row for key, row in found.by_id.items() if key in in_batch}
    resolutions = dict(found.resolutions)
    exclude = referenced | set(ids)
    lapsed = [hold for hold in found.lapsed if hold.id not in exclude]

    work = _Scratch(accounts)
    results: list[TransferRow] = []
    new_rows: list[TransferRow] = []
    for hold in lapsed:
        row = _lapse(hold, work, now)
        resolutions[hold.id] = row
        new_rows.append(row)
    for index, transfer in enumerate(batch):
        if transfer.id in existing:
            row = existing[transfer.id]
            _same_or_conflict(row, _filled_in(transfer, pendings), index)
            if row.kind == TransferKind.PENDING:
                pendings[row.id] = row  # a later post in this batch may resolve it
            results.append(row)
            continue
        if transfer.kind in RESOLVING_KINDS:
            row = _resolve(transfer, index, pendings, resolutions, work, now)
            resolutions[row.pending_id] = row
        else:
            row = _open(transfer, index, work, now)
            if transfer.kind == TransferKind.PENDING:
                pendings[row.id] = row
        new_rows.append(row)
        results.append(row)

    if new_rows:
        written = storage.write(connection, new_rows, accounts)
        storage.refresh_loaded(session, accounts, written=written)
    return results


# Ids of the expire transfers the ledger writes itself: derived, so two transactions that
# both find a hold lapsed cannot both expire it.
_LAPSE_NAMESPACE = uuid.UUID("9d2c1f0e-4b3a-4f6e-8a7d-2e1c0b9a8f71")


def lapse_id(pending_id: uuid.UUID) -> uuid.UUID:
    """The id of the expire transfer for a lapsed hold, whoever writes it: the ledger itself
    or a sweep. The same id either way makes the second one a harmless repeat."""
    return uuid.uuid5(_LAPSE_NAMESPACE, str(pending_id))


def expire_hold(session: Session, pending_id: uuid.UUID) -> None:
    """Record that a hold whose time ran out has lapsed, unless something (the ledger itself
    on a later debit, or a sweep) already resolved it."""
    if session.scalar(select(Transfer.id).where(Transfer.pending_id == pending_id)) is None:
        apply_transfers(
            session,
            [
                NewTransfer(
                    id=lapse_id(pending_id),
                    kind=TransferKind.EXPIRE,
                    pending_id=pending_id,
                )
            ],
        )


def expire_holds(session: Session, pending_ids: Sequence[uuid.UUID]) -> None:
    """expire_hold for many holds at once (a sweep's page): each that is past its time and
    not yet resolved is recorded as lapsed, under the same derived id, so a hold expired
    elsewhere meanwhile is skipped. An expire only frees what a hold kept (its pending
    amounts go down), so it can break no limit: on PostgreSQL the whole page goes in a few
    set-wise statements; elsewhere as one batch through apply_transfers."""
    holds = sorted(set(pending_ids))
    if not holds:
        return
    session.flush()
    connection = session.connection()
    now = clock.now()
    if connection.dialect.name == "postgresql":
        changed = storage.expire_in_bulk(connection, [(lapse_id(h), h) for h in holds], now)
        storage.forget_balances(session, changed)
        return
    resolver = aliased(Transfer)
    lapsed = session.scalars(
        select(Transfer.id).where(
            Transfer.id.in_(holds),
            Transfer.kind == TransferKind.PENDING,
            Transfer.expires_at <= now,
            ~exists().where(resolver.pending_id == Transfer.id),
        )
    ).all()
    apply_transfers(
        session,
        [NewTransfer(id=lapse_id(h), kind=TransferKind.EXPIRE, pending_id=h) for h in lapsed],
    )


def _lapse(hold, work: _Scratch, now) -> TransferRow:
    work.move(hold.debit_account_id, hold.credit_account_id, index=None, pending=-hold.amount)
    return TransferRow(
        id=lapse_id(hold.id),
        ledger_id=hold.ledger_id,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=hold.amount,
        kind=str(TransferKind.EXPIRE),
        pending_id=hold.id,
        timeout=None,
        expires_at=None,
        code=hold.code,
        created_at=now,
    )


def _check_shape(transfer: NewTransfer, index: int) -> None:
    if not isinstance(transfer.id, uuid.UUID):
        raise InvalidTransfer(_("a transfer id must be a UUID"), index=index)
    if transfer.kind not in tuple(TransferKind):
        raise InvalidTransfer(
            _("unknown transfer kind %(kind)s", kind=repr(transfer.kind)), index=index
        )
    amount = transfer.amount
    resolving = transfer.kind in RESOLVING_KINDS
    if amount is not None or not resolving:
        # bool is an int in Python; True is not one session.
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidAmount(
                _("amount must be a whole number, not %(amount)s", amount=repr(amount)),
                index=index,
            )
        if amount <= 0:
            raise InvalidAmount(
                _("amount must be above zero, not %(amount)s", amount=amount), index=index
            )
        if amount > MAX_AMOUNT:
            raise InvalidAmount(_("amount is larger than any balance can hold"), index=index)
    if not isinstance(transfer.code, str) or len(transfer.code) > MAX_CODE:
        raise InvalidTransfer(
            _("code must be text of at most %(most)s characters", most=MAX_CODE), index=index
        )
    if resolving:
        if transfer.pending_id is None:
            raise InvalidTransfer(
                _("a %(kind)s names the pending transfer", kind=str(transfer.kind)), index=index
            )
        if transfer.timeout is not None:
            raise InvalidTransfer(_("only a pending transfer takes a timeout"), index=index)
        return
    if transfer.pending_id is not None:
        raise InvalidTransfer(
            _("a %(kind)s transfer resolves nothing", kind=str(transfer.kind)), index=index
        )
    for side in ("debit_account_id", "credit_account_id"):
        value = getattr(transfer, side)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UnknownAccount(
                _("%(side)s must be an account id", side=side.replace("_", " ")), index=index
            )
    if transfer.debit_account_id == transfer.credit_account_id:
        raise InvalidTransfer(_("debit and credit accounts must differ"), index=index)
    timeout = transfer.timeout
    if timeout is not None:
        if transfer.kind != TransferKind.PENDING:
            raise InvalidTransfer(_("only a pending transfer takes a timeout"), index=index)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 0 < timeout <= MAX_TIMEOUT
        ):
            raise InvalidTransfer(
                _("timeout must be a whole number of seconds from 1 to %(most)s", most=MAX_TIMEOUT),
                index=index,
            )


def _account_ids(batch, in_batch, pendings) -> set[int]:
    ids: set[int] = set()
    for transfer in batch:
        if transfer.kind not in RESOLVING_KINDS:
            ids.update((transfer.debit_account_id, transfer.credit_account_id))
            continue
        pending = pendings.get(transfer.pending_id) or in_batch.get(transfer.pending_id)
        if pending is not None:
            ids.update((pending.debit_account_id, pending.credit_account_id))
    ids.discard(None)
    return ids


class _Scratch:
    """Balances being changed by the batch, kept apart from the database until it all passes."""

    def __init__(self, accounts: dict[int, Balances]) -> None:
        self.accounts = accounts

    def account(self, account_id: int, index: int) -> Balances:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(
                _("account %(id)s does not exist", id=str(account_id)), index=index
            ) from None

    def move(
        self, debit: int, credit: int, *, index: int, pending: int = 0, posted: int = 0
    ) -> None:
        debits = self.accounts[debit].values
        credits = self.accounts[credit].values
        debits[0] += pending
        debits[1] += posted
        credits[2] += pending
        credits[3] += posted
        for account_id, values in ((debit, debits), (credit, credits)):
            # An account without a flag was read unlocked; another batch adding to it at
            # the same time could only take it past this in the database, which refuses.
            if max(values) > MAX_AMOUNT:
                raise BalanceOverflow(
                    _("account %(id)s would hold more than a balance can", id=str(account_id)),
                    index=index,
                )

    def check_limits(self, account_id: int, index: int) -> None:
        account = self.accounts[account_id]
        debits_pending, debits_posted, credits_pending, credits_posted = account.values
        if account.debits_must_not_exceed_credits:
            available = credits_posted - debits_posted - debits_pending
            if available < 0:
                raise DebitsExceedCredits(
                    _(
                        "account %(id)s has too little available for this transfer "
                        "(short by %(short)s)",
                        id=str(account_id),
                        short=-available,
                    ),
                    index=index,
                )
        if account.credits_must_not_exceed_debits:
            room = debits_posted - credits_posted - credits_pending
            if room < 0:
                raise CreditsExceedDebits(
                    _(
                        "account %(id)s cannot take this much in credits (over by %(over)s)",
                        id=str(account_id),
                        over=-room,
                    ),
                    index=index,
                )


def _open(transfer: NewTransfer, index: int, work: _Scratch, now) -> TransferRow:
    """A single or pending transfer."""
    debit = work.account(transfer.debit_account_id, index)
    credit = work.account(transfer.credit_account_id, index)
    if debit.ledger_id != credit.ledger_id:
        raise LedgerMismatch(
            _(
                "accounts %(debit)s and %(credit)s are on different ledgers",
                debit=str(debit.id),
                credit=str(credit.id),
            ),
            index=index,
        )
    amount = transfer.amount
    if transfer.kind == TransferKind.PENDING:
        work.move(debit.id, credit.id, index=index, pending=amount)
    else:
        work.move(debit.id, credit.id, index=index, posted=amount)
    work.check_limits(debit.id, index)
    work.check_limits(credit.id, index)
    timeout = transfer.timeout
    return TransferRow(
        id=transfer.id,
        ledger_id=debit.ledger_id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=amount,
        kind=str(transfer.kind),
        pending_id=None,
        timeout=timeout,
        expires_at=now + timedelta(seconds=timeout) if timeout else None,
        code=transfer.code,
        created_at=now,
    )


def _resolve(transfer, index, pendings, resolutions, work: _Scratch, now) -> TransferRow:
    """A post, void or expire of a pending transfer."""
    pending = pendings.get(transfer.pending_id)
    if pending is None or pending.kind != TransferKind.PENDING:
        raise PendingTransferNotFound(
            _(
                "no pending transfer %(id)s to %(kind)s",
                id=str(transfer.pending_id),
                kind=str(transfer.kind),
            ),
            index=index,
        )
    for side in ("debit_account_id", "credit_account_id"):
        given = getattr(transfer, side)
        if given is not None and given != getattr(pending, side):
            raise InvalidTransfer(
                _(
                    "%(side)s differs from the pending transfer's",
                    side=side.replace("_", " "),
                ),
                index=index,
            )
    if pending.id in resolutions:
        earlier = resolutions[pending.id]
        raise PendingTransferAlreadyResolved(
            _(
                "pending transfer %(id)s was already resolved (%(kind)s)",
                id=str(pending.id),
                kind=str(earlier.kind),
            ),
            index=index,
        )
    expired = pending.expires_at is not None and now >= pending.expires_at
    if transfer.kind == TransferKind.EXPIRE and not expired:
        raise PendingTransferNotExpired(
            _("pending transfer %(id)s has not expired", id=str(pending.id)), index=index
        )
    if transfer.kind != TransferKind.EXPIRE and expired:
        raise PendingTransferExpired(
            _("pending transfer %(id)s has expired", id=str(pending.id)), index=index
        )

    amount = pending.amount if transfer.amount is None else transfer.amount
    if transfer.kind == TransferKind.POST and amount > pending.amount:
        raise InvalidAmount(
            _(
                "can post at most the pending amount %(pending)s, not %(amount)s",
                pending=pending.amount,
                amount=amount,
            ),
            index=index,
        )
    if transfer.kind != TransferKind.POST and amount != pending.amount:
        raise InvalidAmount(
            _(
                "a %(kind)s releases the whole pending amount %(pending)s",
                kind=str(transfer.kind),
                pending=pending.amount,
            ),
            index=index,
        )

    debit, credit = pending.debit_account_id, pending.credit_account_id
    work.move(debit, credit, index=index, pending=-pending.amount)
    if transfer.kind == TransferKind.POST:
        work.move(debit, credit, index=index, posted=amount)
    work.check_limits(debit, index)
    work.check_limits(credit, index)
    return TransferRow(
        id=transfer.id,
        ledger_id=pending.ledger_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        kind=str(transfer.kind),
        pending_id=pending.id,
        timeout=None,
        expires_at=None,
        code=transfer.code or pending.code,
        created_at=now,
    )


# The fields that make two sends of one id the same transfer, in the order reported.
_COMPARED = (
    "kind",
    "pending_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "timeout",
    "code",
)
assert set(_COMPARED) <= {f.name for f in fields(NewTransfer)}


def _filled_in(transfer: NewTransfer, pendings: dict[uuid.UUID, Transfer]) -> NewTransfer:
    """A post, void or expire as it was applied: what it left out comes from its pending
    transfer, so "post everything" resent after "post 3 of 5" is a conflict, not a match."""
    pending = pendings.get(transfer.pending_id) if transfer.pending_id else None
    if transfer.kind not in RESOLVING_KINDS or pending is None:
        return transfer
    return replace(
        transfer,
        debit_account_id=transfer.debit_account_id or pending.debit_account_id,
        credit_account_id=transfer.credit_account_id or pending.credit_account_id,
        amount=pending.amount if transfer.amount is None else transfer.amount,
        code=transfer.code or pending.code,
    )


def _same_or_conflict(row: Transfer, transfer: NewTransfer, index: int) -> None:
    for name in _COMPARED:
        if getattr(transfer, name) != getattr(row, name):
            raise TransferConflict(
                _(
                    "transfer id %(id)s was already used with a different %(field)s",
                    id=str(row.id),
                    field=name.replace("_", " "),
                ),
                field=name,
                index=index,
            )
