"""Paying partners: payout batches built from what the ledger says each partner is owed,
approved by a second person, then paid or failed line by line."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.errors import DebitsExceedCredits, DomainError, Forbidden, InvalidInput
from grants.core.i18n import _
from grants.core.ledger import NewTransfer, TransferKind, apply_transfers, open_account
from grants.core.models.ledger import Account, Transfer
from grants.core.models.payouts import (
    BatchStatus,
    LineStatus,
    PayoutBatch,
    PayoutItem,
    PayoutLine,
)
from grants.core.models.people import User
from grants.core.money import CURRENCIES
from grants.core.money_ledger import PAYABLE, money_ledger

SETTLED = "settled"  # where money paid out to partners ends, per currency
_NAMESPACE = uuid.UUID("5e2d8c1b-7a4f-4b3e-a9d6-0f1e2d3c4b5a")


class BatchRefused(DomainError):
    """The batch cannot be built, approved or paid as asked."""


def settled_account(session: Session, currency: str) -> Account:
    return open_account(session, money_ledger(session, currency), SETTLED)


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def _taken():
    """Credits already in a live payout line (draft, held or paid): never paid twice."""
    return (
        select(PayoutItem.transfer_id)
        .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
        .where(PayoutLine.status != LineStatus.FAILED, PayoutBatch.status != BatchStatus.DISCARDED)
    )


def owed_credits(session: Session, payable: Account, cutoff: date) -> list[tuple]:
    """(transfer id, amount) of each credit to `payable` up to `cutoff` not yet in a payout."""
    return session.execute(
        select(Transfer.id, Transfer.amount)
        .where(
            Transfer.credit_account_id == payable.id,
            Transfer.kind.in_([TransferKind.SINGLE, TransferKind.POST]),
            Transfer.created_at < _end_of(cutoff),
            Transfer.id.not_in(_taken()),
        )
        .order_by(Transfer.created_at, Transfer.id)
    ).all()


def build_batch(
    session: Session,
    actor: User,
    *,
    currency: str,
    cutoff: date,
    partner_ids: list[int] | None = None,
    request_id: uuid.UUID,
) -> PayoutBatch:
    """A draft batch paying each partner (or the chosen ones) what it is owed in `currency`
    for work and grants up to `cutoff`. `request_id` makes a double submit build once."""
    earlier = session.scalar(select(PayoutBatch).where(PayoutBatch.request_id == request_id))
    if earlier is not None and earlier.created_by_id == actor.id:
        return earlier
    if currency not in CURRENCIES:
        raise InvalidInput(
            _("The currency must be one of %(currencies)s.", currencies=", ".join(CURRENCIES))
        )
    if cutoff > clock.now().date():
        raise InvalidInput(_("The cut-off date cannot be in the future."))
    ledger = money_ledger(session, currency)
    query = (
        select(Account)
        .where(Account.ledger_id == ledger.id, Account.code == PAYABLE)
        .order_by(Account.id)
        # Locked (in id order), so two batches built at once cannot both take the same credit.
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if partner_ids:
        query = query.where(Account.partner_id.in_(partner_ids))
    batch = PayoutBatch(
        currency=currency,
        cutoff=cutoff,
        status=BatchStatus.DRAFT,
        request_id=request_id,
        created_by_id=actor.id,
    )
    session.add(batch)
    session.flush()
    for payable in session.scalars(query).all():
        credits = owed_credits(session, payable, cutoff)
        amount = sum(amount for _, amount in credits)
        if not amount:
            continue
        line = PayoutLine(
            batch_id=batch.id, partner_id=payable.partner_id, amount=amount, status=LineStatus.DRAFT
        )
        session.add(line)
        session.flush()
        session.add_all(
            PayoutItem(line_id=line.id, transfer_id=transfer_id, amount=value)
            for transfer_id, value in credits
        )
    session.flush()
    session.refresh(batch)
    if not batch.lines:
        raise BatchRefused(
            _(
                "No partner is owed anything in %(currency)s up to %(cutoff)s.",
                currency=currency,
                cutoff=cutoff,
            )
        )
    audit.record(
        session,
        actor,
        "payout.build",
        batch,
        currency=currency,
        cutoff=cutoff.isoformat(),
        lines=len(batch.lines),
        total=batch.total,
    )
    return batch


def _locked_batch(session: Session, batch_id: int) -> PayoutBatch:
    batch = session.scalar(
        select(PayoutBatch)
        .where(PayoutBatch.id == batch_id)
        .with_for_update(of=PayoutBatch)
        .execution_options(populate_existing=True)
    )
    if batch is None:
        raise InvalidInput(_("There is no such batch."))
    return batch


def approve_batch(session: Session, actor: User, batch_id: int) -> PayoutBatch:
    """The second pair of eyes: each line becomes a held transfer from the partner's payable.
    The ledger refuses any line that would take more than the partner is owed."""
    batch = _locked_batch(session, batch_id)
    if batch.status != BatchStatus.DRAFT:
        raise BatchRefused(
            {
                BatchStatus.APPROVED: _("This batch was already approved."),
                BatchStatus.CLOSED: _("This batch was already closed."),
                BatchStatus.DISCARDED: _("This batch was already discarded."),
            }[batch.status]
        )
    if batch.created_by_id == actor.id:
        raise Forbidden(_("A different finance user must approve a batch you built."))
    settled = settled_account(session, batch.currency)
    holds = []
    for line in batch.lines:
        payable = open_account(
            session,
            money_ledger(session, batch.currency),
            PAYABLE,
            partner_id=line.partner_id,
            debits_must_not_exceed_credits=True,
        )
        holds.append(
            NewTransfer(
                id=_hold_id(line),
                debit_account_id=payable.id,
                credit_account_id=settled.id,
                amount=line.amount,
                kind=TransferKind.PENDING,
                code="payout",
            )
        )
    try:
        apply_transfers(session, holds)
    except DebitsExceedCredits as error:
        line = batch.lines[error.index]
        raise BatchRefused(
            _(
                "The line for %(partner)s would take more than it is owed now. "
                "Discard this batch and build a new one.",
                partner=line.partner.name,
            )
        ) from None
    for line in batch.lines:
        # Set only now: the row must not point at a transfer before the ledger wrote it.
        line.status, line.hold_transfer_id = LineStatus.PENDING, _hold_id(line)
    batch.status, batch.approved_by_id, batch.approved_at = (
        BatchStatus.APPROVED,
        actor.id,
        clock.now(),
    )
    audit.record(session, actor, "payout.approve", batch, total=batch.total)
    return batch


def _hold_id(line: PayoutLine) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"hold:{line.id}")


def _locked_line(session: Session, line_id: int) -> PayoutLine:
    line = session.scalar(
        select(PayoutLine)
        .where(PayoutLine.id == line_id)
        .with_for_update(of=PayoutLine)
        .execution_options(populate_existing=True)
    )
    if line is None:
        raise InvalidInput(_("There is no such payout line."))
    if line.status != LineStatus.PENDING:
        raise BatchRefused(
            {
                LineStatus.DRAFT: _("That payment was already marked draft."),
                LineStatus.PAID: _("That payment was already marked paid."),
                LineStatus.FAILED: _("That payment was already marked failed."),
            }[line.status]
        )
    return line


def mark_paid(
    session: Session, actor: User, line_id: int, *, bank_reference: str, paid_on: date
) -> PayoutLine:
    reference = (bank_reference or "").strip()
    if not reference or len(reference) > 64:
        raise InvalidInput(_("Enter the bank's reference for the payment (64 characters at most)."))
    if paid_on > clock.now().date():
        raise InvalidInput(_("The payment date cannot be in the future."))
    line = _locked_line(session, line_id)
    apply_transfers(
        session,
        [
            NewTransfer(
                id=uuid.uuid5(_NAMESPACE, f"paid:{line.id}"),
                kind=TransferKind.POST,
                pending_id=line.hold_transfer_id,
            )
        ],
    )
    line.status, line.bank_reference, line.paid_on = LineStatus.PAID, reference, paid_on
    line.resolved_at = clock.now()
    audit.record(session, actor, "payout.paid", line, batch_id=line.batch_id)
    _close_if_done(session, line.batch_id)
    return line


def mark_failed(session: Session, actor: User, line_id: int, *, reason: str) -> PayoutLine:
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(_("Say why the payment failed (500 characters at most)."))
    line = _locked_line(session, line_id)
    apply_transfers(
        session,
        [
            NewTransfer(
                id=uuid.uuid5(_NAMESPACE, f"failed:{line.id}"),
                kind=TransferKind.VOID,
                pending_id=line.hold_transfer_id,
            )
        ],
    )
    line.status, line.failure_reason, line.resolved_at = LineStatus.FAILED, reason, clock.now()
    audit.record(session, actor, "payout.failed", line, batch_id=line.batch_id)
    _close_if_done(session, line.batch_id)
    return line


def mark_batch_paid(
    session: Session, actor: User, batch_id: int, *, bank_reference: str, paid_on: date
) -> PayoutBatch:
    batch = _locked_batch(session, batch_id)
    if batch.status != BatchStatus.APPROVED:
        raise BatchRefused(
            {
                BatchStatus.DRAFT: _("Only an approved batch can be paid; this one is draft."),
                BatchStatus.CLOSED: _("Only an approved batch can be paid; this one is closed."),
                BatchStatus.DISCARDED: _(
                    "Only an approved batch can be paid; this one is discarded."
                ),
            }[batch.status]
        )
    pending = [line for line in batch.lines if line.status == LineStatus.PENDING]
    if not pending:
        raise BatchRefused(_("Every line of this batch was already paid or failed."))
    for line in pending:
        mark_paid(session, actor, line.id, bank_reference=bank_reference, paid_on=paid_on)
    return batch


def discard_batch(session: Session, actor: User, batch_id: int) -> PayoutBatch:
    batch = _locked_batch(session, batch_id)
    if batch.status != BatchStatus.DRAFT:
        raise BatchRefused(_("Only a draft batch can be discarded."))
    batch.status = BatchStatus.DISCARDED
    audit.record(session, actor, "payout.discard", batch)
    return batch


def _close_if_done(session: Session, batch_id: int) -> None:
    batch = session.get(PayoutBatch, batch_id)
    session.refresh(batch)
    if all(line.status in (LineStatus.PAID, LineStatus.FAILED) for line in batch.lines):
        batch.status = BatchStatus.CLOSED
