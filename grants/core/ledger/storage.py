"""The ledger's reads and writes, in as few round trips as a batch allows.

A batch is: one statement that reads every transfer row it needs and locks and reads its
accounts, one insert of its rows and one update of the balances. They run on the session's
connection as Core statements, built once: for rows this simple the ORM's unit of work
costs more than the database does (see docs/benchmarks.md).

Why each step is safe:
- Transfers never change once written, so those the read finds stay true. One written by
  another transaction meanwhile (the same id, another resolution of the same pending
  transfer) is missed; then this batch's insert clashes on the transfers' primary key or
  on the one-resolution-per-pending index, commit_with_retry replays the unit, and the
  replay sees it. The insert runs before the balance update, so a clash fails before any
  balance was written.
- Accounts with a limit flag are locked up front (`FOR NO KEY UPDATE`, in id order), with
  those of the pending transfers being resolved and of the lapsed holds found: their
  balances are checked, so they must be read fresh and held. An account without a flag (a
  cohort's `redeemed`, the programme's `funding`: the hot ones every session confirmation
  touches) is checked against nothing, so it is only added to, in the batch's last
  statement: its row lock is held from there to the commit, not for the whole batch. The
  order stays global (flagged accounts by id, then the others by id; an account's flags
  never change), so two batches still cannot deadlock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from grants.core.models.ledger import Account, Transfer

_TRANSFERS = Transfer.__table__
_ACCOUNTS = Account.__table__
_RESOLVER = _TRANSFERS.alias("resolver")
# A literal rather than a bound value, so the planner can use the partial index on timed
# holds (a prepared statement's parameter cannot match an index's WHERE clause).
_PENDING = literal_column("'pending'")

BALANCES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
_ACCOUNT_COLUMNS = [
    _ACCOUNTS.c.id,
    _ACCOUNTS.c.ledger_id,
    _ACCOUNTS.c.debits_must_not_exceed_credits,
    _ACCOUNTS.c.credits_must_not_exceed_debits,
    *(_ACCOUNTS.c[name] for name in BALANCES),
]


@dataclass(slots=True)
class TransferRow:
    """A transfer as the ledger wrote or found it (what apply_transfers returns): its
    columns, without the cost of an ORM object per row."""

    id: uuid.UUID
    ledger_id: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    kind: str
    pending_id: uuid.UUID | None
    timeout: int | None
    expires_at: datetime | None
    code: str
    created_at: datetime

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in TRANSFER_COLUMNS}


TRANSFER_COLUMNS = tuple(column.name for column in _TRANSFERS.c)
assert TransferRow.__slots__ == TRANSFER_COLUMNS, "TransferRow follows the table's columns"


@dataclass(slots=True)
class Found:
    """Transfer rows the batch names by id (its own ids, and the pending transfers it
    resolves), earlier resolutions of those, and timed holds on the accounts it debits
    that ran out with nothing resolving them."""

    by_id: dict[uuid.UUID, TransferRow]
    resolutions: dict[uuid.UUID, TransferRow]
    lapsed: list[TransferRow]


@dataclass(slots=True)
class Balances:
    """An account's limit flags and its four balances as the batch changes them."""

    id: int
    ledger_id: int
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    values: list[int]  # debits_pending, debits_posted, credits_pending, credits_posted
    start: tuple[int, ...]

    @property
    def limited(self) -> bool:
        return self.debits_must_not_exceed_credits or self.credits_must_not_exceed_debits


# What a row of the read is: an account, or a transfer found one of three ways.
_ACCOUNT, _BY_ID, _RESOLUTION, _LAPSED = 0, 1, 2, 3


def _lapsed(debited):
    return and_(
        _TRANSFERS.c.kind == _PENDING,
        _TRANSFERS.c.expires_at <= bindparam("now", type_=_TRANSFERS.c.expires_at.type),
        _TRANSFERS.c.debit_account_id.in_(debited),
        ~exists().where(_RESOLVER.c.pending_id == _TRANSFERS.c.id),
    )


