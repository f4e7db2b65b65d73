"""The resource hub: checking directory entries, finding the right ones for a visitor,
staff edits, staleness, and bulk import and export (JSON or CSV).

A wrong number here can hurt someone, so every entry names the public source its facts
came from and the date someone last checked it; entries unchecked for a year are flagged.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit
from grants.core.clock import clock
from grants.core.countries import country_names, normalise_country
from grants.core.errors import DomainError, InvalidInput, NotFound
from grants.core.i18n import _
from grants.core.models.people import User
from grants.core.models.resources import EmergencyNumber, Resource
from grants.core.payout_reports import FORMULA_STARTS, cell

SEED_FILE = Path(__file__).resolve().parent / "data" / "resources.json"

TOPICS = (
    "crisis",
    "suicide",
    "emotional_support",
    "music_industry",
    "young_people",
    "lgbtq",
    "substance_use",
    "eating_disorders",
    "bereavement",
)
CHANNEL_KINDS = ("phone", "text", "chat", "web", "email")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # the CSV and form spelling
STALE_AFTER_MONTHS = 12
MAX_ENTRIES = 5_000
CSV_COLUMNS = (
    "country",
    "name",
    "languages",
    "topics",
    "channels",
    "hours",
    "free",
    "source",
    "checked_on",
    "retired",
)

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{1,38}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class DirectoryInvalid(DomainError):
    """An import with bad rows: `problems` lists them; nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            _("%(count)s rows could not be read; nothing was imported.", count=len(problems))
        )
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based, counting entries (CSV: the header is row 1, the first entry row 2)
    message: str


# --- checking one entry -----------------------------------------------------------------


@cache
def _language_codes() -> frozenset[str]:
    import pycountry

    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _text(value: Any, limit: int, what) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise InvalidInput(_("%(what)s is needed.", what=what))
    if len(text) > limit:
        raise InvalidInput(
            _("%(what)s is too long (%(limit)s characters at most).", what=what, limit=limit)
        )
    return text


def _list(value: Any) -> list:
    """A list, or text of comma- or space-separated words (forms and CSV)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [word for word in re.split(r"[,\s]+", value) if word]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise InvalidInput(_("Expected a list."))


def check_languages(value: Any) -> list[str]:
    codes = []
    for code in _list(value):
        code = str(code).strip().lower()
        if code not in _language_codes():
            raise InvalidInput(
                _("%(code)s is not a language code; use two letters such as en or es.", code=code)
            )
        if code not in codes:
            codes.append(code)
    if not codes:
        raise InvalidInput(_("Give at least one language, such as en."))
    return codes


def check_topics(value: Any) -> list[str]:
    topics = []
    for topic in _list(value):
        topic = str(topic).strip().lower()
        if topic not in TOPICS:
            raise InvalidInput(
                _(
                    "%(topic)s is not a topic; use %(topics)s.",
                    topic=topic,
                    topics=", ".join(TOPICS),
                )
            )
        if topic not in topics:
            topics.append(topic)
    if not topics:
        raise InvalidInput(_("Choose at least one topic."))
    return topics


def check_channel(raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise InvalidInput(_("A channel is a kind and a value, such as phone: 116 123."))
    kind = str(raw.get("kind") or "").strip().lower()
    if kind not in CHANNEL_KINDS:
        raise InvalidInput(
            _(
                "%(kind)s is not a channel; use %(kinds)s.",
                kind=kind or "?",
                kinds=", ".join(CHANNEL_KINDS),
            )
        )
    value = _text(raw.get("value"), 200, _("A channel's number or address"))
    if kind in {"phone", "text"} and not _PHONE.match(value):
        raise InvalidInput(_("%(value)s is not a phone number.", value=value))
    if kind in {"chat", "web"} and not _URL.match(value):
        raise InvalidInput(_("%(value)s is not a web address (https://...).", value=value))
    if kind == "email" and not _EMAIL.match(value):
        raise InvalidInput(_("%(value)s is not an email address.", value=value))
    channel = {"kind": kind, "value": value}
    keyword = " ".join(str(raw.get("keyword") or "").split())
    if keyword:
        if kind != "text" or len(keyword) > 40:
            raise InvalidInput(_("Only a text channel has a keyword (40 characters at most)."))
        channel["keyword"] = keyword
    return channel


def check_channels(value: Any) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(_("Give at least one way to reach the service."))
    if len(value) > 10:
        raise InvalidInput(_("Ten channels at most."))
    return [check_channel(raw) for raw in value]


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_hours(value: Any) -> dict | None:
    """None (see the source), always open, or opening slots in a time zone."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(_("Opening hours are not in a form the directory can read."))
    if _check_bool(value.get("always"), _("Always open")):
        return {"always": True}
    zone = str(value.get("time_zone") or "").strip()
    if zone not in _time_zones():
        raise InvalidInput(
            _("%(zone)s is not a time zone; use a name such as Europe/London.", zone=zone or "?")
        )
    slots = value.get("slots")
    if not isinstance(slots, list) or not 1 <= len(slots) <= 14:
        raise InvalidInput(_("Give the opening hours, or say the line is always open."))
    checked = []
    for slot in slots:
        if not isinstance(slot, dict):
            raise InvalidInput(_("Opening hours are not in a form the directory can read."))
        days = slot.get("days")
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(day, int) or isinstance(day, bool) for day in days)
            or any(not 0 <= day <= 6 for day in days)
        ):
            raise InvalidInput(_("Each opening time needs its days, Monday to Sunday."))
        opens, closes = str(slot.get("opens", "")), str(slot.get("closes", ""))
        if not (_TIME.match(opens) and _TIME.match(closes)) or opens == "24:00":
            raise InvalidInput(_("Times are written as 09:00 or 17:30."))
        if _minutes(opens) >= _minutes(closes):
            raise InvalidInput(
                _(
                    "A line cannot close (%(closes)s) before it opens (%(opens)s); split a "
                    "night across midnight into two times.",
                    opens=opens,
                    closes=closes,
                )
            )
        checked.append({"days": sorted(set(days)), "opens": opens, "closes": closes})
    return {"always": False, "time_zone": zone, "slots": checked}


