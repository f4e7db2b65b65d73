"""The command-line tools, run the way an operator runs them."""

from __future__ import annotations

from sqlalchemy import func, select

from grants import create_app
from grants.core.demo import DEMO_AMBASSADORS, DEMO_PASSWORD, DEMO_USERS
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.funding import Grant
from grants.core.models.gifts import Gift
from grants.core.models.ledger import Transfer
from grants.core.models.partners import PartnerGrant, Voucher
from grants.core.models.payouts import PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.database import get_session

GOOD_PASSWORD = "a long enough password"


def count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def test_users_create(app, runner, auth):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Lee@Example.org",
            "--name",
            "Lee Park",
            "--role",
            "staff",
            "--role",
            "finance",
            "--password",
            GOOD_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created user 1 with roles finance, staff" in result.output
    with app.app_context():
        user = get_session().scalar(select(User))
        assert user.email == "lee@example.org"
        assert user.role_names == {"staff", "finance"}
        assert user.password_hash.startswith("$argon2id$")
    assert count(app, AuditEntry) == 1
    assert auth.login("lee@example.org", GOOD_PASSWORD).location == "/finance/"


def test_users_create_refuses_bad_input_and_changes_nothing(app, runner):
    base = ["users", "create", "--name", "Lee", "--password", GOOD_PASSWORD]
    cases = [
        (["--email", "not-an-email", "--role", "staff"], "not valid"),
        (["--email", "a@example.org", "--role", "wizard"], "'wizard' is not one of"),
        (
            ["--email", "a@example.org", "--role", "staff", "--password", "short"],
            "at least 12 characters",
        ),
    ]
    for extra, message in cases:
        result = runner.invoke(args=base + extra)
        assert result.exit_code != 0
        assert message in result.output
    assert count(app, User) == 0
    assert count(app, AuditEntry) == 0


def test_users_create_refuses_a_second_account_for_one_email(app, runner):
    args = [
        "users",
        "create",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--role",
        "staff",
        "--password",
        GOOD_PASSWORD,
    ]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=[*args[:2], "--email", "A@EXAMPLE.org", *args[4:]])
    assert again.exit_code == 1
    assert "already has an account" in again.output
    assert count(app, User) == 1


def test_demo_seed_creates_every_role_once(app, runner, auth):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "8 users created" in first.output and DEMO_PASSWORD in first.output
    transfers = count(app, Transfer)
    second = runner.invoke(args=["demo", "seed"])
    assert "0 users created, 8 already there" in second.output
    extra = {email for email, *_ in DEMO_AMBASSADORS} - {email for email, *_ in DEMO_USERS}
    gift_recipients = 4  # people gifted sessions who had no account before
    assert count(app, User) == len(DEMO_USERS) + len(extra) + gift_recipients
    assert count(app, Transfer) == transfers  # the same transfer ids: nothing moved twice
    assert count(app, Cohort) == 4  # a current and an upcoming cohort in each region
    with app.app_context():
        states = sorted(get_session().scalars(select(Enrolment.status)).all())
    assert states == ["active", "active", "active", "invited"]
    with app.app_context():
        requests = sorted(get_session().scalars(select(Grant.status)).all())
    assert requests == ["approved", "declined", "pending", "second", "withdrawn"]
    with app.app_context():
        gifts = sorted(get_session().scalars(select(Gift.status)).all())
    assert gifts == ["accepted", "declined", "expired", "pending", "revoked"]
    with app.app_context():
        db = get_session()
        bookings = sorted(db.scalars(select(Voucher.status)).all())
        support = db.scalars(select(PartnerGrant.status)).all()
    assert bookings == [
        "booked",
        "cancelled",
        "confirmed",
        "confirmed",
        "confirmed",
        "expired",
        "missed",
    ]
    with app.app_context():
        batches = sorted(get_session().scalars(select(PayoutBatch.status)).all())
        lines = sorted(get_session().scalars(select(PayoutLine.status)).all())
    assert batches == ["approved", "closed", "discarded", "draft"]
    assert {"paid", "failed", "pending", "draft"} <= set(lines)
    assert support == ["approved"]
    assert auth.login("partner@demo.test", DEMO_PASSWORD).location == "/partner/"
    auth.logout()

    for email in ("ambassador@demo.test", "staff2@demo.test", "finance2@demo.test"):
        assert auth.login(email, DEMO_PASSWORD).status_code == 302
        auth.logout()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_demo_seed_if_empty_leaves_a_used_database_alone(app, runner, make_user):
    make_user("admin")
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0
    assert "already has users" in result.output
    assert "demo logins" not in result.output  # none of them exist here
    assert count(app, User) == 1


def test_demo_seed_if_empty_still_shows_the_logins_of_an_earlier_seed(runner):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert "already has users" in result.output
    assert "ambassador@demo.test" in result.output


def test_demo_seed_refuses_under_production(database_url, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "5d2b8f0e6c4a9e7b3d1f5a8c2e6b0d4f9a7c3e1b")
    monkeypatch.setenv("GRANTS_ALLOW_SQLITE", "1")  # the suite's database may be SQLite
    monkeypatch.setenv("BASE_URL", "https://grants.example.org")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    monkeypatch.setenv("MAIL_BACKEND", "none")
    app = create_app({"DATABASE_URL": database_url}, env="production")
    try:
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
    finally:
        app.extensions["grants.engine"].dispose()
    assert result.exit_code == 1
    assert "never loaded under the production configuration" in result.output
    assert count_users(database_url) == 0


def count_users(database_url) -> int:
    from sqlalchemy.orm import Session

    from grants.core.db import make_engine

    engine = make_engine(database_url)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(User))
    engine.dispose()
    return total


def test_db_current_says_up_to_date(runner):
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0
    assert "(up to date)" in result.output
