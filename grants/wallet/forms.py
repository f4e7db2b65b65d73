from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from grants.core.models.gifts import Relationship
from grants.forms import WholeNumberField

# How a giver knows the person (the list in the gift form).
RELATIONSHIP_CHOICES = {
    Relationship.BANDMATE: _l("A bandmate"),
    Relationship.CREW: _l("Crew"),
    Relationship.TEAM: _l("Team or management"),
    Relationship.OTHER: _l("Someone else"),
}


class AskForm(FlaskForm):
    sessions = WholeNumberField(
        _l("How many sessions?"),
        validators=[
            InputRequired(_l("Enter a number of sessions.")),
            NumberRange(min=1, message=_l("Ask for at least one session.")),
        ],
    )


class GiftForm(FlaskForm):
    recipient_name = StringField(
        _l("Their name"), validators=[DataRequired(_l("Enter their name.")), Length(max=200)]
    )
    recipient_email = EmailField(
        _l("Their email"),
        validators=[DataRequired(_l("Enter their email address.")), Length(max=254)],
        description=_l("They get an email with a link to accept or decline."),
    )
    relationship = SelectField(
        _l("How you know them"),
        choices=[SelectChoice(value, label) for value, label in RELATIONSHIP_CHOICES.items()],
    )
    sessions = WholeNumberField(
        _l("Sessions to gift"),
        validators=[
            InputRequired(_l("Enter a number of sessions.")),
            NumberRange(min=1, message=_l("Gift at least one session.")),
        ],
    )
    message = TextAreaField(
        _l("A short message (optional)"),
        validators=[Length(max=280)],
        description=_l("They will see it with the gift. 280 characters at most."),
        render_kw={"rows": 3, "maxlength": 280},
    )
    # Chosen when the form is drawn: it becomes the gift's transfer id, so a double submit
    # gifts once.
    request_id = HiddenField(validators=[DataRequired()])


class AcceptGiftForm(FlaskForm):
    consent = BooleanField(
        _l("I have read this and I agree"),
        validators=[DataRequired(_l("Tick the box to agree before you accept."))],
    )
    consent_text_id = HiddenField()


class BookForm(FlaskForm):
    partner_id = RadioField(
        _l("Who would you like to see?"),
        coerce=int,
        validators=[InputRequired(_l("Choose a partner."))],
    )
    request_id = HiddenField(validators=[DataRequired()])
