"""Error pages that say what happened in plain words, and never leak a stack trace."""

import traceback

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

from grants.database import db

MESSAGES = {
    400: (_l("Something in that request was not right"), _l("Please go back and try again.")),
    403: (
        _l("This page is not open to you"),
        _l("If you think it should be, ask programme staff."),
    ),
    404: (_l("We could not find that page"), _l("It may have moved, or the link may be mistyped.")),
    405: (
        _l("That action is not available here"),
        _l("Please go back and use the buttons on the page."),
    ),
    429: (
        _l("Too many attempts"),
        _l("For everyone's safety there is a limit on tries. Please wait a few minutes."),
    ),
    413: (
        _l("That file is too large"),
        _l("Uploads can be at most 2 MB. Split the list into smaller files and upload each."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing was changed. Please try again shortly."),
    ),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_template(
            "error.html",
            title=_("This form had expired"),
            message=_("For your security, forms expire. Please go back, reload and try again."),
        ), 400

    @app.errorhandler(HTTPException)
    def _http(error):
        if error.code is None or error.code < 400:  # routing redirects are not errors
            return error
        title, message = MESSAGES.get(error.code, (error.name, error.description))
        return render_template("error.html", title=title, message=message), error.code

    @app.errorhandler(IntegrityError)
    def _conflict(error):
        # Two people changed the same thing at the same moment and the database kept one.
        db.rollback()
        app.logger.warning("integrity conflict: %s", type(error.orig).__name__)
        return render_template(
            "error.html",
            title=_("That changed at the same moment somewhere else"),
            message=_(
                "Nothing was saved from this request. Reload the page to see the "
                "latest state, then try again if it is still needed."
            ),
        ), 409

    @app.errorhandler(Exception)
    def _unexpected(error):
        db.rollback()
        if isinstance(error, DBAPIError):
            # The database's own text can quote the values it refused (PostgreSQL: "DETAIL:
            # Failing row contains (..., someone@example.org, ...)"). Logs carry ids, not
            # names or addresses: the kind of error, its SQLSTATE and where it was raised.
            app.logger.error(
                "unhandled database error: %s %s\n%s",
                type(error.orig).__name__,
                getattr(error.orig, "sqlstate", None) or "",
                "".join(traceback.format_tb(error.__traceback__)),
            )
        else:
            app.logger.exception("unhandled error")
        title, message = MESSAGES[500]
        return render_template("error.html", title=title, message=message), 500
