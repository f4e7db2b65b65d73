from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange


class AskForm(FlaskForm):
    sessions = IntegerField(
        "How many sessions?",
        validators=[
            InputRequired("Enter a number of sessions."),
            NumberRange(min=1, message="Ask for at least one session."),
        ],
    )
