"""Small-count suppression for staff and finance reports.

A report that says "2 sessions in GB in March" can point at a person: staff often know who
was where and when. So where a page aggregates people or their sessions for reporting
(by programme, region, month, or a request's outcome), a count from 1 to 4 is shown as
"fewer than 5", and anything derived from it (a value, a bar's length) is withheld too.
Zero is shown: it says nothing about anyone.

Operational lists that staff work through by name (the requests queue, a cohort's
ambassadors, a payout batch's lines) are not reports and keep their exact numbers.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext

SMALLEST_SHOWN = 5


def is_small(count: int | None) -> bool:
    """Whether `count` is too small to show (1 to 4)."""
    return count is not None and 0 < count < SMALLEST_SHOWN


def small_count(count: int | None) -> int | str:
    """`count` as a report may show it: the number, or "fewer than 5"."""
    if is_small(count):
        return gettext("fewer than %(num)s", num=SMALLEST_SHOWN)
    return count or 0


def init_app(app: Flask) -> None:
    app.add_template_filter(small_count, "small_count")
    app.add_template_test(is_small, "small")
