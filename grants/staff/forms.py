from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation

from grants.core.models.cohorts import CohortStatus
from grants.core.money import CURRENCIES
from grants.forms import region_choices


def finite_amount(form, field) -> None:
    """Refuse NaN and infinities before any range check compares them (which would crash)."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Enter an amount of money.")


class CohortForm(FlaskForm):
    programme_id = SelectField("Programme", coerce=int)
    region = SelectField("Region")
    intake_name = StringField(
        "Intake",
        validators=[DataRequired("Name the intake, such as 2027."), Length(max=60)],
        description="For example 2027, or Spring 2027.",
    )
    status = SelectField(
        "Status",
        choices=[SelectChoice(status.value, status.value.title()) for status in CohortStatus],
    )
    currency = SelectField("Currency", choices=[SelectChoice(code) for code in CURRENCIES])
    session_value = DecimalField(
        "Value of one session",
        validators=[
            InputRequired("Enter what one session is worth."),
            finite_amount,
            NumberRange(
                min=Decimal("0.01"),
                max=Decimal("100000"),
                message="A session is worth between 0.01 and 100,000.",
            ),
        ],
        description="What a partner is paid for one delivered session, such as 120.00.",
    )
    session_allowance = IntegerField(
        "Sessions per ambassador",
        validators=[
            InputRequired("Enter how many sessions each ambassador may receive."),
            NumberRange(min=1, max=1000),
        ],
    )
    session_budget = IntegerField(
        "Session budget",
        validators=[
            InputRequired("Enter the cohort's budget in sessions."),
            NumberRange(min=0, max=10_000_000),
        ],
        description="How many sessions the cohort plans to fund in all.",
    )
    gift_expiry_days = IntegerField(
        "Days before an unaccepted gift expires",
        default=30,
        validators=[InputRequired("Enter a number of days."), NumberRange(min=1, max=365)],
    )
    approval_threshold = IntegerField(
        "Two approvals for grants above",
        default=6,
        validators=[InputRequired("Enter a number of sessions."), NumberRange(min=0, max=1000)],
        description="A grant of more sessions than this needs a second member of staff to "
        "approve it. 0 means every grant needs two approvals.",
    )
    upfront_allowance = BooleanField(
        "Issue the whole allowance when an ambassador joins",
        description="Otherwise ambassadors ask for sessions and staff approve them.",
    )
    allow_regift = BooleanField(
        "People who were gifted sessions may gift them on",
        description="Ambassadors can always gift. Most programmes leave this off.",
    )
    gift_limit_per_recipient = IntegerField(
        "The most sessions one person can receive from one giver",
        default=6,
        validators=[InputRequired("Enter a number of sessions."), NumberRange(min=1, max=1000)],
    )
    open_gift_limit = IntegerField(
        "The most gifts one giver can have waiting for an answer",
        default=5,
        validators=[InputRequired("Enter a number of gifts."), NumberRange(min=1, max=1000)],
    )
    starts_on = DateField("Starts on", validators=[InputRequired("Enter a start date.")])
    ends_on = DateField("Ends on", validators=[InputRequired("Enter an end date.")])

    def __init__(self, *args, programmes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.programme_id.choices = [SelectChoice(p.id, p.code) for p in programmes]
        self.region.choices = region_choices()


class FundForm(FlaskForm):
    sessions = IntegerField(
        "Sessions to fund",
        validators=[
            InputRequired("Enter a number of sessions."),
            NumberRange(min=1, message="Fund at least one session."),
        ],
    )
    # Chosen when the form is drawn: it becomes the transfer id, so a double submit
    # funds once.
    request_id = HiddenField(validators=[DataRequired()])


class InviteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter their name."), Length(max=200)])
    artist_name = StringField(
        "Artist or project name",
        validators=[DataRequired("Enter an artist or project name."), Length(max=200)],
    )
    email = EmailField(
        "Email", validators=[DataRequired("Enter their email address."), Length(max=254)]
    )
    country = SelectField("Country")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = region_choices()


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[
            FileRequired("Choose a CSV file."),
            FileAllowed(["csv"], "Choose a file ending in .csv."),
        ],
        description="Columns: name, artist_name, email, country (two letters, such as US or GB).",
    )


class ApproveForm(FlaskForm):
    sessions = IntegerField(
        "Sessions to approve",
        validators=[
            InputRequired("Enter a number of sessions."),
            NumberRange(min=1, message="Approve at least one session, or decline."),
        ],
    )


class DeclineForm(FlaskForm):
    message = TextAreaField(
        "Message to the ambassador",
        validators=[DataRequired("Write a short message saying why."), Length(max=1000)],
        description="They will read this in an email. Keep it kind and practical; never "
        "write anything about their health.",
        render_kw={"rows": 4},
    )


class PartnerGrantForm(FlaskForm):
    partner_id = SelectField("Partner", coerce=int)
    request_id = HiddenField(validators=[DataRequired()])
    amount = DecimalField(
        "Amount",
        validators=[
            InputRequired("Enter an amount."),
            finite_amount,
            NumberRange(
                min=Decimal("0.01"),
                max=Decimal("1000000"),
                message="Enter an amount between 0.01 and 1,000,000.",
            ),
        ],
        description="In the partner's currency.",
    )
    purpose = TextAreaField(
        "What it is for",
        validators=[DataRequired("Say what the money is for."), Length(max=500)],
        render_kw={"rows": 3},
    )
