"""The resource hub: the public directory, staff upkeep, staleness, bulk import/export and
the directory shipped with the app."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from grants.core import resources as directory
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.models.audit import AuditEntry
from grants.core.models.resources import EmergencyNumber, Resource
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token, submit
from tests.test_funding import enrol_user

SAMARITANS = {
    "name": "Samaritans",
    "country": "GB",
    "languages": ["en"],
    "channels": [
        {"kind": "phone", "value": "116 123"},
        {"kind": "email", "value": "jo@samaritans.org"},
    ],
    "hours": {"always": True},
    "topics": ["crisis", "suicide", "emotional_support"],
    "free": True,
    "source": "https://www.samaritans.org/how-we-can-help/contact-samaritan/",
    "checked_on": "2026-11-01",
}
SHOUT = {
    "name": "Shout",
    "country": "GB",
    "languages": ["en"],
    "channels": [{"kind": "text", "value": "85258", "keyword": "SHOUT"}],
    "hours": {"always": True},
    "topics": ["crisis"],
    "free": True,
    "source": "https://giveusashout.org/",
    "checked_on": "2026-11-01",
}
MUSIC_MINDS = {
    "name": "Music Minds Matter",
    "country": "GB",
    "languages": ["en"],
    "channels": [{"kind": "phone", "value": "0808 802 8008"}],
    "hours": {"always": True},
    "topics": ["music_industry", "emotional_support"],
    "free": True,
    "source": "https://www.musicmindsmatter.org.uk/",
    "checked_on": "2025-10-01",  # more than 12 months before "today" below
}
LIFELINE = {
    "name": "988 Suicide & Crisis Lifeline",
    "country": "US",
    "languages": ["en", "es"],
    "channels": [{"kind": "phone", "value": "988"}, {"kind": "text", "value": "988"}],
    "hours": {"always": True},
    "topics": ["crisis", "suicide"],
    "free": True,
    "source": "https://988lifeline.org/",
    "checked_on": "2026-11-01",
}
ESPERANZA = {
    "name": "Teléfono de la Esperanza",
    "country": "ES",
    "languages": ["es"],
    "channels": [{"kind": "phone", "value": "717 003 717"}],
    "hours": {
        "always": False,
        "time_zone": "Europe/Madrid",
        "slots": [{"days": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "21:00"}],
    },
    "topics": ["emotional_support"],
    "free": None,
    "source": "https://telefonodelaesperanza.org/",
    "checked_on": "2026-11-01",
}
NUMBERS = [
    {"country": "GB", "number": "999", "source": "https://www.gov.uk/", "checked_on": "2026-11-01"},
    {
        "country": "US",
        "number": "911",
        "source": "https://www.911.gov/",
        "checked_on": "2026-11-01",
    },
    {"country": "ES", "number": "112", "source": "https://www.112.es/", "checked_on": "2026-11-01"},
]
TODAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def hub(app):
    """A small directory: three UK entries (one stale), one US, one Spanish."""
    clock.set(TODAY)
    with app.app_context():
        db = get_session()
        document = {
            "resources": [SAMARITANS, SHOUT, MUSIC_MINDS, LIFELINE, ESPERANZA],
            "emergency_numbers": NUMBERS,
        }
        commit_with_retry(db, lambda: directory.import_directory(db, None, document))
        return {r.name: r.id for r in db.scalars(select(Resource))}


def _names(html: str) -> list[str]:
    return [unescape(name) for name in re.findall(r"<h3>([^<]+)</h3>", html)]


def _countries(html: str) -> list[str]:
    return re.findall(r'<h2 id="country-([A-Z]{2})"', html)


# --- the public hub ---------------------------------------------------------------------


def test_anyone_can_open_the_hub_and_sees_their_country_first(client, hub):
    page = client.get("/resources/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert page.status_code == 200
    assert _countries(page.text)[0] == "GB"
    # The emergency number sits above the country's list, and dials.
    uk = page.text.split('id="country-GB"')[1].split("<section")[0]
    assert uk.index('href="tel:999"') < uk.index("<h3>")
    assert 'href="tel:116123"' in page.text
    assert "Open 24 hours, every day" in page.text

    page = client.get("/resources/", headers={"Accept-Language": "en-US"})
    assert _countries(page.text)[0] == "US"
    assert _countries(page.text)[1:] == ["ES", "GB"]  # the rest by name: Spain, UK


def test_a_signed_in_persons_profile_country_beats_their_browser(
    app, client, hub, make_user, make_cohort
):
    maya = make_user("ambassador", email="maya@example.org")
    enrol_user(app, maya, make_cohort())  # enrolled with country US
    AuthActions(client).login(maya.email)
    page = client.get("/resources/", headers={"Accept-Language": "en-GB"})
    assert _countries(page.text)[0] == "US"


def test_search_and_filters(client, hub):
    def names(**args):
        return _names(client.get("/resources/", query_string=args).text)

    assert names(country="US") == ["988 Suicide & Crisis Lifeline"]
    # Countries in name order (Spain, then the United States) when the visitor's is unknown.
    assert names(language="es") == ["Teléfono de la Esperanza", "988 Suicide & Crisis Lifeline"]
    assert names(topic="music_industry") == ["Music Minds Matter"]
    assert names(channel="text") == ["Shout", "988 Suicide & Crisis Lifeline"]
    assert names(channel="email") == ["Samaritans"]
    assert names(q="esperanza") == ["Teléfono de la Esperanza"]
    assert names(q="116 123") == ["Samaritans"]
    assert names(country="GB", topic="crisis") == ["Samaritans", "Shout"]
    # A filter that matches nothing says so, and offers everything back.
    page = client.get("/resources/", query_string={"country": "US", "topic": "lgbtq"})
    assert "No support lines here match the filters." in page.text
    assert 'href="tel:911"' in page.text  # the emergency number still shows
    page = client.get("/resources/", query_string={"topic": "lgbtq"})
    assert "Nothing in the directory matches all of that." in page.text


def test_odd_filter_values_are_ignored_not_errors(client, hub):
    for args in (
        {"country": "ZZ"},
        {"country": "us"},
        {"topic": "<script>"},
        {"channel": "fax"},
        {"language": "xx"},
        {"q": "x" * 5000},
    ):
        page = client.get("/resources/", query_string=args)
        assert page.status_code == 200, args
        assert "<script>" not in page.text.split("<main")[1]


def test_hours_with_days_and_a_text_keyword_read_plainly(client, hub):
    page = client.get("/resources/", query_string={"country": "ES"}).text
    assert "Mon\u2013Fri 09:00\u201321:00 (Europe/Madrid time)" in page
    page = client.get("/resources/", query_string={"q": "Shout"}).text
    assert "SHOUT to 85258" in page
    assert 'href="sms:85258"' in page


def test_the_hub_needs_no_script_and_no_heavy_assets(client, hub):
    page = client.get("/resources/")
    assert "<script" not in page.text
    assert "<img" not in page.text
    assert len(page.data) < 60_000
    css = client.get("/static/app.css")
    assert len(css.data) < 30_000
    css.close()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text


def test_every_page_links_to_the_hub(client, hub, make_user):
    for url in ("/auth/login", "/resources/", "/auth/reset"):
        page = client.get(url)
        assert 'href="/resources/"' in page.text, url


# --- staff keep it current --------------------------------------------------------------


def _entry_form(**overrides) -> dict:
    form = {
        "name": "Mind Infoline",
        "country": "GB",
        "languages": "en",
        "topics": ["emotional_support"],
        "channels": "phone: 0300 123 3393\nemail: info@mind.org.uk",
        "hours": "Europe/London: Mon-Fri 09:00-18:00",
        "free": "no",
        "source": "https://www.mind.org.uk/information-support/helplines/",
        "checked_on": "2026-11-20",
    }
    form.update(overrides)
    return form


@pytest.fixture
def staff(client, make_user):
    person = make_user("staff", email="jo@example.org")
    AuthActions(client).login(person.email)
    return person


def _count(app, model=Resource) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def test_staff_add_an_entry_and_it_appears_in_the_hub(app, client, hub, staff):
    response = submit(client, "/staff/resources/new", _entry_form())
    assert response.status_code == 302
    page = client.get("/resources/", query_string={"q": "mind infoline"}).text
    assert _names(page) == ["Mind Infoline"]
    assert "Mon\u2013Fri 09:00\u201318:00 (Europe/London time)" in page
    assert "There may be a cost" in page
    with app.app_context():
        db = get_session()
        entry = db.scalar(select(Resource).where(Resource.name == "Mind Infoline"))
        assert entry.channels == [
            {"kind": "phone", "value": "0300 123 3393"},
            {"kind": "email", "value": "info@mind.org.uk"},
        ]
        assert entry.updated_by_id == staff.id
        actions = db.scalars(select(AuditEntry.action).where(AuditEntry.actor_id == staff.id))
        assert "resource.added" in list(actions)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": "phone: call us"}, "is not a phone number"),
        ({"channels": "fax: 0300 123"}, "is not a channel"),
        ({"channels": "just a number"}, "Write each channel as kind: value"),
        ({"hours": "Mon-Fri 9 to 5"}, "Write hours as 24/7"),
        ({"hours": "Mars/Olympus: Mon-Fri 09:00-17:00"}, "is not a time zone"),
        ({"hours": "Europe/London: Fri-Mon 09:00-17:00"}, "not days in order"),
        ({"hours": "Europe/London: Mon 18:00-09:00"}, "cannot close"),
        ({"languages": "english"}, "is not a language code"),
        ({"topics": []}, "Choose at least one topic."),
        ({"source": "not a link"}, "The source is the public web page"),
        ({"checked_on": "2027-01-01"}, "cannot be in the future"),
        ({"name": "Samaritans"}, "is already listed for this country"),
        ({"name": ""}, "Give the service"),
    ],
)
def test_bad_entries_get_a_clear_message_and_change_nothing(
    app, client, hub, staff, change, message
):
    before = _count(app)
    response = submit(client, "/staff/resources/new", _entry_form(**change))
    assert response.status_code == 200
    assert message in response.text
    assert _count(app) == before


def test_staff_edit_an_entry(app, client, hub, staff):
    url = f"/staff/resources/{hub['Samaritans']}/edit"
    form = client.get(url).text
    assert "phone: 116 123" in form and "24/7" in form
    response = submit(
        client,
        url,
        _entry_form(
            name="Samaritans",
            channels="phone: 116 123\nemail: jo@samaritans.org\nweb: https://www.samaritans.org/",
            hours="24/7",
            free="yes",
            topics=["crisis", "suicide"],
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        entry = get_session().get(Resource, hub["Samaritans"])
        assert entry.channels[-1] == {"kind": "web", "value": "https://www.samaritans.org/"}
        assert entry.checked_on == date(2026, 11, 20)
        assert entry.hours == {"always": True}


def test_retire_and_restore(app, client, hub, staff):
    shout = hub["Shout"]
    submit(client, f"/staff/resources/{shout}/retire", form_page="/staff/resources")
    assert "Shout" not in _names(client.get("/resources/").text)
    # A second click (a double submit) changes nothing more.
    submit(client, f"/staff/resources/{shout}/retire", form_page="/staff/resources")
    with app.app_context():
        db = get_session()
        retired = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "resource.retired")
        ).all()
        assert len(retired) == 1
    assert "Shout" in client.get("/staff/resources?show=retired").text
    submit(client, f"/staff/resources/{shout}/restore", form_page="/staff/resources")
    assert "Shout" in _names(client.get("/resources/").text)


def test_entries_unchecked_for_a_year_are_flagged_to_staff(app, client, hub, staff):
    page = client.get("/staff/resources").text
    assert "1 entry has not been checked for 12 months." in page
    stale = client.get("/staff/resources?show=stale").text
    assert "Music Minds Matter" in stale and "Samaritans" not in stale
    # The staff navigation carries the count on every staff page.
    assert "Resource hub (1)" in client.get("/staff/").text

    submit(
        client,
        f"/staff/resources/{hub['Music Minds Matter']}/checked",
        form_page="/staff/resources",
    )
    assert "not been checked for 12 months" not in client.get("/staff/resources").text

    # A year on, without another check, everything is due again.
    clock.set(datetime(2027, 11, 25, 12, 0, tzinfo=UTC))
    AuthActions(client).login(staff.email)  # the session itself ended long ago
    assert "5 entries have not been checked for 12 months." in client.get("/staff/resources").text


def test_the_stale_boundary_is_twelve_months_to_the_day():
    today = date(2026, 11, 25)
    assert directory.stale_before(today) == date(2025, 11, 25)
    assert directory.stale_before(date(2028, 2, 29)) == date(2027, 2, 28)


def test_emergency_numbers_are_kept_by_staff(app, client, hub, staff):
    submit(
        client,
        "/staff/resources/emergency-numbers",
        {
            "country": "IE",
            "number": "112",
            "source": "https://www.gov.ie/",
            "checked_on": "2026-11-20",
        },
        form_page="/staff/resources",
    )
    with app.app_context():
        assert get_session().get(EmergencyNumber, "IE").number == "112"
    before = _count(app, EmergencyNumber)
    response = submit(
        client,
        "/staff/resources/emergency-numbers",
        {"country": "IE", "number": "call the guards", "source": "x", "checked_on": "2026-11-20"},
        form_page="/staff/resources",
        follow=True,
    )
    assert "is not a phone number" in response.text or "The source is" in response.text
    assert _count(app, EmergencyNumber) == before


def test_only_staff_may_change_the_directory(app, client, hub, make_user):
    ambassador = make_user("ambassador", email="maya@example.org")
    AuthActions(client).login(ambassador.email)
    token = csrf_token(client.get("/resources/").text)
    before = _count(app)
    assert client.get("/staff/resources").status_code == 403
    assert (
        client.post("/staff/resources/new", data={**_entry_form(), "csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(
            f"/staff/resources/{hub['Shout']}/retire", data={"csrf_token": token}
        ).status_code
        == 403
    )
    assert _count(app) == before
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/resources/").text)
    response = anonymous.post(f"/staff/resources/{hub['Shout']}/retire", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert _count(app) == before


def test_staff_actions_need_the_csrf_token(app, client, hub, staff):
    response = client.post(f"/staff/resources/{hub['Shout']}/retire")
    assert response.status_code == 400
    with app.app_context():
        assert get_session().get(Resource, hub["Shout"]).retired_at is None


def test_editing_an_entry_that_does_not_exist_is_a_404(client, hub, staff):
    assert client.get("/staff/resources/99999/edit").status_code == 404
    token = csrf_token(client.get("/staff/resources").text)
    assert (
        client.post("/staff/resources/99999/retire", data={"csrf_token": token}).status_code == 404
    )


# --- import and export ------------------------------------------------------------------


def test_export_and_import_round_trip_json_and_csv(app, runner, hub, tmp_path, database_url):
    for kind in ("json", "csv"):
        out = tmp_path / f"directory.{kind}"
        result = runner.invoke(args=["resources", "export", str(out), "--format", kind])
        assert result.exit_code == 0, result.output
        first = out.read_text()
        # Importing the export changes nothing...
        result = runner.invoke(args=["resources", "import", str(out)])
        assert result.exit_code == 0, result.output
        assert "0 added, 0 updated, 5 unchanged" in result.output
        # ...and exporting again gives the same file.
        again = tmp_path / f"again.{kind}"
        runner.invoke(args=["resources", "export", str(again), "--format", kind])
        assert again.read_text() == first


def test_import_into_an_empty_directory_reproduces_the_entries(app, runner, tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"resources": [SAMARITANS, SHOUT], "emergency_numbers": NUMBERS}))
    result = runner.invoke(args=["resources", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    out = tmp_path / "out.csv"
    runner.invoke(args=["resources", "export", str(out), "--format", "csv"])
    text = out.read_text()
    assert 'GB,Samaritans,en,"crisis, suicide, emotional_support"' in text
    assert "text: 85258 (SHOUT)" in text
    # The CSV imports back into the same entries.
    with app.app_context():
        db = get_session()
        document = directory.read_csv(out.read_bytes())
        report = directory.import_directory(db, None, document)
        assert (report.added, report.updated, report.unchanged) == (0, 0, 2)
        db.rollback()


def test_a_file_with_bad_rows_is_refused_whole(app, runner, hub, tmp_path):
    rows = [
        {**SAMARITANS, "channels": [{"kind": "phone", "value": "116 123 and 999"}]},
        {**LIFELINE, "name": "New line", "checked_on": "yesterday"},
        {**ESPERANZA, "name": "Fine entry"},
        {**SHOUT, "country": "XX"},
        "not an entry",
        {**SHOUT, "name": "Twice"},
        {**SHOUT, "name": "twice"},
    ]
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(rows))
    before = _count(app)
    result = runner.invoke(args=["resources", "import", str(source)])
    assert result.exit_code != 0
    for line in (
        "row 1: 116 123 and 999 is not a phone number.",
        "row 2: The date it was checked is written as 2026-11-25",
        "row 4: 'XX' is not a country code",
        "row 5: An entry is a set of named fields.",
        "row 7: The same entry as row 6.",
    ):
        assert line in result.output, (line, result.output)
    assert "row 3" not in result.output
    assert _count(app) == before
    with app.app_context():
        assert get_session().scalar(select(Resource).where(Resource.name == "Fine entry")) is None


def test_csv_problems_count_rows_as_a_spreadsheet_does(app, runner, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(
        "country,name,languages,topics,channels,hours,free,source,checked_on\n"
        "GB,Samaritans,en,crisis,phone: 116 123,24/7,yes,https://www.samaritans.org/,2026-11-01\n"
        "GB,Broken,en,crisis,phone: 116 123,Mon 9-5,yes,https://x.org/,2026-11-01\n"
    )
    result = runner.invoke(args=["resources", "import", str(source)])
    assert result.exit_code != 0
    assert "row 3: Write hours as 24/7" in result.output
    assert _count(app) == 0

    missing = tmp_path / "missing.csv"
    missing.write_text("country,name\nGB,Samaritans\n")
    result = runner.invoke(args=["resources", "import", str(missing)])
    assert result.exit_code != 0 and "The CSV has no languages" in result.output

    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe not json")
    result = runner.invoke(args=["resources", "import", str(garbage)])
    assert result.exit_code != 0 and "not JSON in UTF-8" in result.output


def test_staff_can_download_the_directory(client, hub, staff):
    response = client.get("/staff/resources/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.text.splitlines()[0] == ",".join(directory.CSV_COLUMNS)
    document = json.loads(client.get("/staff/resources/export.json").text)
    assert len(document["resources"]) == 5


# --- the directory shipped with the app -------------------------------------------------


def test_the_shipped_directory_is_complete_and_every_entry_names_its_source(app):
    clock.set(TODAY)
    with app.app_context():
        db = get_session()
        report = directory.load_seed(db)
        db.commit()
        entries = db.scalars(select(Resource)).all()
        assert report.added == len(entries) > 0
        countries = {entry.country for entry in entries}
        assert {"US", "GB"} <= countries
        assert len(countries - {"US", "GB"}) >= 10
        numbers = {row.country for row in db.scalars(select(EmergencyNumber))}
        assert countries <= numbers, countries - numbers
        for entry in entries:
            assert entry.source.startswith(("https://", "http://")), entry.name
            assert {"crisis", "suicide", "music_industry"} & set(entry.topics) or entry.topics
        # National crisis lines in both home countries, and music-industry lines.
        for country in ("US", "GB"):
            assert any(
                "suicide" in e.topics or "crisis" in e.topics
                for e in entries
                if e.country == country
            )
            assert any("music_industry" in e.topics for e in entries if e.country == country)
        # Loading it again changes nothing.
        again = directory.load_seed(db)
        assert again.added == again.updated == 0
        db.rollback()


def test_the_wallet_home_shows_the_help_line_of_the_persons_country(
    app, client, hub, make_user, make_cohort
):
    maya = make_user("ambassador", email="maya@example.org")
    enrol_user(app, maya, make_cohort())  # her enrolment says US
    AuthActions(client).login(maya.email)
    page = client.get("/wallet/").text
    help_here = page.split('class="help-here"')[1].split("</aside>")[0]
    assert 'href="tel:911"' in help_here
    assert "988 Suicide &amp; Crisis Lifeline" in help_here
    assert 'href="tel:988"' in help_here
    assert 'href="/resources/"' in help_here
    assert "Samaritans" not in help_here


def test_a_gift_recipient_without_an_enrolment_gets_their_browsers_country(
    app, client, hub, make_user
):
    sam = make_user("recipient", email="sam@example.org")
    AuthActions(client).login(sam.email)
    page = client.get("/wallet/", headers={"Accept-Language": "en-GB"}).text
    help_here = page.split('class="help-here"')[1].split("</aside>")[0]
    assert "Samaritans" in help_here and 'href="tel:999"' in help_here


def test_a_filtered_search_keeps_the_countrys_emergency_number(client, hub):
    page = client.get("/resources/", query_string={"country": "ES", "topic": "crisis"}).text
    spain = page.split('id="country-ES"')[1]
    assert 'href="tel:112"' in spain
    assert "No support lines here match the filters." in spain


def test_emergency_links_dial_the_first_number_only(app, client, hub):
    with app.app_context():
        db = get_session()
        directory.set_emergency_number(
            db,
            None,
            {
                "country": "GB",
                "number": "+44 999 / 112",
                "source": "https://x.org/",
                "checked_on": "2026-11-01",
            },
        )
        db.commit()
    page = client.get("/resources/", query_string={"country": "GB"}).text
    assert 'href="tel:+44999"' in page


def test_import_checks_emergency_numbers_with_the_rows(app, runner, tmp_path):
    source = tmp_path / "mixed.json"
    source.write_text(
        json.dumps(
            {
                "resources": [SAMARITANS, {**SHOUT, "retired": "maybe"}],
                "emergency_numbers": [NUMBERS[0], {**NUMBERS[1], "number": "dial nine"}],
            }
        )
    )
    result = runner.invoke(args=["resources", "import", str(source)])
    assert result.exit_code != 0
    assert "row 2: Retired is yes or no." in result.output
    assert "row 2: Emergency number: dial nine is not a phone number." in result.output
    assert _count(app) == 0 and _count(app, EmergencyNumber) == 0


def test_false_written_as_text_is_never_taken_for_yes(app):
    entry = directory.check_entry({**ESPERANZA, "retired": "false"})
    assert entry.retired is False
    hours = directory.check_hours(
        {"always": "false", "time_zone": "Europe/Madrid", "slots": ESPERANZA["hours"]["slots"]}
    )
    assert hours["always"] is False  # fmt: skip


def test_files_a_parser_chokes_on_get_a_message(app, runner, tmp_path):
    huge = tmp_path / "huge.csv"
    huge.write_text(",".join(directory.CSV_COLUMNS) + "\n" + '"' + "x" * 200_000 + '"\n')
    result = runner.invoke(args=["resources", "import", str(huge)])
    assert result.exit_code == 1 and "not CSV a spreadsheet can read" in result.output
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = runner.invoke(args=["resources", "import", str(deep)])
    assert result.exit_code == 1 and "not JSON in UTF-8" in result.output


def test_a_long_channels_field_is_refused_quickly(app, client, hub, staff):
    import time

    started = time.monotonic()
    response = submit(
        client, "/staff/resources/new", _entry_form(channels="text: 1" + " " * 1900 + "(x")
    )
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    response = submit(client, "/staff/resources/new", _entry_form(channels="x" * 3000))
    assert response.status_code == 200 and "error-summary" in response.text
