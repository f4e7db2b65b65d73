"""What people see when something goes wrong: a clear page, never a stack trace."""

from __future__ import annotations

from sqlalchemy import func, select, text

from grants.core.models.people import User
from grants.database import db, get_session


def test_a_lost_race_gets_a_409_and_nothing_is_kept(app, make_user):
    make_user("staff", email="first@example.org")

    @app.route("/_race")
    def race():
        # What two simultaneous invitations of one new address end in: a unique clash.
        db.execute(
            text(
                "INSERT INTO users (email, name, locale, active, session_generation,"
                " created_at) VALUES ('second@example.org', 'B', 'en', true, 1,"
                " CURRENT_TIMESTAMP)"
            )
        )
        db.execute(
            text(
                "INSERT INTO users (email, name, locale, active, session_generation,"
                " created_at) VALUES ('first@example.org', 'A', 'en', true, 1,"
                " CURRENT_TIMESTAMP)"
            )
        )
        raise AssertionError("the second insert should have failed")

    response = app.test_client().get("/_race")
    assert response.status_code == 409
    assert "changed at the same moment" in response.text
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(User)) == 1


def test_an_unexpected_error_is_a_calm_500(app):
    @app.route("/_boom")
    def boom():
        raise RuntimeError("a bug")

    app.logger.disabled = True
    response = app.test_client().get("/_boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "RuntimeError" not in response.text