def _tag(kind: int):
    return literal_column(str(kind), Integer).label("found_as")


def _nulls(columns) -> list:
    return [cast(null(), column.type).label(column.name) for column in columns]


def _read_query(postgresql: bool, resolving: bool, debiting: bool):
    """The read for a batch that does (or does not) resolve pending transfers and debit
    accounts: built once per shape, so each batch only binds its values. Every row has
    the account columns then the transfer columns, the other half NULL."""
    ids = bindparam("ids", expanding=True)
    referenced = bindparam("referenced", expanding=True)
    debited = bindparam("debited", expanding=True)
    # One IN over a union (not an OR of INs), so each account is found by its key.
    named = [
        select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.id.in_(bindparam("accounts", expanding=True)))
    ]
    if resolving:
        for side in (_TRANSFERS.c.debit_account_id, _TRANSFERS.c.credit_account_id):
            named.append(select(side).where(_TRANSFERS.c.id.in_(referenced)))
    if debiting:
        # A lapsing hold changes its credit account too (only ever freeing room there).
        named.append(select(_TRANSFERS.c.credit_account_id).where(_lapsed(debited)))
    wanted = union_all(*named) if len(named) > 1 else named[0]
    if postgresql:
        # As an array computed once, not a join: when a locked row was changed meanwhile,
        # PostgreSQL re-checks it against the WHERE clause, and a row re-checked through a
        # join to a subquery can be dropped (seen with eight clients) rather than returned.
        touched = _ACCOUNTS.c.id == any_(func.array(wanted.scalar_subquery()))
    else:
        touched = _ACCOUNTS.c.id.in_(wanted)  # no row locks on SQLite: nothing re-checked
    limited = or_(
        _ACCOUNTS.c.debits_must_not_exceed_credits, _ACCOUNTS.c.credits_must_not_exceed_debits
    )
    locked = (
        select(*_ACCOUNT_COLUMNS)
        .where(touched, limited)
        .order_by(_ACCOUNTS.c.id)
        # NO KEY: inserting a transfer that refers to the account must not wait on it.
        .with_for_update(key_share=True)
        .cte("locked")
    )
    no_transfer = _nulls(_TRANSFERS.c)
    no_account = _nulls(_ACCOUNT_COLUMNS)
    branches = [
        select(_tag(_ACCOUNT), *locked.c, *no_transfer),
        select(_tag(_ACCOUNT), *_ACCOUNT_COLUMNS, *no_transfer).where(touched, ~limited),
        select(_tag(_BY_ID), *no_account, *_TRANSFERS.c).where(_TRANSFERS.c.id.in_(ids)),
    ]
    if resolving:
        branches.append(
            select(_tag(_RESOLUTION), *no_account, *_TRANSFERS.c).where(
                _TRANSFERS.c.pending_id.in_(referenced)
            )
        )
    if debiting:
        branches.append(select(_tag(_LAPSED), *no_account, *_TRANSFERS.c).where(_lapsed(debited)))
    return union_all(*branches)


_READS = {
    (postgresql, resolving, debiting): _read_query(postgresql, resolving, debiting)
    for postgresql in (False, True)
    for resolving in (False, True)
    for debiting in (False, True)
}
_TRANSFER_AT = 1 + len(_ACCOUNT_COLUMNS)  # where a row's transfer columns start