def _check_date(value: Any) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value or "").strip())
        except ValueError:
            raise InvalidInput(
                _("The date it was checked is written as 2026-11-25 (year-month-day).")
            ) from None
    if value > clock.today():
        raise InvalidInput(_("The date it was checked cannot be in the future."))
    return value


def _check_bool(value: Any, what) -> bool:
    """Yes or no, as JSON (true/false) or as text; "false" is never taken for yes."""
    if value is None or value == "" or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"yes", "true", "1"}:
        return True
    if text in {"no", "false", "0"}:
        return False
    raise InvalidInput(_("%(what)s is yes or no.", what=what))


def _check_free(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"yes", "true", "free", "1"}:
        return True
    if text in {"no", "false", "0", "paid"}:
        return False
    if text in {"unknown", "?"}:
        return None
    raise InvalidInput(_("Free is yes, no or unknown."))


@dataclass
class Entry:
    """A checked directory entry, ready to store."""

    name: str
    country: str
    languages: list[str]
    topics: list[str]
    channels: list[dict]
    hours: dict | None
    free: bool | None
    source: str
    checked_on: date
    retired: bool = False


def check_entry(raw: dict) -> Entry:
    """Every field of an entry, checked; InvalidInput names the first thing wrong."""
    source = _text(raw.get("source"), 500, _("The source's address"))
    if not _URL.match(source):
        raise InvalidInput(_("The source is the public web page the facts came from."))
    return Entry(
        name=_text(raw.get("name"), 200, _("A name")),
        country=normalise_country(str(raw.get("country") or "")),
        languages=check_languages(raw.get("languages")),
        topics=check_topics(raw.get("topics")),
        channels=check_channels(raw.get("channels")),
        hours=check_hours(raw.get("hours")),
        free=_check_free(raw.get("free")),
        source=source,
        checked_on=_check_date(raw.get("checked_on")),
        retired=_check_bool(raw.get("retired"), _("Retired")),
    )


# --- the compact text forms (CSV cells and the staff form) ------------------------------


def channels_to_text(channels: list[dict]) -> str:
    """One channel per line: "phone: 116 123", "text: 85258 (SHOUT)"."""
    lines = []
    for channel in channels:
        keyword = f" ({channel['keyword']})" if channel.get("keyword") else ""
        lines.append(f"{channel['kind']}: {channel['value']}{keyword}")
    return "\n".join(lines)


