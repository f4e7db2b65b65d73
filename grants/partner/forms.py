from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class ConfirmForm(FlaskForm):
    code = StringField(
        "Voucher code",
        validators=[DataRequired("Enter the voucher code."), Length(max=20)],
        description="Eight letters and numbers, as the client gave it to you, such as ACDE-2467.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    session_date = DateField(
        "Date of the session", validators=[InputRequired("Enter the date of the session.")]
    )
    outcome = RadioField(
        "What happened",
        choices=[
            SelectChoice("delivered", "The session took place"),
            SelectChoice("missed", "Cancelled late, or the client did not come"),
        ],
        default="delivered",
    )
