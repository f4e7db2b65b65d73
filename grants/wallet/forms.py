from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from grants.core.models.gifts import RELATIONSHIP_LABELS


class AskForm(FlaskForm):
    sessions = IntegerField(
        "How many sessions?",
        validators=[
            InputRequired("Enter a number of sessions."),
            NumberRange(min=1, message="Ask for at least one session."),
        ],
    )


class GiftForm(FlaskForm):
    recipient_name = StringField(
        "Their name", validators=[DataRequired("Enter their name."), Length(max=200)]
    )
    recipient_email = EmailField(
        "Their email",
        validators=[DataRequired("Enter their email address."), Length(max=254)],
        description="They get an email with a link to accept or decline.",
    )
    relationship = SelectField(
        "How you know them",
        choices=[
            SelectChoice(value, label.capitalize()) for value, label in RELATIONSHIP_LABELS.items()
        ],
    )
    sessions = IntegerField(
        "Sessions to gift",
        validators=[
            InputRequired("Enter a number of sessions."),
            NumberRange(min=1, message="Gift at least one session."),
        ],
    )
    message = TextAreaField(
        "A short message (optional)",
        validators=[Length(max=280)],
        description="They will see it with the gift. 280 characters at most.",
        render_kw={"rows": 3, "maxlength": 280},
    )
    # Chosen when the form is drawn: it becomes the gift's transfer id, so a double submit
    # gifts once.
    request_id = HiddenField(validators=[DataRequired()])


class AcceptGiftForm(FlaskForm):
    consent = BooleanField(
        "I have read this and I agree",
        validators=[DataRequired("Tick the box to agree before you accept.")],
    )
    consent_text_id = HiddenField()


class BookForm(FlaskForm):
    partner_id = RadioField(
        "Who would you like to see?", coerce=int, validators=[InputRequired("Choose a partner.")]
    )
    request_id = HiddenField(validators=[DataRequired()])
