"""A Hypothesis state machine against an in-memory model of every balance.

Random single, pending, post, void and expire transfers, retried ids, conflicting ids and
clock moves; after every step the database must equal the model and verify must pass.
Each run works on ledgers of its own, so examples do not need a fresh database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import errors
from grants.core.clock import clock
from grants.core.ledger import (
    NewTransfer,
    TransferKind,
    apply_transfers,
    get_or_create_ledger,
    open_account,
    verify_ledger,
)
from grants.core.models.ledger import Account, Ledger, Transfer

DP, DPO, CP, CPO = range(4)  # debits pending/posted, credits pending/posted


@dataclass
class ModelAccount:
    id: int
    ledger: int
    limit: str | None  # "debits", "credits" or None
    balances: list[int]


@dataclass
class ModelPending:
    id: uuid.UUID
    debit: int
    credit: int
    amount: int
    expires_at: datetime | None
    resolved: bool = False


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    pendings = Bundle("pendings")
    done = Bundle("done")  # transfers that succeeded, for retries

    def __init__(self, engine) -> None:
        super().__init__()
        self.session = Session(engine)
        self.model: dict[int, ModelAccount] = {}
        self.pending_model: dict[uuid.UUID, ModelPending] = {}
        self.pending_specs: dict[uuid.UUID, NewTransfer] = {}
        clock.set(datetime(2027, 3, 1, tzinfo=UTC))

    def teardown(self) -> None:
        self.session.rollback()
        self.session.close()
        clock.reset()

    # --- set-up -------------------------------------------------------------------------

    @initialize(target=accounts)
    def two_ledgers(self):
        run = uuid.uuid4().hex[:12]
        opened = []
        for n in range(2):
            ledger = get_or_create_ledger(
                self.session, f"model:{run}:{n}", unit="session", name="model"
            )
            source = open_account(self.session, ledger, "source")
            self.model[source.id] = ModelAccount(source.id, ledger.id, None, [0, 0, 0, 0])
            opened.append(source.id)
        self.ledger_ids = sorted({self.model[a].ledger for a in opened})
        self.session.commit()
        return multiple(*opened)

    @rule(
        target=accounts,
        ledger=st.integers(0, 1),
        limit=st.sampled_from(["debits", "debits", "credits", None]),
    )
    def open_account(self, ledger, limit):
        ledger_id = self.ledger_ids[ledger]
        account = open_account(
            self.session,
            self.session.get(Ledger, ledger_id),
            f"acct{len(self.model)}",
            debits_must_not_exceed_credits=limit == "debits",
            credits_must_not_exceed_debits=limit == "credits",
        )
        self.session.commit()
        self.model[account.id] = ModelAccount(account.id, ledger_id, limit, [0, 0, 0, 0])
        return account.id

    # --- the model ----------------------------------------------------------------------

    def _violates(self, balances: list[int], limit: str | None) -> bool:
        if limit == "debits":
            return balances[DP] + balances[DPO] > balances[CPO]
        if limit == "credits":
            return balances[CP] + balances[CPO] > balances[DPO]
        return False

    def _expect_open(self, debit: int, credit: int, amount: int, kind: str):
        """The error the model expects for a single or pending transfer, else None."""
        if debit == credit:
            return errors.InvalidTransfer
        if self.model[debit].ledger != self.model[credit].ledger:
            return errors.LedgerMismatch
        field = DP if kind == "pending" else DPO
        new_debit = list(self.model[debit].balances)
        new_debit[field] += amount
        new_credit = list(self.model[credit].balances)
        new_credit[field + 2] += amount
        for balances, account in ((new_debit, debit), (new_credit, credit)):
            if self._violates(balances, self.model[account].limit):
                limit = self.model[account].limit
                return (
                    errors.DebitsExceedCredits if limit == "debits" else errors.CreditsExceedDebits
                )
        return None

    def _snapshot(self):
        return (
            {key: list(account.balances) for key, account in self.model.items()},
            {key: held.resolved for key, held in self.pending_model.items()},
        )

    def _restore(self, snapshot) -> None:
        balances, resolved = snapshot
        for key, values in balances.items():
            self.model[key].balances = values
        for key, flag in resolved.items():
            self.pending_model[key].resolved = flag

    def _lapse(self, debited: set[int], *, sparing: set = frozenset()) -> None:
        """The ledger expires lapsed holds on the accounts a batch debits before it looks at
        their balances; the model does the same."""
        now = clock.now()
        for held in self.pending_model.values():
            if (
                not held.resolved
                and held.expires_at is not None
                and now >= held.expires_at
                and held.debit in debited
                and held.id not in sparing
            ):
                held.resolved = True
                self.model[held.debit].balances[DP] -= held.amount
                self.model[held.credit].balances[CP] -= held.amount

    def _apply(self, transfer: NewTransfer, expected, snapshot=None):
        try:
            rows = apply_transfers(self.session, [transfer])
        except errors.LedgerError as error:
            self.session.rollback()
            if snapshot is not None:
                self._restore(snapshot)
            assert expected is not None, f"unexpected {error!r}"
            assert isinstance(error, expected), f"expected {expected.__name__}, got {error!r}"
            return None
        assert expected is None, f"expected {expected.__name__}, but the transfer went through"
        self.session.commit()
        return rows[0]

    # --- transfers ----------------------------------------------------------------------

    @rule(target=done, debit=accounts, credit=accounts, amount=st.integers(1, 40))
    def single(self, debit, credit, amount):
        transfer = NewTransfer(
            id=uuid.uuid4(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            code="model",
        )
        snapshot = self._snapshot()
        if debit != credit:
            self._lapse({debit})
        expected = self._expect_open(debit, credit, amount, "single")
        if self._apply(transfer, expected, snapshot) is None:
            return multiple()
        self.model[debit].balances[DPO] += amount
        self.model[credit].balances[CPO] += amount
        return transfer

    @rule(
        target=pendings,
        debit=accounts,
        credit=accounts,
        amount=st.integers(1, 40),
        timeout=st.sampled_from([None, 60, 3600]),
    )
    def hold(self, debit, credit, amount, timeout):
        transfer = NewTransfer(
            id=uuid.uuid4(),
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            kind=TransferKind.PENDING,
            timeout=timeout,
            code="model",
        )
        snapshot = self._snapshot()
        if debit != credit:
            self._lapse({debit})
        expected = self._expect_open(debit, credit, amount, "pending")
        row = self._apply(transfer, expected, snapshot)
        if row is None:
            return multiple()
        self.model[debit].balances[DP] += amount
        self.model[credit].balances[CP] += amount
        expires = clock.now() + timedelta(seconds=timeout) if timeout else None
        self.pending_model[transfer.id] = ModelPending(transfer.id, debit, credit, amount, expires)
        self.pending_specs[transfer.id] = transfer
        return transfer.id

    @rule(
        target=done,
        pending_id=pendings,
        kind=st.sampled_from([TransferKind.POST, TransferKind.VOID, TransferKind.EXPIRE]),
        amount=st.one_of(st.none(), st.integers(1, 41)),
    )
    def resolve(self, pending_id, kind, amount):
        held = self.pending_model[pending_id]
        if kind != TransferKind.POST and amount is not None:
            amount = held.amount  # void and expire may name the whole amount
        expired = held.expires_at is not None and clock.now() >= held.expires_at
        if held.resolved:
            expected = errors.PendingTransferAlreadyResolved
        elif kind == TransferKind.EXPIRE and not expired:
            expected = errors.PendingTransferNotExpired
        elif kind != TransferKind.EXPIRE and expired:
            expected = errors.PendingTransferExpired
        elif amount is not None and amount > held.amount:
            expected = errors.InvalidAmount
        else:
            expected = None
        transfer = NewTransfer(id=uuid.uuid4(), kind=kind, pending_id=pending_id, amount=amount)
        if self._apply(transfer, expected) is None:
            return multiple()
        held.resolved = True
        debit, credit = self.model[held.debit].balances, self.model[held.credit].balances
        debit[DP] -= held.amount
        credit[CP] -= held.amount
        if kind == TransferKind.POST:
            posted = held.amount if amount is None else amount
            debit[DPO] += posted
            credit[CPO] += posted
        return transfer

    @rule(moves=st.lists(st.tuples(accounts, accounts, st.integers(1, 30)), min_size=2, max_size=4))
    def linked_batch(self, moves):
        """Several singles in one batch: all apply, or none (the first refusal wins)."""
        saved = self._snapshot()
        # Every transfer's shape is checked before any is applied.
        expected = None
        if any(debit == credit for debit, credit, _ in moves):
            expected = errors.InvalidTransfer
            moves_to_model = []
        else:
            moves_to_model = moves
            self._lapse({debit for debit, _, _ in moves})
        for debit, credit, amount in moves_to_model:
            expected = self._expect_open(debit, credit, amount, "single")
            if expected is not None:
                break
            self.model[debit].balances[DPO] += amount
            self.model[credit].balances[CPO] += amount
        batch = [
            NewTransfer(
                id=uuid.uuid4(),
                debit_account_id=debit,
                credit_account_id=credit,
                amount=amount,
                code="model",
            )
            for debit, credit, amount in moves
        ]
        try:
            apply_transfers(self.session, batch)
        except errors.LedgerError as error:
            self.session.rollback()
            self._restore(saved)
            assert expected is not None and isinstance(error, expected), repr(error)
            return
        assert expected is None, f"expected {expected.__name__}, but the batch went through"
        self.session.commit()

    @rule(pending_id=pendings)
    def retry_pending(self, pending_id):
        spec = self.pending_specs[pending_id]
        self._lapse({spec.debit_account_id}, sparing={pending_id})
        [row] = apply_transfers(self.session, [spec])
        self.session.commit()
        assert row.id == pending_id and row.kind == "pending"

    @rule(transfer=done)
    def retry_same(self, transfer):
        if transfer.kind == TransferKind.SINGLE:
            self._lapse({transfer.debit_account_id})
        [row] = apply_transfers(self.session, [transfer])  # must not move anything again
        self.session.commit()
        assert row.id == transfer.id

    @rule(transfer=done)
    def retry_with_another_amount(self, transfer):
        stored = self.session.get(Transfer, transfer.id)
        changed = NewTransfer(**{**_fields(transfer), "amount": stored.amount + 1})
        self._apply(changed, errors.TransferConflict)

    @rule(seconds=st.sampled_from([1, 59, 60, 600, 3600, 7200]))
    def time_passes(self, seconds):
        clock.advance(timedelta(seconds=seconds))

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def database_equals_model(self):
        if not self.model:
            return
        rows = self.session.execute(
            select(
                Account.id,
                Account.debits_pending,
                Account.debits_posted,
                Account.credits_pending,
                Account.credits_posted,
            ).where(Account.id.in_(list(self.model)))
        ).all()
        self.session.commit()
        assert {row[0]: list(row[1:]) for row in rows} == {
            account_id: account.balances for account_id, account in self.model.items()
        }

    @invariant()
    def verify_passes(self):
        report = verify_ledger(self.session)
        self.session.commit()
        assert report.ok, report.summary()


def _fields(transfer: NewTransfer) -> dict:
    return {name: getattr(transfer, name) for name in NewTransfer.__slots__}


def test_the_ledger_matches_a_model_of_every_balance(engine):
    run_state_machine_as_test(
        lambda: LedgerMachine(engine),
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None),
    )
