"""Form pieces shared by every area."""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice

from grants.core.countries import country_names


def refuse(form: FlaskForm, error) -> None:
    """Show a refusal from the core on `form`: beside the input it is about when the error
    names one (so it is tied to that field for screen readers), else at the top."""
    field = form._fields.get(error.field) if getattr(error, "field", None) else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


class WholeNumberField(IntegerField):
    """An integer field that refuses a number beyond a float's range (hundreds of digits) as
    it refuses one that is not a number: WTForms' NumberRange checks through a float and
    would crash on it."""

    # WTForms' own words for a value that is not a whole number, from its own catalogue.
    NOT_WHOLE = "Not a valid integer value."

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            try:
                float(self.data)
            except OverflowError:
                self.data = None
                raise ValueError(self.gettext(self.NOT_WHOLE)) from None


def _sort_key(name: str) -> str:
    """Alphabetical as a reader expects it: "Éire" with the Es, case ignored."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _localised_names(locale: str) -> tuple[tuple[str, str], ...]:
    """Every country code we know, named in `locale` (Babel's CLDR names), by name. English
    keeps the names (and order) people type them in, from grants.core.countries."""
    if locale.split("_")[0] == "en":
        return tuple(country_names().items())
    try:
        territories = Locale.parse(locale).territories
    except (ValueError, UnknownLocaleError):
        territories = {}
    names = {code: territories.get(code, name) for code, name in country_names().items()}
    return tuple(sorted(names.items(), key=lambda item: _sort_key(item[1])))


def region_choices() -> list[SelectChoice]:
    """The US and the UK first (where the programme runs today), then every country, named
    and ordered in the reader's language."""
    locale = get_locale()
    names = _localised_names(str(locale) if locale else "en")
    lookup = dict(names)
    first = [SelectChoice(code, lookup[code]) for code in ("US", "GB")]
    return first + [SelectChoice(code, name) for code, name in names if code not in {"US", "GB"}]
