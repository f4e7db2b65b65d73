"""Each rule of the ledger, one test at a time, on whichever database the run uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from grants.core.clock import clock
from grants.core.errors import (
    BalanceOverflow,
    CreditsExceedDebits,
    DebitsExceedCredits,
    InvalidAmount,
    InvalidInput,
    InvalidTransfer,
    LedgerMismatch,
    PendingTransferAlreadyResolved,
    PendingTransferExpired,
    PendingTransferNotExpired,
    PendingTransferNotFound,
    TransferConflict,
    UnknownAccount,
)
from grants.core.ledger import NewTransfer, apply_transfers, get_or_create_ledger, open_account
from grants.core.models.ledger import Transfer
from tests.ledger_helpers import (
    Books,
    balances,
    expire,
    new_id,
    pending,
    post,
    single,
    void,
)


@pytest.fixture
def books(session):
    books = Books(session)
    session.commit()
    return books


def transfer_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Transfer))


def test_single_transfer_moves_posted_balances(session, books):
    wallet = books.wallet(funded=10)
    sink = books.sink()
    [row] = apply_transfers(session, [single(wallet, sink, 4)])
    session.commit()
    assert row.kind == "single" and row.amount == 4 and row.ledger_id == books.ledger.id
    assert balances(session, wallet) == (0, 4, 0, 10)
    assert balances(session, sink) == (0, 0, 0, 4)
    assert wallet.available == 6


def test_overdraft_is_refused_counting_pending_debits(session, books):
    wallet = books.wallet(funded=10)
    sink = books.sink()
    apply_transfers(session, [pending(wallet, sink, 8)])
    session.commit()
    before = transfer_count(session)

    with pytest.raises(DebitsExceedCredits, match="short by 1"):
        apply_transfers(session, [single(wallet, sink, 3)])
    with pytest.raises(DebitsExceedCredits):
        apply_transfers(session, [pending(wallet, sink, 3)])
    session.rollback()

    assert balances(session, wallet) == (8, 0, 0, 10)
    assert transfer_count(session) == before
    apply_transfers(session, [single(wallet, sink, 2)])  # exactly what is left is fine
    session.commit()
    assert balances(session, wallet) == (8, 2, 0, 10)


def test_credits_must_not_exceed_debits(session, books):
    capped = open_account(session, books.ledger, "capped", credits_must_not_exceed_debits=True)
    other = books.wallet(funded=5)
    apply_transfers(session, [single(capped, books.source, 3)])
    with pytest.raises(CreditsExceedDebits):
        apply_transfers(session, [single(other, capped, 4)])
    apply_transfers(session, [single(other, capped, 3)])
    session.commit()
    assert balances(session, capped) == (0, 3, 0, 3)


@pytest.mark.parametrize("resolution", [post, void])
def test_a_pending_transfer_resolves_exactly_once(session, books, resolution):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 5)])
    session.commit()
    assert balances(session, wallet) == (5, 0, 0, 5)
    assert balances(session, sink) == (0, 0, 5, 0)

    apply_transfers(session, [resolution(hold.id)])
    session.commit()
    for second in (post, void, expire):
        with pytest.raises(PendingTransferAlreadyResolved):
            apply_transfers(session, [second(hold.id)])
        session.rollback()

    if resolution is post:
        assert balances(session, wallet) == (0, 5, 0, 5)
        assert balances(session, sink) == (0, 0, 0, 5)
    else:
        assert balances(session, wallet) == (0, 0, 0, 5)
        assert balances(session, sink) == (0, 0, 0, 0)


def test_a_post_may_take_less_than_was_held(session, books):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 5)])
    with pytest.raises(InvalidAmount, match="at most the pending amount 5"):
        apply_transfers(session, [post(hold.id, amount=6)])
    [done] = apply_transfers(session, [post(hold.id, amount=3)])
    session.commit()
    assert done.amount == 3
    assert balances(session, wallet) == (0, 3, 0, 5)
    assert wallet.available == 2


def test_a_void_releases_the_whole_amount(session, books):
    wallet = books.wallet(funded=5)
    [hold] = apply_transfers(session, [pending(wallet, books.sink(), 5)])
    with pytest.raises(InvalidAmount):
        apply_transfers(session, [void(hold.id, amount=2)])


def test_expiry(session, books):
    clock.set(datetime(2027, 1, 1, 12, tzinfo=UTC))
    wallet = books.wallet(funded=5)
    sink = books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 5, timeout=3600)])
    session.commit()
    assert hold.expires_at == datetime(2027, 1, 1, 13, tzinfo=UTC)

    with pytest.raises(PendingTransferNotExpired):
        apply_transfers(session, [expire(hold.id)])

    clock.advance(timedelta(hours=1))
    for late in (post, void):
        with pytest.raises(PendingTransferExpired):
            apply_transfers(session, [late(hold.id)])
    session.rollback()

    [lapsed] = apply_transfers(session, [expire(hold.id)])
    session.commit()
    assert lapsed.kind == "expire" and lapsed.amount == 5
    assert balances(session, wallet) == (0, 0, 0, 5)
    with pytest.raises(PendingTransferAlreadyResolved):
        apply_transfers(session, [expire(hold.id)])


def test_expire_needs_a_timeout(session, books):
    [hold] = apply_transfers(session, [pending(books.wallet(funded=1), books.sink(), 1)])
    clock.advance(timedelta(days=3650))
    with pytest.raises(PendingTransferNotExpired):
        apply_transfers(session, [expire(hold.id)])


def test_resolving_something_that_is_not_pending(session, books):
    wallet = books.wallet(funded=3)
    [plain] = apply_transfers(session, [single(wallet, books.sink(), 1)])
    with pytest.raises(PendingTransferNotFound):
        apply_transfers(session, [post(plain.id)])
    with pytest.raises(PendingTransferNotFound):
        apply_transfers(session, [void(uuid.uuid4())])


def test_a_repeated_id_returns_the_first_result(session, books, engine):
    wallet = books.wallet(funded=10)
    sink = books.sink()
    transfer = single(wallet, sink, 4)
    [first] = apply_transfers(session, [transfer])
    first_written_at = first.created_at
    session.commit()

    from sqlalchemy.orm import Session

    with Session(engine) as other:  # a retry from another connection, after the commit
        [again] = apply_transfers(other, [transfer])
        other.commit()
        assert again.id == transfer.id and again.created_at == first_written_at

    assert balances(session, wallet) == (0, 4, 0, 10)
    assert (
        session.scalar(select(func.count()).select_from(Transfer).where(Transfer.id == transfer.id))
        == 1
    )

    # A retried post returns the post, not "already resolved".
    [hold] = apply_transfers(session, [pending(wallet, sink, 2)])
    settle = post(hold.id)
    apply_transfers(session, [settle])
    [retried] = apply_transfers(session, [settle])
    assert retried.kind == "post" and retried.pending_id == hold.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 5}, "amount"),
        ({"debit_account_id": "other"}, "debit_account_id"),
        ({"credit_account_id": "other"}, "credit_account_id"),
        ({"code": "other"}, "code"),
        ({"kind": "pending"}, "kind"),
        ({"kind": "pending", "timeout": 60}, "kind"),
    ],
)
def test_the_same_id_with_another_payload_is_a_conflict(session, books, change, field):
    wallet = books.wallet(funded=10)
    other = books.wallet(funded=10)
    sink = books.sink()
    first = single(wallet, sink, 4)
    apply_transfers(session, [first])
    session.commit()

    values = {
        "id": first.id,
        "debit_account_id": wallet.id,
        "credit_account_id": sink.id,
        "amount": 4,
        "code": first.code,
        **change,
    }
    for side in ("debit_account_id", "credit_account_id"):
        if values[side] == "other":
            values[side] = other.id
    with pytest.raises(TransferConflict) as raised:
        apply_transfers(session, [NewTransfer(**values)])
    assert raised.value.field == field
    assert field.replace("_", " ") in str(raised.value)
    session.rollback()
    assert balances(session, wallet) == (0, 4, 0, 10)


def test_transfers_across_ledgers_are_refused(session, books):
    money = get_or_create_ledger(session, "money:GBP", unit="GBP", name="Pounds")
    pounds = open_account(session, money, "funding")
    wallet = books.wallet(funded=3)
    session.commit()
    before = transfer_count(session)
    with pytest.raises(LedgerMismatch, match="different ledgers"):
        apply_transfers(session, [single(wallet, pounds, 1)])
    session.rollback()
    assert transfer_count(session) == before


def test_a_linked_batch_is_all_or_nothing(session, books):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    session.commit()
    before = transfer_count(session)
    batch = [single(wallet, sink, 2), pending(wallet, sink, 2), single(wallet, sink, 2)]
    with pytest.raises(DebitsExceedCredits) as raised:
        apply_transfers(session, batch)
    assert raised.value.index == 2
    assert "transfer 3 of the batch" in str(raised.value)
    # Nothing was written, even before any rollback: the session holds no changes.
    assert not session.dirty and not session.new
    session.commit()
    assert transfer_count(session) == before
    assert balances(session, wallet) == (0, 0, 0, 5)


def test_a_pending_transfer_and_its_post_in_one_batch(session, books):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    hold = pending(wallet, sink, 4)
    apply_transfers(session, [hold, post(hold.id, amount=3)])
    session.commit()
    assert balances(session, wallet) == (0, 3, 0, 5)


BAD_AMOUNTS = [0, -1, -100, 1.5, 2.0, "3", True, None, float("nan")]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_raise_and_write_nothing(session, books, amount):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    session.commit()
    before = transfer_count(session)
    with pytest.raises(InvalidAmount):
        apply_transfers(session, [single(wallet, sink, amount)])
    assert not session.dirty and not session.new
    session.commit()
    assert transfer_count(session) == before
    assert balances(session, wallet) == (0, 0, 0, 5)


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda w, s: single(w, 999_999, 1), UnknownAccount),
        (lambda w, s: single(999_999, s, 1), UnknownAccount),
        (lambda w, s: single(w, "1", 1), UnknownAccount),
        (lambda w, s: single(w, None, 1), UnknownAccount),
        (lambda w, s: single(w, w, 1), InvalidTransfer),
        (
            lambda w, s: NewTransfer(
                id="not-a-uuid", debit_account_id=w.id, credit_account_id=s.id, amount=1
            ),
            InvalidTransfer,
        ),
        (
            lambda w, s: NewTransfer(
                id=new_id(), debit_account_id=w.id, credit_account_id=s.id, amount=1, kind="gift"
            ),
            InvalidTransfer,
        ),
        (
            lambda w, s: NewTransfer(
                id=new_id(), debit_account_id=w.id, credit_account_id=s.id, amount=1, timeout=60
            ),
            InvalidTransfer,
        ),
        (
            lambda w, s: NewTransfer(
                id=new_id(),
                debit_account_id=w.id,
                credit_account_id=s.id,
                amount=1,
                kind="pending",
                timeout=0,
            ),
            InvalidTransfer,
        ),
        (lambda w, s: NewTransfer(id=new_id(), kind="post"), InvalidTransfer),
        (
            lambda w, s: NewTransfer(
                id=new_id(),
                debit_account_id=w.id,
                credit_account_id=s.id,
                amount=1,
                pending_id=new_id(),
            ),
            InvalidTransfer,
        ),
    ],
)
def test_malformed_transfers_raise_typed_errors(session, books, make, error):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    session.commit()
    with pytest.raises(error):
        apply_transfers(session, [make(wallet, sink)])
    session.rollback()
    assert transfer_count(session) == 1  # only the funding


def test_the_same_id_twice_in_one_batch(session, books):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    transfer = single(wallet, sink, 1)
    with pytest.raises(InvalidTransfer, match="twice"):
        apply_transfers(session, [transfer, transfer])


def test_created_at_comes_from_the_settable_clock(session, books):
    moment = datetime(2030, 6, 1, 9, 30, tzinfo=UTC)
    clock.set(moment)
    wallet = books.wallet(funded=1)
    [row] = apply_transfers(session, [single(wallet, books.sink(), 1)])
    session.commit()
    session.expire_all()
    assert session.get(Transfer, row.id).created_at == moment


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transfers SET amount = amount + 1",
        "UPDATE transfers SET code = 'changed'",
        "DELETE FROM transfers",
    ],
)
def test_the_database_refuses_to_change_a_transfer(session, books, statement):
    apply_transfers(session, [single(books.wallet(funded=3), books.sink(), 1)])
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert transfer_count(session) == 2


def test_postgresql_refuses_truncate_too(session, books):
    if session.bind.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    apply_transfers(session, [single(books.wallet(funded=3), books.sink(), 1)])
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("TRUNCATE transfers CASCADE"))
    session.rollback()


@pytest.mark.breaks_ledger
def test_the_database_itself_enforces_limit_flags(session, books):
    wallet = books.wallet(funded=3)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE accounts SET debits_posted = 4 WHERE id = :id"), {"id": wallet.id}
        )
        session.flush()
    session.rollback()
    with pytest.raises(IntegrityError):
        session.execute(
            text("UPDATE accounts SET credits_pending = -1 WHERE id = :id"), {"id": wallet.id}
        )
    session.rollback()


def test_one_account_of_a_kind_per_owner_per_ledger(session, books):
    first = open_account(session, books.ledger, "wallet", debits_must_not_exceed_credits=True)
    again = open_account(session, books.ledger, "wallet", debits_must_not_exceed_credits=True)
    assert again.id == first.id
    with pytest.raises(InvalidInput, match="other limit flags"):
        open_account(session, books.ledger, "wallet")
    with pytest.raises(InvalidInput, match="at most one"):
        open_account(
            session,
            books.ledger,
            "odd",
            debits_must_not_exceed_credits=True,
            credits_must_not_exceed_debits=True,
        )
    session.commit()
    # The database refuses a twin even when the code is bypassed.
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO accounts (ledger_id, code, debits_must_not_exceed_credits,"
                " credits_must_not_exceed_debits, debits_pending, debits_posted, credits_pending,"
                " credits_posted, created_at) VALUES (:ledger, 'wallet', false, false, 0, 0, 0, 0,"
                " CURRENT_TIMESTAMP)"
            ),
            {"ledger": books.ledger.id},
        )
    session.rollback()


def test_a_pending_retried_with_another_timeout_is_a_conflict(session, books):
    wallet = books.wallet(funded=5)
    hold = pending(wallet, books.sink(), 2, timeout=60)
    apply_transfers(session, [hold])
    with pytest.raises(TransferConflict) as raised:
        apply_transfers(session, [NewTransfer(**{**_fields(hold), "timeout": 120})])
    assert raised.value.field == "timeout"


def test_resolutions_are_compared_as_they_were_applied(session, books):
    wallet = books.wallet(funded=10)
    sink = books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 5)])
    partial = post(hold.id, amount=3)
    apply_transfers(session, [partial])
    # "Post everything" under the id of "post 3": not the same request.
    with pytest.raises(TransferConflict) as raised:
        apply_transfers(session, [post(hold.id, id=partial.id)])
    assert raised.value.field == "amount"
    [again] = apply_transfers(session, [post(hold.id, id=partial.id, amount=3)])
    assert again.amount == 3

    [other] = apply_transfers(session, [pending(wallet, sink, 2)])
    named = NewTransfer(id=new_id(), kind="void", pending_id=other.id, code="refund")
    apply_transfers(session, [named])
    with pytest.raises(TransferConflict) as raised:
        apply_transfers(session, [NewTransfer(id=named.id, kind="void", pending_id=other.id)])
    assert raised.value.field == "code"
    with pytest.raises(TransferConflict) as raised:  # same id, another pending transfer
        apply_transfers(session, [NewTransfer(id=named.id, kind="void", pending_id=hold.id)])
    assert raised.value.field == "pending_id"


def test_a_batch_can_resend_an_existing_pending_and_post_it(session, books):
    wallet = books.wallet(funded=5)
    sink = books.sink()
    hold = pending(wallet, sink, 4)
    apply_transfers(session, [hold])
    session.commit()
    apply_transfers(session, [hold, post(hold.id)])
    session.commit()
    assert balances(session, wallet) == (0, 4, 0, 5)


def _fields(transfer: NewTransfer) -> dict:
    return {name: getattr(transfer, name) for name in NewTransfer.__slots__}


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda w, s: single(w, s, 2**63), InvalidAmount),
        (lambda w, s: pending(w, s, 1, timeout=2**31), InvalidTransfer),
        (lambda w, s: single(w, s, 1, code="x" * 33), InvalidTransfer),
        (lambda w, s: single(w, s, 1, code=7), InvalidTransfer),
    ],
)
def test_values_too_large_for_the_database_are_refused(session, books, make, error):
    wallet, sink = books.wallet(funded=5), books.sink()
    with pytest.raises(error):
        apply_transfers(session, [make(wallet, sink)])


def test_a_balance_cannot_overflow(session, books):
    big = books.sink()
    apply_transfers(session, [single(books.source, big, 2**63 - 1)])
    session.commit()
    with pytest.raises(BalanceOverflow):
        apply_transfers(session, [single(books.sink(), big, 1)])
    session.rollback()


def test_insert_or_replace_cannot_rewrite_a_transfer(session, books):
    wallet = books.wallet(funded=5)
    [row] = apply_transfers(session, [single(wallet, books.sink(), 4)])
    session.commit()
    if session.bind.dialect.name == "sqlite":
        statement = (
            "INSERT OR REPLACE INTO transfers SELECT id, ledger_id, debit_account_id,"
            " credit_account_id, 400, kind, pending_id, timeout, expires_at, code,"
            " created_at FROM transfers WHERE amount = 4"
        )
    else:
        statement = (
            "INSERT INTO transfers SELECT * FROM transfers WHERE amount = 4"
            " ON CONFLICT (id) DO UPDATE SET amount = 400"
        )
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert session.get(Transfer, row.id).amount == 4


def test_a_lapsed_hold_stops_counting_before_the_next_debit(session, books):
    clock.set(datetime(2027, 2, 1, tzinfo=UTC))
    wallet, sink = books.wallet(funded=5), books.sink()
    [hold] = apply_transfers(session, [pending(wallet, sink, 5, timeout=60)])
    session.commit()
    with pytest.raises(DebitsExceedCredits):
        apply_transfers(session, [single(wallet, sink, 1)])
    session.rollback()

    clock.advance(timedelta(seconds=60))
    apply_transfers(session, [single(wallet, sink, 5)])  # the hold lapsed first
    session.commit()
    assert balances(session, wallet) == (0, 5, 0, 5)
    lapse = session.scalar(select(Transfer).where(Transfer.pending_id == hold.id))
    assert (lapse.kind, lapse.amount) == ("expire", 5)
    with pytest.raises(PendingTransferAlreadyResolved):
        apply_transfers(session, [expire(hold.id)])


def test_expiring_holds_in_bulk_expires_each_lapsed_one_once(session, books):
    """What a sweep's page does: of the holds named, only those past their time and not yet
    resolved are expired, each once, and what they held is free again."""
    from grants.core.ledger import expire_holds, lapse_id

    clock.set(datetime(2027, 2, 1, tzinfo=UTC))
    wallet, other, sink = books.wallet(funded=10), books.wallet(funded=10), books.sink()
    [lapsed, voided, lapsed_by_ledger, later] = apply_transfers(
        session,
        [
            pending(wallet, sink, 2, timeout=60),
            pending(wallet, sink, 3, timeout=60),
            pending(other, sink, 4, timeout=60),
            pending(other, sink, 1, timeout=3600),
        ],
    )
    apply_transfers(session, [void(voided.id)])
    session.commit()
    clock.advance(timedelta(seconds=60))
    apply_transfers(session, [single(other, sink, 1)])  # lapses the hold on `other` first
    session.commit()
    holds = [lapsed.id, voided.id, lapsed_by_ledger.id, later.id, lapsed.id]
    for _ in range(2):  # the second time finds nothing left to do
        expire_holds(session, holds)
        session.commit()
        resolutions = dict(
            session.execute(
                select(Transfer.pending_id, Transfer.id).where(Transfer.pending_id.in_(holds))
            ).all()
        )
        assert resolutions.keys() == {lapsed.id, voided.id, lapsed_by_ledger.id}
        assert resolutions[lapsed.id] == lapse_id(lapsed.id)
        assert balances(session, wallet) == (0, 0, 0, 10)
        assert balances(session, other) == (1, 1, 0, 10)
        assert balances(session, sink) == (0, 0, 1, 1)  # the later hold, the session
