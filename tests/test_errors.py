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


def test_a_database_that_cannot_be_reached_gets_a_calm_503(app, client, make_user, auth):
    """With the database gone, even drawing the usual error page fails (it looks up who is
    signed in): the person still gets a page that says what is true and where help is."""
    from sqlalchemy.orm import sessionmaker

    from grants.core.db import make_engine

    maya = make_user("ambassador", email="maya@example.org")
    auth.login(maya.email)
    working = app.extensions["grants.sessionmaker"]
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    app.extensions["grants.sessionmaker"] = sessionmaker(gone)
    app.logger.disabled = True
    try:
        for path in ("/wallet/", "/resources/"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "cannot reach our records" in response.text
            assert "Nothing you sent could be saved" in response.text
            assert "Traceback" not in response.text and "psycopg" not in response.text
        assert 'href="tel:988"' in client.get("/wallet/").text
    finally:
        app.extensions["grants.sessionmaker"] = working
        gone.dispose()
        app.logger.disabled = False
    assert client.get("/wallet/").status_code == 200  # and back when the database is
