"""How the hub names topics, channels and opening hours in the reader's language."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.i18n import current_language

TOPIC_LABELS = {
    "crisis": _l("Crisis support"),
    "suicide": _l("Suicidal thoughts"),
    "emotional_support": _l("Someone to talk to"),
    "music_industry": _l("Music industry"),
    "young_people": _l("Young people"),
    "lgbtq": _l("LGBTQ+"),
    "substance_use": _l("Alcohol and drugs"),
    "eating_disorders": _l("Eating disorders"),
    "bereavement": _l("Bereavement"),
}
DASH = "\u2013"  # an en dash joins the ends of a range of days or hours
CHANNEL_LABELS = {
    "phone": _l("Call"),
    "text": _l("Text"),
    "chat": _l("Chat online"),
    "web": _l("Website"),
    "email": _l("Email"),
}


def _locale() -> Locale:
    try:
        return Locale.parse(current_language())
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def language_name(code: str) -> str:
    """ "es" -> "Spanish" in English, "español" in Spanish."""
    return _locale().languages.get(code, code)


def channel_href(channel: dict) -> str:
    value = channel["value"]
    kind = channel["kind"]
    if kind in {"phone", "text"}:
        dial = "".join(ch for ch in value if ch.isdigit() or ch == "+")
        return ("tel:" if kind == "phone" else "sms:") + dial
    if kind == "email":
        return "mailto:" + value
    return value


def dial_href(number: str) -> str:
    """ "999 / 112" -> "tel:999": the first of a country's emergency numbers, digits only."""
    first = number.split("/")[0]
    return "tel:" + "".join(ch for ch in first if ch.isdigit() or ch == "+")


def describe_hours(hours: dict | None) -> str:
    """ "Open 24 hours, every day", or "Mon-Fri 09:00-17:00 · Sat 10:00-14:00 (Europe/London
    time)" (with en dashes), with day names in the reader's language."""
    if hours is None:
        return _("Opening hours: see the source")
    if hours.get("always"):
        return _("Open 24 hours, every day")
    days = _locale().days["format"]["abbreviated"]  # 0 = Monday, as in the directory
    slots = []
    for slot in hours["slots"]:
        runs: list[list[int]] = []
        for day in slot["days"]:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        if len(slot["days"]) == 7:
            slots.append(_("Every day %(times)s", times=f"{slot['opens']}{DASH}{slot['closes']}"))
            continue
        named = ", ".join(
            days[run[0]] if len(run) == 1 else f"{days[run[0]]}{DASH}{days[run[-1]]}"
            for run in runs
        )
        slots.append(f"{named} {slot['opens']}{DASH}{slot['closes']}")
    return _("%(slots)s (%(zone)s time)", slots=" · ".join(slots), zone=hours["time_zone"])


def init_app(app) -> None:
    app.jinja_env.filters.update(
        language_name=language_name, topic_label=lambda code: TOPIC_LABELS.get(code, code)
    )
    app.jinja_env.globals.update(
        topic_label=lambda code: TOPIC_LABELS.get(code, code),
        channel_label=lambda kind: CHANNEL_LABELS.get(kind, kind),
        language_name=language_name,
        channel_href=channel_href,
        dial_href=dial_href,
        describe_hours=describe_hours,
    )
