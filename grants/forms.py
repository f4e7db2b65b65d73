"""Form pieces shared by every area."""

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from grants.core.countries import country_names


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels."""


def region_choices() -> list[SelectChoice]:
    """The US and the UK first (where the programme runs today), then every country."""
    names = country_names()
    first = [SelectChoice("US", "United States"), SelectChoice("GB", "United Kingdom")]
    return first + [
        SelectChoice(code, name) for code, name in names.items() if code not in {"US", "GB"}
    ]
