"""Error pages that say what happened in plain words, and never leak a stack trace."""

import traceback
from contextlib import suppress
from pathlib import Path

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
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
        # An error can come after a change was saved (while drawing the next page): say
        # what is true either way.
        _l(
            "If you were saving something, check whether it went through before you "
            "try again. If this keeps happening, please tell programme staff."
        ),
    ),
    503: (
        _l("We cannot reach our records just now"),
        _l("Nothing you sent could be saved. Please try again in a few minutes."),
    ),
}

# The last resort when even the error page cannot be drawn (the database is down and the
# page would look up who is signed in, or their language): plain HTML, no lookups.
UNAVAILABLE_PAGE = Path(__file__).resolve().parent.parent / "static" / "unavailable.html"


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

    def _page(code: int, title, message):
        try:
            return render_template("error.html", title=title, message=message), code
        except Exception as failure:  # whatever broke, the person gets a page
            app.logger.error("error page not drawn: %s", type(failure).__name__)
            headers = {"Content-Type": "text/html; charset=utf-8", "Retry-After": "60"}
            return UNAVAILABLE_PAGE.read_bytes(), code, headers

    @app.errorhandler(Exception)
    def _unexpected(error):
        with suppress(DBAPIError):  # the connection is gone: nothing to roll back
            db.rollback()
        if isinstance(error, OperationalError | InterfaceError):
            # The database cannot be reached (down, restarting, out of connections). One
            # line, not a traceback per request while it lasts.
            app.logger.error("database unavailable: %s", type(error.orig).__name__)
            title, message = MESSAGES[503]
            return _page(503, title, message)
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
        return _page(500, title, message)
