from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class ConfirmForm(FlaskForm):
    code = StringField(
        _l("Voucher code"),
        validators=[DataRequired(_l("Enter the voucher code.")), Length(max=20)],
        description=_l(
            "Eight letters and numbers, as the client gave it to you, such as ACDE-2467."
        ),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    session_date = DateField(
        _l("Date of the session"), validators=[InputRequired(_l("Enter the date of the session."))]
    )
    outcome = RadioField(
        _l("What happened"),
        choices=[
            SelectChoice("delivered", _l("The session took place")),
            SelectChoice("missed", _l("Cancelled late, or the client did not come")),
        ],
        default="delivered",
    )