def channels_from_text(text: str) -> list[dict]:
    channels = []
    lines = re.split(r"[\n|]", text or "")
    if len(lines) > 20:
        raise InvalidInput(_("Ten channels at most."))
    for line in lines:
        line = line.strip()
        if not line:
            continue
        kind, colon, value = line.partition(":")
        if not colon:
            raise InvalidInput(
                _(
                    "Write each channel as kind: value, such as phone: 116 123 (%(line)s).",
                    line=line,
                )
            )
        value = value.strip()[:300]
        keyword = None
        # "85258 (SHOUT)": the keyword in brackets at the end (split, not a regex, so a
        # long line cannot make it slow).
        if kind.strip().lower() == "text" and value.endswith(")") and "(" in value:
            number, _bracket, keyword = value[:-1].rpartition("(")
            value, keyword = number.strip(), keyword.strip()
        channels.append({"kind": kind.strip(), "value": value, "keyword": keyword})
    return channels


def hours_to_text(hours: dict | None) -> str:
    """ "" (see the source), "24/7", or "Europe/London: Mon-Fri 09:00-17:00; Sat 10:00-14:00"."""
    if hours is None:
        return ""
    if hours.get("always"):
        return "24/7"
    parts = [
        f"{_days_to_text(slot['days'])} {slot['opens']}-{slot['closes']}" for slot in hours["slots"]
    ]
    return f"{hours['time_zone']}: " + "; ".join(parts)


def _days_to_text(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAYS[run[0]] if len(run) == 1 else f"{DAYS[run[0]]}-{DAYS[run[-1]]}" for run in runs
    )


def hours_from_text(text: str) -> dict | None:
    text = (text or "").strip()
    if not text:
        return None
    if text.lower() in {"24/7", "always"}:
        return {"always": True}
    zone, colon, rest = text.partition(":")
    if not colon or not rest.strip():
        raise InvalidInput(
            _("Write hours as 24/7, or as Europe/London: Mon-Fri 09:00-17:00; Sat 10:00-14:00.")
        )
    slots = []
    for part in rest.split(";"):
        part = part.strip()
        found = re.match(r"^(\S+)\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)$", part)
        if not found:
            raise InvalidInput(
                _("%(part)s is not an opening time such as Mon-Fri 09:00-17:00.", part=part)
            )
        slots.append(
            {
                "days": _days_from_text(found.group(1)),
                "opens": found.group(2),
                "closes": found.group(3),
            }
        )
    return {"always": False, "time_zone": zone.strip(), "slots": slots}


def _days_from_text(text: str) -> list[int]:
    index = {name.lower(): number for number, name in enumerate(DAYS)}
    days: list[int] = []
    for piece in text.split(","):
        first, dash, last = piece.partition("-")
        try:
            start = index[first.strip().lower()[:3]]
            end = index[last.strip().lower()[:3]] if dash else start
        except KeyError:
            raise InvalidInput(
                _("%(days)s are not days; use Mon, Tue, Wed, Thu, Fri, Sat, Sun.", days=text)
            ) from None
        if end < start:
            raise InvalidInput(_("%(days)s are not days in order, Monday first.", days=text))
        days.extend(range(start, end + 1))
    return days


# --- finding entries --------------------------------------------------------------------


@dataclass
class CountryGroup:
    country: str
    name: str
    emergency: EmergencyNumber | None
    entries: list[Resource] = field(default_factory=list)


@dataclass(frozen=True)
class Search:
    country: str | None = None
    language: str | None = None
    topic: str | None = None
    channel: str | None = None
    query: str = ""


def localised_country_names(locale: str) -> dict[str, str]:
    """Country names as the reader writes them ("Reino Unido" in Spanish)."""
    try:
        territories = Locale.parse(locale).territories
    except (ValueError, UnknownLocaleError):
        territories = {}
    return {code: territories.get(code, name) for code, name in country_names().items()}


def find(
    session: Session, search: Search, *, visitor_country: str | None, locale: str = "en"
) -> list[CountryGroup]:
    """Active entries matching `search`, grouped by country: the visitor's country first,
    then the rest by name in the reader's language."""
    query = select(Resource).where(Resource.retired_at.is_(None))
    if search.country:
        query = query.where(Resource.country == search.country)
    needle = search.query.casefold().strip()
    names = localised_country_names(locale)
    entries = [
        entry
        for entry in session.scalars(query.order_by(Resource.name)).all()
        if (not search.language or search.language in entry.languages)
        and (not search.topic or search.topic in entry.topics)
        and (not search.channel or any(c["kind"] == search.channel for c in entry.channels))
        and (not needle or _matches(entry, needle, names))
    ]
    groups: dict[str, CountryGroup] = {}
    entries.sort(key=_priority)
    for entry in entries:
        groups.setdefault(
            entry.country,
            CountryGroup(entry.country, names.get(entry.country, entry.country), None),
        ).entries.append(entry)
    # The chosen country's emergency number shows even when no line matches the filters.
    if search.country and search.country not in groups:
        groups[search.country] = CountryGroup(
            search.country, names.get(search.country, search.country), None
        )
    numbers = {
        number.country: number
        for number in session.scalars(
            select(EmergencyNumber).where(EmergencyNumber.country.in_(list(groups)))
        )
    }
    for group in groups.values():
        group.emergency = numbers.get(group.country)
    return sorted(
        groups.values(), key=lambda group: (group.country != visitor_country, group.name.casefold())
    )