def read(
    connection: Connection,
    *,
    ids: list[uuid.UUID],
    referenced: set[uuid.UUID],
    debited: set[int],
    accounts: set[int],
    now: datetime,
) -> tuple[Found, dict[int, Balances]]:
    """In one statement: the transfers the batch needs to know about, and its accounts
    (`accounts`, those of the pending transfers it resolves and of the lapsed holds on
    what it debits), the flagged ones locked."""
    values = {"ids": sorted(set(ids) | referenced), "accounts": sorted(accounts)}
    if referenced:
        values["referenced"] = sorted(referenced)
    if debited:
        values.update(debited=sorted(debited), now=now)
    found = Found({}, {}, [])
    balances: dict[int, Balances] = {}
    for row in connection.execute(
        _READS[connection.dialect.name == "postgresql", bool(referenced), bool(debited)], values
    ):
        kind = row[0]
        if kind == _ACCOUNT:
            account_id, ledger_id, debit_limit, credit_limit, *values_ = row[1:_TRANSFER_AT]
            balances[account_id] = Balances(
                account_id, ledger_id, debit_limit, credit_limit, values_, tuple(values_)
            )
            continue
        transfer = TransferRow(*row[_TRANSFER_AT:])
        if kind == _BY_ID:
            found.by_id[transfer.id] = transfer
        elif kind == _RESOLUTION:
            found.resolutions[transfer.pending_id] = transfer
        else:
            found.lapsed.append(transfer)
    return found, balances


_INSERT = insert(_TRANSFERS)
# One account at a time, for executemany: several unlocked accounts must be added to in id
# order, one statement each, or two batches could lock them in opposite orders.
_ADD_TO_BALANCES = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .values({name: _ACCOUNTS.c[name] + bindparam(f"add_{name}") for name in BALANCES})
)


def _add_to_balances_of(n: int):
    """One statement adding to `n` accounts: for the common batch whose accounts are all
    locked already but one, where the order of the rows cannot matter."""
    accounts = [bindparam(f"account{i}") for i in range(n)]
    return (
        update(_ACCOUNTS)
        .where(_ACCOUNTS.c.id.in_(accounts))
        .values(
            {
                name: _ACCOUNTS.c[name]
                + case(
                    *(
                        (_ACCOUNTS.c.id == accounts[i], bindparam(f"add_{name}{i}"))
                        for i in range(n)
                    ),
                    else_=0,
                )
                for name in BALANCES
            }
        )
    )


_ADD_TO_FEW = {n: _add_to_balances_of(n) for n in (1, 2, 3, 4)}


def write(
    connection: Connection, rows: list[TransferRow], accounts: dict[int, Balances]
) -> list[Balances]:
    """Insert the new transfer rows, then add the batch's changes to the balances: flagged
    accounts first (already locked), then the rest, each group in id order. Returns the
    accounts changed."""
    connection.execute(_INSERT, [row.as_dict() for row in rows])
    changed = sorted(
        (a for a in accounts.values() if tuple(a.values) != a.start),
        key=lambda a: (not a.limited, a.id),
    )
    if changed and len(changed) in _ADD_TO_FEW and sum(not a.limited for a in changed) <= 1:
        values = {}
        for i, a in enumerate(changed):
            values[f"account{i}"] = a.id
            for name, now, before in zip(BALANCES, a.values, a.start, strict=True):
                values[f"add_{name}{i}"] = now - before
        connection.execute(_ADD_TO_FEW[len(changed)], values)
    elif changed:
        connection.execute(
            _ADD_TO_BALANCES,
            [
                {
                    "account": a.id,
                    **{
                        f"add_{name}": now - before
                        for name, now, before in zip(BALANCES, a.values, a.start, strict=True)
                    },
                }
                for a in changed
            ],
        )
    return changed


def refresh_loaded(session: Session, accounts: dict[int, Balances], *, written=()) -> None:
    """Keep Account objects the session already holds in step with the database, as a
    locking ORM query would. Right after the lock every one gets the balances just read;
    after the write, flagged accounts get their new balances, and the others (added to
    without a lock, so their sum is the database's to know) are read again when next used."""
    identity_map = session.identity_map
    written_ids = {account.id for account in written}
    for account in accounts.values():
        loaded = identity_map.get(identity_key(Account, account.id))
        if loaded is None:
            continue
        if written_ids and account.id not in written_ids:
            continue
        if account.limited or not written_ids:
            for name, value in zip(BALANCES, account.values, strict=True):
                set_committed_value(loaded, name, value)
        else:
            session.expire(loaded, list(BALANCES))


