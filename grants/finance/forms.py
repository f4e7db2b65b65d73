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
    currency = SelectField("Currency", choices=[SelectChoice(c) for c in CURRENCIES])
    cutoff = DateField(
        "Pay for work and grants up to", validators=[InputRequired("Enter a cut-off date.")]
    )
    partner_ids = SelectMultipleField(
        "Only these partners (optional)",
        coerce=int,
        validators=[Optional()],
        description="Leave empty to include every partner that is owed something.",
        render_kw={"size": 5},
    )
    request_id = HiddenField(validators=[DataRequired()])


class PayForm(FlaskForm):
    bank_reference = StringField(
        "Bank reference", validators=[DataRequired("Enter the bank's reference."), Length(max=64)]
    )
    paid_on = DateField("Paid on", validators=[InputRequired("Enter the payment date.")])


class FailForm(FlaskForm):
    reason = StringField(
        "Why it failed", validators=[DataRequired("Say why the payment failed."), Length(max=500)]
    )
