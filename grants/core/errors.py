"""Domain errors, named for what went wrong; the web and CLI edges turn them into messages."""

from __future__ import annotations

from grants.core.i18n import _, translate


class DomainError(Exception):
    """A rule of the programme refused an operation. `str(error)` is the English, safe to
    show the user; `error.message` is the same in the reader's language (see core.i18n).

    `field` names the input the refusal is about (such as "sessions"), when there is one,
    so a form can show the message beside that input rather than only at the top."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.text = message
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        return translate(self.text)


class NotFound(DomainError):
    """The thing asked for does not exist (or the actor may not know it does)."""


class Forbidden(DomainError):
    """The actor may not do this."""


class InvalidInput(DomainError):
    """Input that no rule could accept: wrong type, out of range, malformed."""


# --- ledger -----------------------------------------------------------------------------


class LedgerError(DomainError):
    """A transfer was refused. `index` is its position in the batch, when there was a batch."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        if index is not None:
            message = _("transfer %(n)s of the batch: %(reason)s", n=index + 1, reason=message)
        super().__init__(message)
        self.index = index


class InvalidTransfer(LedgerError):
    """The transfer itself is malformed: amount, kind, missing fields."""


class InvalidAmount(InvalidTransfer):
    """Amounts are whole numbers of units (sessions, cents or pence) above zero."""


class UnknownAccount(LedgerError):
    """A transfer named an account that does not exist."""


class LedgerMismatch(LedgerError):
    """The two accounts of a transfer are on different ledgers (different units)."""


class BalanceLimitExceeded(LedgerError):
    """An account's limit flag would be broken by the transfer."""


class DebitsExceedCredits(BalanceLimitExceeded):
    """Not enough available: debits (pending included) would exceed posted credits."""


class CreditsExceedDebits(BalanceLimitExceeded):
    """Credits (pending included) would exceed posted debits."""


class BalanceOverflow(LedgerError):
    """A balance would grow past what the database can store."""


class TransferConflict(LedgerError):
    """A transfer id was reused with a different payload. `field` names the first difference."""

    def __init__(self, message: str, *, field: str, index: int | None = None) -> None:
        super().__init__(message, index=index)
        self.field = field


class PendingTransferNotFound(LedgerError):
    """A post, void or expire named a pending transfer that does not exist."""


class PendingTransferAlreadyResolved(LedgerError):
    """The pending transfer was already posted, voided or expired: it resolves once."""


class PendingTransferExpired(LedgerError):
    """The pending transfer's time ran out: it can only be expired now."""


class PendingTransferNotExpired(LedgerError):
    """An expire was asked for before the pending transfer's time ran out."""
