from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from grants.core.money import CURRENCIES
from grants.forms import region_choices


class ProgrammeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter a code."), Length(max=16)],
        description="Short and in capitals, such as RADAR.",
    )
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=100)])
    consent = TextAreaField(
        "Consent text",
        validators=[DataRequired("Write the consent text.")],
        description="What ambassadors agree to when they join: how their details are used.",
        render_kw={"rows": 10},
    )


class ConsentForm(FlaskForm):
    consent = TextAreaField(
        "New version of the consent text",
        validators=[DataRequired("Write the consent text.")],
        description="Ambassadors who join from now on agree to this version; earlier "
        "agreements stay on record with their version.",
        render_kw={"rows": 10},
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    action = SelectField("Action", validators=[Optional()])
    actor = StringField("Who (email)", validators=[Optional(), Length(max=254)])
    object_type = SelectField("Record type", validators=[Optional()])
    object_id = StringField("Record id", validators=[Optional(), Length(max=64)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])


class PartnerForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("therapy", "Therapy provider (paid per session)"),
            SelectChoice("nonprofit", "Nonprofit (direct support)"),
        ],
    )
    currency = SelectField("Paid in", choices=[SelectChoice(c) for c in CURRENCIES])
    regions = SelectMultipleField(
        "Regions served",
        validators=[DataRequired("Choose at least one region.")],
        render_kw={"size": 6},
    )
    contact_name = StringField("Contact name", validators=[Length(max=200)])
    contact_email = EmailField("Contact email", validators=[Length(max=254)])
    payout_reference = StringField(
        "Payout reference",
        validators=[Length(max=64)],
        description="Only the last four characters are kept, to recognise it on payouts. "
        "Leave empty to keep the current one.",
    )
    active = BooleanField("Active (clients can book, money can be given)", default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.regions.choices = region_choices()


class PartnerUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter their name."), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired("Enter their email."), Length(max=254)])