def _priority(entry: Resource) -> tuple:
    """Within a country: crisis lines first, then those always open, then by name."""
    return (
        not {"crisis", "suicide"} & set(entry.topics),
        not (entry.hours or {}).get("always"),
        entry.name.casefold(),
    )


def _matches(entry: Resource, needle: str, names: dict[str, str]) -> bool:
    haystack = " ".join(
        [entry.name, names.get(entry.country, ""), *(c["value"] for c in entry.channels)]
    )
    return needle in haystack.casefold()


def countries_listed(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Resource.country).where(Resource.retired_at.is_(None)).distinct()
        ).all()
    )


def emergency_number(session: Session, country: str | None) -> EmergencyNumber | None:
    return session.get(EmergencyNumber, country) if country else None


def help_lines(session: Session, country: str | None, limit: int = 2) -> list[Resource]:
    """A country's crisis lines for the wallet home: always-open and free first."""
    if not country:
        return []
    entries = session.scalars(
        select(Resource).where(Resource.country == country, Resource.retired_at.is_(None))
    ).all()
    crisis = [entry for entry in entries if {"crisis", "suicide"} & set(entry.topics)]
    return sorted(crisis, key=_priority)[:limit]


# --- staleness --------------------------------------------------------------------------


def stale_before(today: date) -> date:
    """Entries last checked on or before this date are due a check (12 months)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def is_stale(entry: Resource | EmergencyNumber, today: date | None = None) -> bool:
    return entry.checked_on <= stale_before(today or clock.today())


def stale_entries(session: Session) -> list[Resource]:
    return list(
        session.scalars(
            select(Resource)
            .where(
                Resource.retired_at.is_(None),
                Resource.checked_on <= stale_before(clock.today()),
            )
            .order_by(Resource.checked_on, Resource.id)
        )
    )


# --- staff edits ------------------------------------------------------------------------


def _apply(resource: Resource, entry: Entry, actor: User | None) -> None:
    resource.name = entry.name
    resource.country = entry.country
    resource.languages = entry.languages
    resource.topics = entry.topics
    resource.channels = entry.channels
    resource.hours = entry.hours
    resource.free = entry.free
    resource.source = entry.source
    resource.checked_on = entry.checked_on
    resource.updated_at = clock.now()
    resource.updated_by_id = actor.id if actor else None


def _same_name(session: Session, entry: Entry, not_id: int | None = None) -> Resource | None:
    for other in session.scalars(select(Resource).where(Resource.country == entry.country)):
        if other.name.casefold() == entry.name.casefold() and other.id != not_id:
            return other
    return None


def add_entry(session: Session, actor: User, raw: dict) -> Resource:
    entry = check_entry(raw)
    if _same_name(session, entry):
        raise InvalidInput(_("%(name)s is already listed for this country.", name=entry.name))
    resource = Resource()
    _apply(resource, entry, actor)
    session.add(resource)
    session.flush()
    audit.record(session, actor, "resource.added", resource, country=entry.country)
    return resource


def edit_entry(session: Session, actor: User, resource_id: int, raw: dict) -> Resource:
    resource = _get(session, resource_id)
    entry = check_entry(raw)
    if _same_name(session, entry, not_id=resource.id):
        raise InvalidInput(_("%(name)s is already listed for this country.", name=entry.name))
    _apply(resource, entry, actor)
    audit.record(session, actor, "resource.edited", resource, country=entry.country)
    return resource


def mark_checked(session: Session, actor: User, resource_id: int) -> Resource:
    """Someone compared the entry with its source today and found it right."""
    resource = _get(session, resource_id)
    resource.checked_on = clock.today()
    resource.updated_at = clock.now()
    resource.updated_by_id = actor.id
    audit.record(session, actor, "resource.checked", resource)
    return resource


def retire_entry(session: Session, actor: User, resource_id: int) -> Resource:
    resource = _get(session, resource_id)
    if resource.retired_at is None:  # a second click changes nothing
        resource.retired_at = clock.now()
        resource.updated_by_id = actor.id
        audit.record(session, actor, "resource.retired", resource)
    return resource


def restore_entry(session: Session, actor: User, resource_id: int) -> Resource:
    resource = _get(session, resource_id)
    if resource.retired_at is not None:
        if _same_name(session, _as_entry(resource), not_id=resource.id):
            raise InvalidInput(
                _("%(name)s is already listed for this country.", name=resource.name)
            )
        resource.retired_at = None
        resource.updated_by_id = actor.id
        audit.record(session, actor, "resource.restored", resource)
    return resource


def _get(session: Session, resource_id: int) -> Resource:
    resource = session.get(Resource, resource_id, with_for_update=True)
    if resource is None:
        raise NotFound(_("There is no such entry in the directory."))
    return resource


def _as_entry(resource: Resource) -> Entry:
    return Entry(
        name=resource.name,
        country=resource.country,
        languages=list(resource.languages),
        topics=list(resource.topics),
        channels=list(resource.channels),
        hours=resource.hours,
        free=resource.free,
        source=resource.source,
        checked_on=resource.checked_on,
        retired=resource.retired_at is not None,
    )


def check_emergency_number(raw: dict) -> dict:
    country = normalise_country(str(raw.get("country") or ""))
    number = _text(raw.get("number"), 40, _("The emergency number"))
    if not _PHONE.match(number) and not re.fullmatch(r"[0-9]{2,4}( / [0-9]{2,4})*", number):
        raise InvalidInput(_("%(value)s is not a phone number.", value=number))
    source = _text(raw.get("source"), 500, _("The source's address"))
    if not _URL.match(source):
        raise InvalidInput(_("The source is the public web page the facts came from."))
    return {
        "country": country,
        "number": number,
        "source": source,
        "checked_on": _check_date(raw.get("checked_on")),
    }


def set_emergency_number(session: Session, actor: User | None, raw: dict) -> EmergencyNumber:
    checked = check_emergency_number(raw)
    return _store_emergency_number(session, actor, checked)


def _store_emergency_number(session: Session, actor: User | None, checked: dict):
    row = session.get(EmergencyNumber, checked["country"])
    if row is not None and (row.number, row.source, row.checked_on) == (
        checked["number"],
        checked["source"],
        checked["checked_on"],
    ):
        return row  # unchanged: nothing to record
    row = row or EmergencyNumber(country=checked["country"])
    row.number, row.source, row.checked_on = (
        checked["number"],
        checked["source"],
        checked["checked_on"],
    )
    session.add(row)
    audit.record(session, actor, "resource.emergency_number_set", None, country=checked["country"])
    return row


# --- import and export ------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    emergency_numbers: int = 0


def read_json(data: bytes) -> dict:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(_("The file is not JSON in UTF-8.")) from None
    if isinstance(document, list):
        document = {"resources": document}
    if not isinstance(document, dict) or not isinstance(document.get("resources", []), list):
        raise InvalidInput(_("The JSON needs a list of resources."))
    numbers = document.get("emergency_numbers", [])
    if not isinstance(numbers, list):
        raise InvalidInput(_("The JSON's emergency numbers are a list."))
    return {"resources": document.get("resources", []), "emergency_numbers": numbers}


def read_csv(data: bytes) -> dict:
    """A CSV of the columns in CSV_COLUMNS: channels one per line (or split by "|"), hours
    in the compact form of hours_to_text, lists split by commas or spaces."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not CSV in UTF-8.")) from None
    try:
        return _read_csv(text)
    except csv.Error:
        raise InvalidInput(_("The file is not CSV a spreadsheet can read.")) from None


