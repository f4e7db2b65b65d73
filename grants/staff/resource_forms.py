"""The form staff use to add and edit entries of the resource hub."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import InputRequired, Length

from grants.core.resources import TOPICS
from grants.forms import region_choices
from grants.resources.words import TOPIC_LABELS


class CheckboxesField(SelectMultipleField):
    """A set of checkboxes: easier than a multiple select on a phone, and works without JS."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ResourceForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the service's name.")), Length(max=200)]
    )
    country = SelectField(_l("Country"))
    languages = StringField(
        _l("Languages"),
        validators=[InputRequired(_l("Give at least one language, such as en.")), Length(max=200)],
        description=_l("Two-letter codes, separated by commas: en, es."),
    )
    topics = CheckboxesField(
        _l("Who it helps"), choices=[SelectChoice(code, TOPIC_LABELS[code]) for code in TOPICS]
    )
    channels = TextAreaField(
        _l("How to reach them"),
        validators=[
            InputRequired(_l("Give at least one way to reach the service.")),
            Length(max=2000),
        ],
        description=_l(
            "One per line, in the order to try them: phone: 116 123, text: 85258 (SHOUT), "
            "chat: https://..., web: https://..., email: name@example.org"
        ),
        render_kw={"rows": 5},
    )
    hours = StringField(
        _l("Opening hours"),
        validators=[Length(max=300)],
        description=_l(
            "24/7, or a time zone then times: Europe/London: Mon-Fri 09:00-17:00; "
            "Sat 10:00-14:00. Leave empty if the source does not say."
        ),
    )
    free = RadioField(
        _l("Free to use"),
        choices=[
            SelectChoice("yes", _l("Free")),
            SelectChoice("no", _l("There may be a cost")),
            SelectChoice("unknown", _l("Not stated")),
        ],
        default="unknown",
    )
    source = StringField(
        _l("Source"),
        validators=[
            InputRequired(_l("Give the public page these facts came from.")),
            Length(max=500),
        ],
        description=_l("The public web page that states the number and hours."),
    )
    checked_on = DateField(
        _l("Checked on"),
        validators=[InputRequired(_l("Give the date someone last checked it against the source."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = region_choices()

    def as_entry(self) -> dict:
        from grants.core.resources import channels_from_text, hours_from_text

        return {
            "name": self.name.data,
            "country": self.country.data,
            "languages": self.languages.data,
            "topics": self.topics.data,
            "channels": channels_from_text(self.channels.data or ""),
            "hours": hours_from_text(self.hours.data or ""),
            "free": self.free.data,
            "source": self.source.data,
            "checked_on": self.checked_on.data,
        }


class EmergencyNumberForm(FlaskForm):
    country = SelectField(_l("Country"))
    number = StringField(
        _l("Emergency number"),
        validators=[InputRequired(_l("Give the number to dial.")), Length(max=40)],
    )
    source = StringField(
        _l("Source"),
        validators=[
            InputRequired(_l("Give the public page these facts came from.")),
            Length(max=500),
        ],
    )
    checked_on = DateField(
        _l("Checked on"),
        validators=[InputRequired(_l("Give the date someone last checked it against the source."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = region_choices()
