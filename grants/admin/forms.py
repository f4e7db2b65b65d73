from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


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
