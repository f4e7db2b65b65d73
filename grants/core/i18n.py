"""Words the core shows to people, marked for translation without importing Flask.

The core raises errors and writes messages in English. `_()` and `ngettext()` mark that
English as a message id (so `pybabel extract` finds it, with the `_` and `ngettext`
keywords) and keep the parameters apart, so the web edge can look the id up in the
reader's catalogue and fill the parameters in formatted for the reader's locale:
a date reads "25 nov 2026" in Spanish, a count "1.000", money "12,50 £".

A `Message` is a `str` holding the English text, so logs, the CLI and `str(error)` read
naturally with no translator installed; `translate()` gives the reader's words once the
web app has installed one (see `grants.i18n`).

Write parameters as `%(name)s` (never `%(name)d`): the values arrive already formatted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import localcontext
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Money:
    """An amount in minor units as a message parameter, formatted for the reader."""

    minor: int
    currency: str


class Message(str):
    """English text that remembers its message id and parameters."""

    msgid: str
    plural: str | None
    num: int | None
    params: Mapping[str, Any]

    def __new__(
        cls,
        msgid: str,
        params: Mapping[str, Any] | None = None,
        *,
        plural: str | None = None,
        num: int | None = None,
    ) -> Message:
        params = dict(params or {})
        if plural is not None:
            params.setdefault("num", num)
        template = plural if plural is not None and num != 1 else msgid
        text = fill(template, params, DEFAULT_LOCALE, nested=str)
        made = super().__new__(cls, text)
        made.msgid, made.plural, made.num, made.params = msgid, plural, num, params
        return made

    def __reduce__(self):  # pickles and copies keep the id, not just the English
        return (_rebuild, (self.msgid, self.params, self.plural, self.num))


def _rebuild(msgid, params, plural, num) -> Message:
    return Message(msgid, params, plural=plural, num=num)


def _(msgid: str, **params: Any) -> Message:
    """Mark `msgid` for translation; `%(name)s` placeholders take `params`."""
    return Message(msgid, params)


def ngettext(singular: str, plural: str, num: int, **params: Any) -> Message:
    """A message with a singular and a plural form; `%(num)s` is the count."""
    return Message(singular, params, plural=plural, num=num)


# A translator takes a message and gives the reader's words, or None to keep the English.
Translator = Callable[[Message], "str | None"]
_translator: Translator | None = None


def install(translator: Translator | None) -> None:
    """Called once by the web app; None goes back to English everywhere."""
    global _translator
    _translator = translator


def translate(text: str) -> str:
    """The reader's words for `text`: a `Message` is translated, a plain string kept."""
    if isinstance(text, Message) and _translator is not None:
        translated = _translator(text)
        if translated is not None:
            return translated
    return str(text)


def fill(
    template: str,
    params: Mapping[str, Any],
    locale: str,
    *,
    nested: Callable[[str], str] = translate,
) -> str:
    """`template % params`, each value formatted for `locale` first. With no parameters a
    template is used as it is (so a lone "%" needs no escaping), as gettext does. A message
    inside a message goes through `nested` (the English text keeps English inside it)."""
    if not params:
        return template
    return template % {key: format_value(value, locale, nested) for key, value in params.items()}


def format_value(value: Any, locale: str, nested: Callable[[str], str] = translate) -> str:
    if isinstance(value, Message):
        return nested(value)
    if isinstance(value, Money):
        from grants.core.money import format_money

        return format_money(value.minor, value.currency, locale)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        # Babel rounds in the current decimal context, whose 28 digits a number someone
        # typed (10**30 sessions) can exceed: give it the digits it needs.
        with localcontext() as context:
            context.prec = max(context.prec, len(str(abs(value))) + 10)
            return format_decimal(value, locale=locale)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=locale)
    if isinstance(value, date):
        return format_date(value, format="medium", locale=locale)
    return str(value)
