"""Long lists: shown a page at a time, in an order the reader picks from a fixed few.

A list names its orders (`?sort=name`, `?sort=-name` for the other way round); anything
else in the query string, however odd, falls back to the list's usual order, so a link
typed by hand or left from an older page is never an error. The page number is clamped to
the pages there are: past the end is the last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from grants.database import db
from grants.web import page_number


@dataclass(frozen=True)
class Order:
    """One column a list can be sorted by. `columns` are SQL expressions, ascending unless
    written `.desc()` (the last should tell rows apart, such as an id); `first` is the way
    round a reader expects on the first click: dates and amounts newest or largest first,
    names A to Z."""

    columns: tuple
    first: str = "ascending"
    # How a caption says the order, ascending and descending ("oldest first", "newest
    # first"): lazy strings, read in the reader's language.
    words: tuple = ("", "")


@dataclass(frozen=True)
class Sort:
    """The order a list is shown in now."""

    key: str
    descending: bool
    orders: dict[str, Order]
    default: str

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key

    @property
    def query(self) -> str | None:
        """?sort= for links that keep this order (a pager's), None for the usual order."""
        return None if self.param == self.default else self.param

    @property
    def words(self) -> str:
        """The order in words, for a caption: "oldest first"."""
        return str(self.orders[self.key].words[1 if self.descending else 0])

    def state(self, key: str) -> str | None:
        """aria-sort for a column header: only the column the list is sorted by has it."""
        if key != self.key:
            return None
        return "descending" if self.descending else "ascending"

    def link(self, key: str) -> str:
        """?sort= for a column header's link: the other way round if the list is already
        sorted by it, else that column's usual way round."""
        if key == self.key:
            return key if self.descending else f"-{key}"
        return f"-{key}" if self.orders[key].first == "descending" else key

    def order_by(self) -> list:
        return [_directed(column, self.descending) for column in self.orders[self.key].columns]


def _directed(column, reverse: bool):
    """`column` ascending (or as written, for one written `.desc()`), or the other way round."""
    if isinstance(column, UnaryExpression) and column.modifier is operators.desc_op:
        return column.element.asc() if reverse else column
    return column.desc() if reverse else column.asc()


def sort_from_request(orders: dict[str, Order], default: str) -> Sort:
    """The list's order from ?sort=, from the `orders` it allows; `default` (such as
    "-created") otherwise."""
    wanted = request.args.get("sort", "", type=str)[:40]
    for raw in (wanted, default):
        descending = raw.startswith("-")
        key = raw[1:] if descending else raw
        if key in orders:
            return Sort(key=key, descending=descending, orders=orders, default=default)
    raise ValueError(f"the default order {default!r} is not one of the list's orders")


@dataclass(frozen=True)
class Page:
    """One page of a list, and where it sits in the whole."""

    items: Sequence
    number: int
    pages: int
    total: int

    @property
    def place(self) -> dict:
        """What the pager and the caption need: `**listed.place` in render_template."""
        return {"page": self.number, "pages": self.pages, "total": self.total}


def paginate(query: Select, per_page: int, *, rows: bool = False) -> Page:
    """The requested page of `query` (already ordered): its items (or whole rows, for a
    query of several entities), the page number clamped to the pages there are."""
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    number = min(page_number(), pages)
    limited = query.limit(per_page).offset((number - 1) * per_page)
    items = db.execute(limited).all() if rows else db.scalars(limited).all()
    return Page(items=items, number=number, pages=pages, total=total)


def list_args(**keep) -> dict:
    """The query-string values a pager's links carry along (filters and the order), less
    those that are empty."""
    return {name: value for name, value in keep.items() if value not in (None, "")}
