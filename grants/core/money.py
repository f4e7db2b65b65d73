"""Money as integers of minor units (cents, pence), converted only at the edges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

from grants.core.errors import InvalidInput
from grants.core.i18n import _

# ISO 4217 code -> (symbol, minor-unit exponent). The programme pays in these.
CURRENCIES: dict[str, tuple[str, int]] = {"USD": ("$", 2), "GBP": ("£", 2)}


def to_minor(amount: Decimal | str, currency: str) -> int:
    """ "12.50" GBP -> 1250. Refuses more decimal places than the currency has."""
    _symbol, exponent = _currency(currency)
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise InvalidInput(
            _("%(amount)s is not an amount of money.", amount=repr(amount))
        ) from None
    if not value.is_finite():
        raise InvalidInput(_("Enter an amount of money."))
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise InvalidInput(
            _(
                "%(currency)s amounts have at most %(places)s decimal places.",
                currency=currency,
                places=exponent,
            )
        )
    return int(minor)


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """1250, "GBP" -> "£12.50", in the reader's locale (Babel's CLDR data, not by hand)."""
    _symbol, exponent = _currency(currency)
    amount = Decimal(minor).scaleb(-exponent)
    return format_currency(amount, currency, locale=locale or "en")


def _currency(code: str) -> tuple[str, int]:
    try:
        return CURRENCIES[code]
    except KeyError:
        raise InvalidInput(
            _("%(code)s is not a currency the programme pays in.", code=code)
        ) from None