# Expiring many holds at once (PostgreSQL). An expire only lowers pending balances, so it
# can break no limit and needs no read of the balances first: the rows go in and the
# balances are lowered set-wise. Locks follow the ledger's one order: flagged accounts by
# id before the insert, the others by id after it, as write() does.
_LIMITED = "(a.debits_must_not_exceed_credits OR a.credits_must_not_exceed_debits)"
_LOCK_FLAGGED_OF_HOLDS = text(
    f"""SELECT a.id FROM accounts a
    WHERE a.id = ANY(ARRAY(
        SELECT debit_account_id FROM transfers WHERE id = ANY(CAST(:holds AS uuid[]))
        UNION ALL
        SELECT credit_account_id FROM transfers WHERE id = ANY(CAST(:holds AS uuid[]))))
      AND {_LIMITED}
    ORDER BY a.id FOR NO KEY UPDATE"""
)
# ON CONFLICT DO NOTHING: a hold resolved meanwhile (its one resolution is unique) or an
# expire already written under the same derived id is skipped, not an error.
_INSERT_EXPIRES = text(
    """INSERT INTO transfers (id, ledger_id, debit_account_id, credit_account_id, amount,
                              kind, pending_id, code, created_at)
    SELECT v.id, t.ledger_id, t.debit_account_id, t.credit_account_id, t.amount,
           'expire', t.id, t.code, :now
    FROM unnest(CAST(:ids AS uuid[]), CAST(:holds AS uuid[])) AS v(id, hold)
    JOIN transfers t ON t.id = v.hold
    WHERE t.kind = 'pending' AND t.expires_at <= :now
    ON CONFLICT DO NOTHING
    RETURNING debit_account_id, credit_account_id, amount"""
)
_LOCK_UNFLAGGED = text(
    f"""SELECT a.id FROM accounts a WHERE a.id = ANY(CAST(:accounts AS bigint[]))
      AND NOT {_LIMITED} ORDER BY a.id FOR NO KEY UPDATE"""
)
_RELEASE_PENDING = text(
    """UPDATE accounts SET debits_pending = accounts.debits_pending - v.debits,
                          credits_pending = accounts.credits_pending - v.credits
    FROM unnest(CAST(:accounts AS bigint[]), CAST(:debits AS bigint[]),
                CAST(:credits AS bigint[])) AS v(id, debits, credits)
    WHERE accounts.id = v.id"""
)


def expire_in_bulk(
    connection: Connection, expires: list[tuple[uuid.UUID, uuid.UUID]], now: datetime
) -> set[int]:
    """Write an expire (id, hold) for each hold that is pending, past its time and not yet
    resolved, and release what it held. Returns the accounts changed."""
    ids, holds = [list(column) for column in zip(*expires, strict=True)]
    connection.execute(_LOCK_FLAGGED_OF_HOLDS, {"holds": holds})
    written = connection.execute(_INSERT_EXPIRES, {"ids": ids, "holds": holds, "now": now})
    debits: dict[int, int] = {}
    credits: dict[int, int] = {}
    for debit, credit, amount in written:
        debits[debit] = debits.get(debit, 0) + amount
        credits[credit] = credits.get(credit, 0) + amount
    accounts = sorted(debits.keys() | credits.keys())
    if accounts:
        connection.execute(_LOCK_UNFLAGGED, {"accounts": accounts})
        connection.execute(
            _RELEASE_PENDING,
            {
                "accounts": accounts,
                "debits": [debits.get(a, 0) for a in accounts],
                "credits": [credits.get(a, 0) for a in accounts],
            },
        )
    return set(accounts)


def forget_balances(session: Session, account_ids: set[int]) -> None:
    """Account objects the session holds for `account_ids` read their balances again when
    next used: they were changed by statements the ORM did not see."""
    for account_id in account_ids:
        loaded = session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None:
            session.expire(loaded, list(BALANCES))
