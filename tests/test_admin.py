"""Admin: programmes, consent texts and the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from grants.core.models.audit import AuditEntry
from grants.core.models.people import User
from grants.core.models.programmes import ConsentText, Programme
from grants.database import get_session
from tests.conftest import csrf_token, submit

CONSENT = "By joining, you agree that we keep your name and email to run the programme."


@pytest.fixture
def admin(auth, make_user):
    user = make_user("admin")
    auth.login(user.email)
    return user


def test_admin_adds_a_programme(app, client, admin):
    response = submit(
        client, "/admin/programmes", {"code": "bloom", "name": "Bloom", "consent": CONSENT}
    )
    assert response.status_code == 302
    page = client.get("/admin/programmes")
    assert "BLOOM" in page.text
    with app.app_context():
        db = get_session()
        programme = db.scalar(select(Programme).where(Programme.code == "BLOOM"))
        assert programme.consent_texts[0].version == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "RADAR", "name": "Again", "consent": CONSENT}, "already a programme RADAR"),
        ({"code": "no spaces", "name": "X", "consent": CONSENT}, "2 to 16 letters"),
        ({"code": "NEW", "name": "New", "consent": "too short"}, "at least 40 characters"),
        ({"code": "", "name": "New", "consent": CONSENT}, "Enter a code."),
    ],
)
def test_bad_programmes_are_refused(app, client, admin, data, message):
    response = submit(client, "/admin/programmes", data)
    assert response.status_code == 200 and message in response.text
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Programme)) == 3


def test_publishing_a_new_consent_version(app, client, admin):
    response = submit(client, "/admin/programmes/3/consent", {"consent": CONSENT + " Also."})
    assert response.status_code == 302
    same = submit(client, "/admin/programmes/3/consent", {"consent": CONSENT + " Also."})
    assert "same as the current version" in same.text
    with app.app_context():
        versions = (
            get_session()
            .scalars(select(ConsentText.version).where(ConsentText.programme_id == 3))
            .all()
        )
    assert sorted(versions) == [1, 2]
    assert client.get("/admin/programmes/99/consent").status_code == 404


def test_the_audit_log_pages_and_filters(app, client, admin, make_user):
    for n in range(60):
        make_user("ambassador", email=f"p{n}@example.org")
    submit(client, "/admin/programmes", {"code": "BLOOM", "name": "Bloom", "consent": CONSENT})
    page = client.get("/admin/audit")
    # 61 users, the admin logging in and a programme; newest first
    assert "63 entries, page 1 of 2" in page.text
    assert page.text.index("programme.create") < page.text.index("user.create")
    assert "page 2 of 2" in client.get("/admin/audit?page=2").text
    only = client.get("/admin/audit?action=programme.create")
    assert "1 entry," in only.text and "127.0.0.1" in only.text
    mine = client.get(f"/admin/audit?actor={admin.email}")
    assert "2 entries" in mine.text  # logging in, and the programme
    assert "<td>programme.create</td>" in mine.text and "<td>user.create</td>" not in mine.text
    assert "No entries match" in client.get("/admin/audit?since=2999-01-01").text
    assert client.get("/admin/audit?since=not-a-date").status_code == 200


def test_the_database_refuses_to_change_the_audit_log(app, make_user):
    make_user("staff")
    with app.app_context():
        db = get_session()
        for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.execute(text(statement))
            db.rollback()
        assert db.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_audit_details_carry_no_names_or_emails(app, runner, tmp_path):
    """Across every flow the demo exercises (users, cohorts, funding, invitations, grants)
    and a CSV import: the log says who by id, never by name or address."""
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    path = tmp_path / "list.csv"
    path.write_text("name,artist_name,email,country\nZed Quill,Quills,zed@example.org,GB\n")
    imported = runner.invoke(
        args=["enrol", "import", str(path), "--cohort", "1", "--as", "staff@demo.test"]
    )
    assert imported.exit_code == 0, imported.output
    with app.app_context():
        db = get_session()
        details = [str(d) for d in db.scalars(select(AuditEntry.details))]
        people = db.scalars(select(User)).all()
    assert len(details) > 20
    identities = [p.email for p in people] + [p.name for p in people]
    for text_ in details:
        assert "@" not in text_
        assert not [who for who in identities if who in text_], text_


@pytest.mark.parametrize("role", ["staff", "finance", "ambassador"])
def test_admin_pages_are_closed_to_other_roles(client, auth, make_user, role):
    auth.login(make_user(role).email)
    for url in ("/admin/", "/admin/programmes", "/admin/programmes/3/consent", "/admin/audit"):
        assert client.get(url).status_code == 403
    token = csrf_token(client.get("/resources/").text)
    assert client.post("/admin/programmes", data={"csrf_token": token}).status_code == 403
