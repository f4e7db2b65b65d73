"""Small things every area of the web app shares: bounded ids in URLs, page numbers, and
refusing input the databases cannot store."""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # an INTEGER column on PostgreSQL
MAX_PAGE = 100_000


class BoundedInt(IntegerConverter):
    """`<int:...>` that does not match numbers no row can have, so they are a plain 404
    instead of an overflow deep in the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def page_number() -> int:
    """?page=N, clamped to a sensible range."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def init_app(app: Flask) -> None:
    app.add_template_filter(money_filter, "money")

    @app.before_request
    def _refuse_nul():
        # PostgreSQL cannot store a NUL character in text; no person types one.
        # Every value of a repeated field too (.values() gives only the first of each).
        values = [value for _name, value in request.args.items(multi=True)]
        values += [value for _name, value in request.form.items(multi=True)]
        values += [upload.filename or "" for _name, upload in request.files.items(multi=True)]
        if any("\x00" in value for value in values):
            abort(400)


def reader_locale() -> str:
    """The reader's locale for numbers and money: the language the page (or email) is read
    in (see grants.i18n), English outside a request."""
    from flask_babel import get_locale

    try:
        locale = get_locale()
    except RuntimeError:  # an app context with no request and no forced locale
        return "en"
    return str(locale) if locale else "en"


def money_filter(minor: int, currency: str) -> str:
    from grants.core.money import format_money

    return format_money(minor, currency, reader_locale())
