from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from grants.core.money import CURRENCIES


class BuildBatchForm(FlaskForm):
    currency = SelectField(_l("Currency"), choices=[SelectChoice(c) for c in CURRENCIES])
    cutoff = DateField(
        _l("Pay for work and grants up to"), validators=[InputRequired(_l("Enter a cut-off date."))]
    )
    partner_ids = SelectMultipleField(
        _l("Only these partners (optional)"),
        coerce=int,
        validators=[Optional()],
        description=_l("Leave empty to include every partner that is owed something."),
        render_kw={"size": 5},
    )
    request_id = HiddenField(validators=[DataRequired()])


class PayForm(FlaskForm):
    bank_reference = StringField(
        _l("Bank reference"),
        validators=[DataRequired(_l("Enter the bank's reference.")), Length(max=64)],
    )
    paid_on = DateField(_l("Paid on"), validators=[InputRequired(_l("Enter the payment date."))])


class FailForm(FlaskForm):
    reason = StringField(
        _l("Why it failed"),
        validators=[DataRequired(_l("Say why the payment failed.")), Length(max=500)],
    )