def _read_csv(text: str) -> dict:
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in CSV_COLUMNS if column not in header and column != "retired"]
    if missing:
        raise InvalidInput(_("The CSV has no %(columns)s column.", columns=", ".join(missing)))
    reader.fieldnames = header
    rows = []
    for row in reader:
        rows.append({key: _uncell(value or "") for key, value in row.items() if key})
    return {"resources": rows, "emergency_numbers": [], "csv": True}


def _uncell(text: str) -> str:
    """Undo export's guard against spreadsheet formulas ("'=..." back to "=...")."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _entry_from_csv(row: dict) -> dict:
    return {
        **row,
        "channels": channels_from_text(row.get("channels", "")),
        "hours": hours_from_text(row.get("hours", "")),
        "retired": str(row.get("retired") or "").strip().lower() in {"yes", "true", "1"},
    }


def import_directory(session: Session, actor: User | None, document: dict) -> ImportReport:
    """Check every row first; if any is bad, raise DirectoryInvalid listing all of them and
    change nothing. Otherwise add new entries and update those matched by country and name
    (case aside). Nothing is deleted: an entry marked retired is retired."""
    rows = document.get("resources", [])
    is_csv = document.get("csv", False)
    if len(rows) > MAX_ENTRIES:
        raise InvalidInput(
            _("A directory file holds %(limit)s entries at most.", limit=MAX_ENTRIES)
        )
    problems: list[Problem] = []
    entries: list[tuple[int, Entry]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(rows, start=2 if is_csv else 1):
        try:
            if not isinstance(raw, dict):
                raise InvalidInput(_("An entry is a set of named fields."))
            entry = check_entry(_entry_from_csv(raw) if is_csv else raw)
        except InvalidInput as error:
            problems.append(Problem(number, error.text))
            continue
        key = (entry.country, entry.name.casefold())
        if key in seen:
            problems.append(Problem(number, _("The same entry as row %(row)s.", row=seen[key])))
            continue
        seen[key] = number
        entries.append((number, entry))
    numbers = []
    for number, raw in enumerate(document.get("emergency_numbers", []), start=1):
        try:
            if not isinstance(raw, dict):
                raise InvalidInput(_("An entry is a set of named fields."))
            numbers.append(check_emergency_number(raw))
        except InvalidInput as error:
            problems.append(Problem(number, _("Emergency number: %(reason)s", reason=error.text)))
    if problems:
        raise DirectoryInvalid(problems)

    report = ImportReport()
    existing = {
        (resource.country, resource.name.casefold()): resource
        for resource in session.scalars(select(Resource))
    }
    for _number, entry in entries:
        resource = existing.get((entry.country, entry.name.casefold()))
        if resource is None:
            resource = Resource()
            _apply(resource, entry, actor)
            if entry.retired:
                resource.retired_at = clock.now()
            session.add(resource)
            report.added += 1
            continue
        if _as_entry(resource) == entry:
            report.unchanged += 1
            continue
        _apply(resource, entry, actor)
        if entry.retired and resource.retired_at is None:
            resource.retired_at = clock.now()
            report.retired += 1
        elif not entry.retired and resource.retired_at is not None:
            resource.retired_at = None
        report.updated += 1
    for checked in numbers:
        _store_emergency_number(session, actor, checked)
        report.emergency_numbers += 1
    session.flush()
    audit.record(
        session,
        actor,
        "resource.imported",
        None,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        emergency_numbers=report.emergency_numbers,
    )
    return report


def export_rows(session: Session, *, include_retired: bool = True) -> list[Resource]:
    query = select(Resource).order_by(Resource.country, Resource.name, Resource.id)
    if not include_retired:
        query = query.where(Resource.retired_at.is_(None))
    return list(session.scalars(query))


def export_json(session: Session, *, include_retired: bool = True) -> str:
    document = {
        "emergency_numbers": [
            {
                "country": row.country,
                "number": row.number,
                "source": row.source,
                "checked_on": row.checked_on.isoformat(),
            }
            for row in session.scalars(select(EmergencyNumber).order_by(EmergencyNumber.country))
        ],
        "resources": [
            {
                "name": r.name,
                "country": r.country,
                "languages": r.languages,
                "channels": r.channels,
                "hours": r.hours,
                "topics": r.topics,
                "free": r.free,
                "source": r.source,
                "checked_on": r.checked_on.isoformat(),
                "retired": r.retired_at is not None,
            }
            for r in export_rows(session, include_retired=include_retired)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_csv(session: Session, *, include_retired: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in export_rows(session, include_retired=include_retired):
        writer.writerow(
            [
                cell(value)
                for value in (
                    r.country,
                    r.name,
                    ", ".join(r.languages),
                    ", ".join(r.topics),
                    channels_to_text(r.channels),
                    hours_to_text(r.hours),
                    {True: "yes", False: "no", None: "unknown"}[r.free],
                    r.source,
                    r.checked_on.isoformat(),
                    "yes" if r.retired_at is not None else "",
                )
            ]
        )
    return out.getvalue()


def load_seed(session: Session) -> ImportReport:
    """The directory shipped with the app (grants/core/data/resources.json)."""
    return import_directory(session, None, read_json(SEED_FILE.read_bytes()))
