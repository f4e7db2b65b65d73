from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation

from grants.core.models.cohorts import CohortStatus
from grants.core.money import CURRENCIES
from grants.forms import WholeNumberField, region_choices
from grants.labels import COHORT


def finite_amount(form, field) -> None:
    """Refuse NaN and infinities before any range check compares them (which would crash)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation(_l("Enter an amount of money."))


class CohortForm(FlaskForm):
    programme_id = SelectField(_l("Programme"), coerce=int)
    region = SelectField(_l("Region"))
    intake_name = StringField(
        _l("Intake"),
        validators=[DataRequired(_l("Name the intake, such as 2027.")), Length(max=60)],
        description=_l("For example 2027, or Spring 2027."),
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(status.value, COHORT[status.value]) for status in CohortStatus],
    )
    currency = SelectField(_l("Currency"), choices=[SelectChoice(code) for code in CURRENCIES])
    session_value = DecimalField(
        _l("Value of one session"),
        validators=[
            InputRequired(_l("Enter what one session is worth.")),
            finite_amount,
            NumberRange(
                min=Decimal("0.01"),
                max=Decimal("100000"),
                message=_l("A session is worth between 0.01 and 100,000."),
            ),
        ],
        description=_l("What a partner is paid for one delivered session, such as 120.00."),
    )
    session_allowance = WholeNumberField(
        _l("Sessions per ambassador"),
        validators=[
            InputRequired(_l("Enter how many sessions each ambassador may receive.")),
            NumberRange(min=1, max=1000),
        ],
    )
    session_budget = WholeNumberField(
        _l("Session budget"),
        validators=[
            InputRequired(_l("Enter the cohort's budget in sessions.")),
            NumberRange(min=0, max=10_000_000),
        ],
        description=_l("How many sessions the cohort plans to fund in all."),
    )
    gift_expiry_days = WholeNumberField(
        _l("Days before an unaccepted gift expires"),
        default=30,
        validators=[InputRequired(_l("Enter a number of days.")), NumberRange(min=1, max=365)],
    )
    approval_threshold = WholeNumberField(
        _l("Two approvals for grants above"),
        default=6,
        validators=[InputRequired(_l("Enter a number of sessions.")), NumberRange(min=0, max=1000)],
        description=_l(
            "A grant of more sessions than this needs a second member of staff to "
            "approve it. 0 means every grant needs two approvals."
        ),
    )
    upfront_allowance = BooleanField(
        _l("Issue the whole allowance when an ambassador joins"),
        description=_l("Otherwise ambassadors ask for sessions and staff approve them."),
    )
    allow_regift = BooleanField(
        _l("People who were gifted sessions may gift them on"),
        description=_l("Ambassadors can always gift. Most programmes leave this off."),
    )
    gift_limit_per_recipient = WholeNumberField(
        _l("The most sessions one person can receive from one giver"),
        default=6,
        validators=[InputRequired(_l("Enter a number of sessions.")), NumberRange(min=1, max=1000)],
    )
    open_gift_limit = WholeNumberField(
        _l("The most gifts one giver can have waiting for an answer"),
        default=5,
        validators=[InputRequired(_l("Enter a number of gifts.")), NumberRange(min=1, max=1000)],
    )
    starts_on = DateField(_l("Starts on"), validators=[InputRequired(_l("Enter a start date."))])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired(_l("Enter an end date."))])

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.programme_id.choices = [SelectChoice(p.id, p.code) for p in programmes]
        self.region.choices = region_choices()


class FundForm(FlaskForm):
    sessions = WholeNumberField(
        _l("Sessions to fund"),
        validators=[
            InputRequired(_l("Enter a number of sessions.")),
            NumberRange(min=1, message=_l("Fund at least one session.")),
        ],
    )
    # Chosen when the form is drawn: it becomes the transfer id, so a double submit
    # funds once.
    request_id = HiddenField(validators=[DataRequired()])


class InviteForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter their name.")), Length(max=200)]
    )
    artist_name = StringField(
        _l("Artist or project name"),
        validators=[DataRequired(_l("Enter an artist or project name.")), Length(max=200)],
    )
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter their email address.")), Length(max=254)]
    )
    country = SelectField(_l("Country"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = region_choices()


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file.")),
            FileAllowed(["csv"], _l("Choose a file ending in .csv.")),
        ],
        description=_l(
            "Columns: name, artist_name, email, country (two letters, such as US or GB)."
        ),
    )


class ApproveForm(FlaskForm):
    sessions = WholeNumberField(
        _l("Sessions to approve"),
        validators=[
            InputRequired(_l("Enter a number of sessions.")),
            NumberRange(min=1, message=_l("Approve at least one session, or decline.")),
        ],
    )


class DeclineForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the ambassador"),
        validators=[DataRequired(_l("Write a short message saying why.")), Length(max=1000)],
        description=_l(
            "They will read this in an email. Keep it kind and practical; never "
            "write anything about their health."
        ),
        render_kw={"rows": 4},
    )


class PartnerGrantForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int)
    request_id = HiddenField(validators=[DataRequired()])
    amount = DecimalField(
        _l("Amount"),
        validators=[
            InputRequired(_l("Enter an amount.")),
            finite_amount,
            NumberRange(
                min=Decimal("0.01"),
                max=Decimal("1000000"),
                message=_l("Enter an amount between 0.01 and 1,000,000."),
            ),
        ],
        description=_l("In the partner's currency."),
    )
    purpose = TextAreaField(
        _l("What it is for"),
        validators=[DataRequired(_l("Say what the money is for.")), Length(max=500)],
        render_kw={"rows": 3},
    )
