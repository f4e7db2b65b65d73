"""Countries by ISO 3166-1 alpha-2 code, as people type them."""

from __future__ import annotations

from functools import cache

import pycountry

from grants.core.errors import InvalidInput
from grants.core.i18n import _

# What people write that is not the ISO code.
ALIASES = {"UK": "GB"}


@cache
def country_names() -> dict[str, str]:
    """{"GB": "United Kingdom", ...}, ordered by name."""
    names = {
        country.alpha_2: getattr(country, "common_name", country.name)
        for country in pycountry.countries
    }
    return dict(sorted(names.items(), key=lambda item: item[1]))


def normalise_country(value: str) -> str:
    """ " uk " -> "GB"; refuses what is not a country."""
    code = (value or "").strip().upper()
    code = ALIASES.get(code, code)
    if code not in country_names():
        given = (value or "").strip()
        raise InvalidInput(
            _(
                "%(given)s is not a country code; use two letters such as US or GB.",
                given=repr(given),
            )
            if given
            else _("A country is needed (two letters such as US or GB).")
        )
    return code


def country_name(code: str) -> str:
    return country_names().get(code, code)
