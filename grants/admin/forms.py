from flask_babel import lazy_gettext as _l
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
        _l("Code"),
        validators=[DataRequired(_l("Enter a code.")), Length(max=16)],
        description=_l("Short and in capitals, such as RADAR."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=100)])
    consent = TextAreaField(
        _l("Consent text"),
        validators=[DataRequired(_l("Write the consent text."))],
        description=_l("What ambassadors agree to when they join: how their details are used."),
        render_kw={"rows": 10},
    )


class ConsentForm(FlaskForm):
    consent = TextAreaField(
        _l("New version of the consent text"),
        validators=[DataRequired(_l("Write the consent text."))],
        description=_l(
            "Ambassadors who join from now on agree to this version; earlier "
            "agreements stay on record with their version."
        ),
        render_kw={"rows": 10},
    )


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    action = SelectField(_l("Action"), validators=[Optional()])
    actor = StringField(_l("Who (email)"), validators=[Optional(), Length(max=254)])
    object_type = SelectField(_l("Record type"), validators=[Optional()])
    object_id = StringField(_l("Record id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])


class PartnerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("therapy", _l("Therapy provider (paid per session)")),
            SelectChoice("nonprofit", _l("Nonprofit (direct support)")),
        ],
    )
    currency = SelectField(_l("Paid in"), choices=[SelectChoice(c) for c in CURRENCIES])
    regions = SelectMultipleField(
        _l("Regions served"),
        validators=[DataRequired(_l("Choose at least one region."))],
        render_kw={"size": 6},
    )
    contact_name = StringField(_l("Contact name"), validators=[Length(max=200)])
    contact_email = EmailField(_l("Contact email"), validators=[Length(max=254)])
    payout_reference = StringField(
        _l("Payout reference"),
        validators=[Length(max=64)],
        description=_l(
            "Only the last four characters are kept, to recognise it on payouts. "
            "Leave empty to keep the current one."
        ),
    )
    active = BooleanField(_l("Active (clients can book, money can be given)"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.regions.choices = region_choices()


class PartnerUserForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter their name.")), Length(max=200)]
    )
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter their email.")), Length(max=254)]
    )
