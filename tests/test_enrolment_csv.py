"""Enrolling many ambassadors from a CSV file, in the staff pages and from the command line."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from grants.core.enrolment import Invitee, invite, revoke_invitation
from grants.core.enrolment_csv import (
    MAX_ROWS,
    CsvProblem,
    check_places,
    import_rows,
    read_enrolment_csv,
)
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.imports import EnrolmentImport
from grants.core.models.outbox import OutboxMessage
from grants.core.models.people import User
from grants.database import get_session
from tests.conftest import submit

GOOD = (
    "name,artist_name,email,country\n"
    "Ana Brook,The Brooks,ana@example.org,US\n"
    "Ben Cole,Cole Minor,ben@example.org,uk\n"
    "\n"
    "Cara Diaz,Diaz,CARA@example.org,GB\n"
)


def test_a_good_file_reads_into_normalised_rows():
    rows = read_enrolment_csv(GOOD.encode())
    assert [(r.line, r.email, r.country, r.errors) for r in rows] == [
        (2, "ana@example.org", "US", []),
        (3, "ben@example.org", "GB", []),
        (5, "cara@example.org", "GB", []),  # the blank line 4 is skipped
    ]


def test_excel_style_headers_and_a_byte_order_mark_are_fine():
    data = "\ufeffName,Artist name,Email address,Country code\r\nAna,A,a@example.org,US\r\n"
    [row] = read_enrolment_csv(data.encode("utf-8"))
    assert (row.name, row.artist_name, row.errors) == ("Ana", "A", [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        (b"name,artist_name,email,country\n", "a header but no rows"),
        (b"name,email\nAna,a@example.org\n", "missing artist_name, country"),
        (
            b"name,artist_name,email,country,diagnosis\nA,B,a@example.org,US,x\n",
            "unexpected diagnosis",
        ),
        (b"name,name,artist_name,email,country\n", "repeated name"),
        (
            "name,artist_name,email,country\nJos\u00e9,A,j@example.org,ES\n".encode("latin-1"),
            "not UTF-8",
        ),
        (b"\x00\x01\x02binary", "binary data"),
    ],
)
def test_unusable_files_say_why(data, message):
    with pytest.raises(CsvProblem, match=message):
        read_enrolment_csv(data)


def test_too_many_rows():
    data = "name,artist_name,email,country\n" + "A,B,a@example.org,US\n" * (MAX_ROWS + 1)
    with pytest.raises(CsvProblem, match="at most 20,000"):
        read_enrolment_csv(data.encode())


def test_each_bad_row_gets_its_reasons():
    data = (
        b"name,artist_name,email,country\n"
        b"Ana,The Brooks,ana@example.org,US\n"
        b",The Brooks,not-an-email,Narnia\n"
        b"Ben,Cole,ANA@example.org,US\n"
        b"Cara,Diaz,cara@example.org\n"
    )
    rows = read_enrolment_csv(data)
    assert rows[0].errors == []
    assert rows[1].errors[0] == "A name is needed."
    assert any("not valid" in e for e in rows[1].errors)
    assert any("'Narnia' is not a country code" in e for e in rows[1].errors)
    assert rows[2].errors == ["the same email as line 2"]
    assert rows[3].errors == ["has 3 values; the header has 4"]


@pytest.fixture
def staff(auth, make_user):
    user = make_user("staff")
    auth.login(user.email)
    return user


def upload(client, cohort_id, content: bytes, filename="ambassadors.csv"):
    return submit(
        client, f"/staff/cohorts/{cohort_id}/import", {"file": (io.BytesIO(content), filename)}
    )


def counts(app):
    with app.app_context():
        db = get_session()
        return tuple(
            db.scalar(select(func.count()).select_from(model))
            for model in (Enrolment, OutboxMessage)
        )


def test_upload_preview_confirm(app, client, staff, make_cohort, mailbox):
    cohort_id = make_cohort()
    response = upload(client, cohort_id, GOOD.encode())
    assert response.status_code == 302
    preview = client.get(response.location)
    assert "3 people will be invited" in preview.text
    assert "cara@example.org" in preview.text
    assert counts(app) == (0, 0)  # nothing happens before the confirmation

    confirm_url = response.location + "/confirm"
    done = submit(client, confirm_url, form_page=response.location)
    assert done.status_code == 302
    assert counts(app) == (3, 3)
    assert sorted(m.envelope_to[0] for m in mailbox.messages) == [
        "ana@example.org",
        "ben@example.org",
        "cara@example.org",
    ]

    again = client.post(confirm_url, data={"csrf_token": _token(client)}, follow_redirects=True)
    assert "already imported" in again.text
    assert counts(app) == (3, 3)
    with app.app_context():
        db = get_session()
        staged = db.scalar(select(EnrolmentImport))
        assert staged.status == "imported" and staged.rows == []  # no copy lingers
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "enrolment.import"))
        assert entry.details["rows"] == 3


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client.get("/staff/").text)


def test_a_file_with_bad_rows_is_previewed_and_nothing_is_imported(app, client, staff, make_cohort):
    cohort_id = make_cohort()
    bad = GOOD + "Dan,Eve,not-an-email,US\n"
    response = upload(client, cohort_id, bad.encode())
    assert response.status_code == 400
    assert "1 of 4 rows cannot be imported" in response.text
    assert "Line 6:" in response.text
    assert "Invite 4" not in response.text  # no confirm button
    assert counts(app) == (0, 0)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(EnrolmentImport)) == 0


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"name,email\nA,a@example.org\n", "list.csv", "must name the columns"),
        (
            "name,artist_name,email,country\nJos\u00e9,A,j@example.org,ES\n".encode("cp1252"),
            "list.csv",
            "not UTF-8",
        ),
        (GOOD.encode(), "list.xlsx", "Choose a file ending in .csv."),
        (b"", "list.csv", "The file is empty."),
    ],
)
def test_unusable_uploads_are_refused_with_a_message(
    app, client, staff, make_cohort, content, filename, message
):
    response = upload(client, make_cohort(), content, filename)
    assert response.status_code == 400
    assert message in response.text
    assert counts(app) == (0, 0)


def test_a_file_too_large_is_refused(app, client, staff, make_cohort):
    cohort_id = make_cohort()
    url = f"/staff/cohorts/{cohort_id}/import"
    token = _token(client)
    # The body is built by hand: the test client would spool a large upload to a temporary
    # file that it never closes, which the suite reports as a leak.
    boundary = "----grants-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file";'
            f' filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + GOOD.encode()
        + b"x" * app.config["MAX_CONTENT_LENGTH"]
        + (f"\r\n--{boundary}--\r\n".encode())
    )
    response = client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "too large" in response.text
    assert counts(app) == (0, 0)


def test_places_taken_since_the_preview_stop_the_import(app, client, staff, make_cohort):
    cohort_id = make_cohort()
    response = upload(client, cohort_id, GOOD.encode())
    preview_url = response.location
    submit(
        client,
        f"/staff/cohorts/{cohort_id}/invite",
        {"name": "Ben", "artist_name": "Cole", "email": "ben@example.org", "country": "US"},
    )
    done = submit(client, preview_url + "/confirm", form_page=preview_url)
    assert done.status_code == 409
    assert "already invited to this cohort" in done.text
    assert counts(app) == (1, 1)  # only the one invited by hand


def test_discarding_a_list(app, client, staff, make_cohort):
    cohort_id = make_cohort()
    preview_url = upload(client, cohort_id, GOOD.encode()).location
    submit(client, preview_url + "/discard", form_page=preview_url)
    assert "already discarded" in client.get(preview_url, follow_redirects=True).text
    assert counts(app) == (0, 0)


def test_an_import_reuses_accounts_and_given_up_places(app, make_cohort, make_user):
    """Someone with an account keeps it (and their language); a place withdrawn earlier in
    the cohort is offered again with a new link; everyone gets one invitation."""
    ana = make_user(email="ana@example.org", locale="es")
    staff = make_user("staff")
    cohort_id = make_cohort()
    with app.app_context():
        db = get_session()
        actor, cohort = db.get(User, staff.id), db.get(Cohort, cohort_id)
        withdrawn = invite(db, actor, cohort, Invitee("Ben", "Old Band", "ben@example.org", "US"))
        revoke_invitation(db, actor, withdrawn)
        db.commit()
        old_nonce = db.scalar(select(Enrolment.invite_nonce).where(Enrolment.id == withdrawn.id))
        queued_before = set(db.scalars(select(OutboxMessage.id)))

        steps = []
        rows = check_places(db, cohort, read_enrolment_csv(GOOD.encode()))
        assert import_rows(db, actor, cohort, rows, progress=steps.append, locale="fr") == 3
        new_ids = db.info["outbox_new"]
        db.commit()

        enrolments = {
            email: enrolment
            for email, enrolment in db.execute(
                select(User.email, Enrolment)
                .join(Enrolment, Enrolment.user_id == User.id)
                .where(Enrolment.cohort_id == cohort_id)
            )
        }
        assert sorted(enrolments) == ["ana@example.org", "ben@example.org", "cara@example.org"]
        assert enrolments["ana@example.org"].user_id == ana.id
        ben = enrolments["ben@example.org"]
        assert ben.id == withdrawn.id and ben.status == "invited" and ben.closed_at is None
        assert (ben.artist_name, ben.country, ben.invitations_sent) == ("Cole Minor", "GB", 2)
        assert ben.invite_nonce != old_nonce
        assert {e.invited_by_id for e in enrolments.values()} == {staff.id}
        assert {e.invitations_sent for e in enrolments.values()} == {1, 2}
        cara = db.scalar(select(User).where(User.email == "cara@example.org"))
        assert (cara.name, cara.password_hash, cara.roles) == ("Cara Diaz", None, [])

        messages = db.scalars(
            select(OutboxMessage).where(OutboxMessage.id.not_in(queued_before))
        ).all()
        assert sorted(new_ids) == sorted(m.id for m in messages)
        assert sorted(
            (m.to_address, m.template, m.locale, m.status, m.params) for m in messages
        ) == sorted(
            (
                email,
                "invitation",
                "es" if email == "ana@example.org" else "fr",
                "pending",
                {"enrolment_id": e.id, "nonce": e.invite_nonce},
            )
            for email, e in enrolments.items()
        )
        assert steps == [3]
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "enrolment.import"))
        assert (entry.actor_id, entry.object_id, entry.details) == (
            staff.id,
            str(cohort_id),
            {"rows": 3, "import_id": None},
        )


def test_cli_import_with_progress(app, runner, make_cohort, make_user, tmp_path):
    staff = make_user("staff")
    cohort_id = make_cohort()
    path = tmp_path / "list.csv"
    path.write_text(GOOD)
    dry = runner.invoke(
        args=[
            "enrol",
            "import",
            str(path),
            "--cohort",
            str(cohort_id),
            "--as",
            staff.email,
            "--dry-run",
        ]
    )
    assert dry.exit_code == 0 and "3 rows are fine" in dry.output
    assert counts(app) == (0, 0)
    result = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", str(cohort_id), "--as", staff.email]
    )
    assert result.exit_code == 0, result.output
    assert "3 invitations queued" in result.output
    assert counts(app) == (3, 3)
    with app.app_context():
        entry = get_session().scalar(
            select(AuditEntry).where(AuditEntry.action == "enrolment.import")
        )
        assert entry.actor_id == staff.id and entry.origin == "cli"


def test_cli_import_lists_bad_rows_and_imports_nothing(
    app, runner, make_cohort, make_user, tmp_path
):
    staff = make_user("staff")
    path = tmp_path / "list.csv"
    path.write_text(GOOD + "Dan,Eve,not-an-email,US\n")
    result = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", str(make_cohort()), "--as", staff.email]
    )
    assert result.exit_code == 1
    assert "line 6:" in result.output and "1 of 4 rows cannot be imported" in result.output
    assert counts(app) == (0, 0)
    result = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", "999", "--as", staff.email]
    )
    assert "there is no cohort 999" in result.output
    nobody = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", "1", "--as", "someone@example.org"]
    )
    assert "is not a member of staff" in nobody.output


@pytest.mark.slow
def test_ten_thousand_rows_import_in_one_go(app, runner, make_cohort, make_user, tmp_path):
    staff = make_user("staff")
    cohort_id = make_cohort()
    path = tmp_path / "big.csv"
    lines = ["name,artist_name,email,country"] + [
        f"Artist {n},Band {n},artist{n}@example.org,{'US' if n % 2 else 'GB'}"
        for n in range(10_000)
    ]
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    result = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", str(cohort_id), "--as", staff.email]
    )
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert counts(app) == (10_000, 10_000)
    print(f"10,000 rows imported in {elapsed:.1f} s")  # a figure, not an assertion
