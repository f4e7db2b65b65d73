"""Hostile input in every form: Hypothesis fills each one with what no browser would send
(negative, zero, huge, fractional and exponent amounts, bidirectional and combining text,
emoji, 10,000-character strings, repeated and extra fields, lists for scalars, HTML and
script) and checks, for every submission:

- never a 500 (nor a "changed at the same moment" conflict, which no race explains here);
- a NUL character is a 400, and a bad CSRF token is a 400;
- a refusal (an error status, a 200 re-render of the form, or a redirect whose page flashes
  an error) writes nothing: every row of every table is the same afterwards;
- whatever is accepted keeps the books right: no balance negative or past its limit, no
  amount outside what the form allows (the conftest teardown verifies the ledger too);
- a redirect never leaves the site;
- HTML typed into any field is shown as text wherever it is shown later (pages and the
  HTML part of emails), and the accepted value is there, escaped, on the page that shows it.

Every test drives one area against its own database; the objects each form acts on are made
through the core for each example, so most examples reach the form's own checks.
"""

# ruff: noqa: RUF001 (look-alike characters are the point here)

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlsplit

import pyotp
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from grants.core.clock import clock
from grants.core.cohorts import BUDGET, MAX_SESSION_VALUE
from grants.core.db import Base, commit_with_retry
from grants.core.enrolment import Invitee, invite
from grants.core.funding import approve, ask_for_funding, withdraw_request
from grants.core.gifts import gift_credits, revoke_gift
from grants.core.models.cohorts import Cohort, Enrolment
from grants.core.models.funding import OPEN_STATES, Grant, GrantStatus
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.imports import EnrolmentImport
from grants.core.models.ledger import Account
from grants.core.models.outbox import OutboxMessage
from grants.core.models.partners import Partner, PartnerGrant, Voucher, VoucherStatus
from grants.core.models.payouts import PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.core.models.programmes import ConsentText, Programme
from grants.core.models.resources import EmergencyNumber, Resource
from grants.core.money_ledger import PAYABLE
from grants.core.partners import MAX_GRANT, approve_partner_grant, propose_partner_grant
from grants.core.payouts import approve_batch, build_batch
from grants.core.resources import add_entry
from grants.core.tokens import make_token
from grants.core.vouchers import book_session, cancel_booking, partners_for, show_code
from grants.database import get_session
from tests.conftest import PASSWORD, AuthActions, csrf_token, current_code
from tests.test_funding import enrol_user

TODAY = date(2027, 3, 10)
# Examples per form: enough to find the odd one, quick on SQLite. A longer hunt:
# GRANTS_HOSTILE_EXAMPLES=500 pytest tests/test_hostile_input.py
PER_FORM = int(os.environ.get("GRANTS_HOSTILE_EXAMPLES", "25"))

# --- what a hostile browser sends -----------------------------------------------------------

# Each payload, shown unescaped, would run or inject; its signature below is how it would
# then appear in a page. No template of the app contains "pwn".
PAYLOADS = (
    "<script>pwn()</script>",
    "<img src=x onerror=pwn()>",
    '"><svg onload=pwn()>',
    "' onfocus='pwn()' x='",
    '" autofocus onfocus="pwn()" x="',
    "</textarea></title><pwn-tag>",
    "<!--pwn-->",
    "{{ 7*7 }}pwn{{ config }}",
    "{% raw %}pwn",
    "javascript:pwn()",
    "&lt;pwn&gt;",
    "%(name)s%s%dpwn{0}",
)
SIGNATURES = re.compile(
    r"<script>pwn|<img src=x onerror=pwn|<svg onload=pwn|' onfocus='pwn|"
    r"\" autofocus onfocus=\"pwn|<pwn-tag>|<!--pwn|49pwn|"
    r"(?:href|src|action|formaction)\s*=\s*[\"']?\s*javascript:",
    re.IGNORECASE,
)
ODD_TEXT = (
    "\u202eevil\u202c",  # right-to-left override
    "שלום עולם",
    "مرحبا بالعالم",
    "🎸🥁🎤",
    "👩🏽\u200d🎤",
    "e\u0301\u0301\u0301\u0301",
    "Z\u0336a\u0337l\u0338g\u0339o\u0334",
    "\ufeffbom",
    "\u200b",
    " ",
    "\t\n\r\n",
    "ǅ ﬀ İ ß",
    "𝕳𝖊𝖑𝖑𝖔",
    "\u2028\u2029",
    "\x01\x1f\x7f",
    "a\x00b",  # refused with a 400, by design
    "null",
    "None",
    "-1",
    "0",
    "' OR 1=1 --",
    "Robert'); DROP TABLE users;--",
    "../../etc/passwd",
    "%00",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\\",
)
_characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
_short = st.text(_characters, max_size=6)
payload_text = st.builds(lambda a, p, b: a + p + b, _short, st.sampled_from(PAYLOADS), _short)
long_text = st.builds(
    lambda unit, size: (unit * size)[:size],
    st.sampled_from(["x", "é", "🎸", "<b>", "e\u0301", "\u202e"]),
    st.sampled_from([199, 200, 201, 254, 255, 256, 280, 281, 500, 501, 1000, 1001, 10_000]),
)
texts = st.one_of(
    st.text(_characters, max_size=40),
    st.sampled_from(ODD_TEXT),
    payload_text,
    long_text,
)
HUGE = (10**30, -(10**30), 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**400)
ODD_NUMBERS = (
    "1e3", "1E2", "1e-2", "1e400", "-1e400", "NaN", "nan", "-NaN", "sNaN", "Infinity",
    "-Infinity", "inf", "0x10", "0b11", "0o7", "1_000", "١٢", "１２", "٣", " 3 ", "+3", "3.0",
    "2.5", "0.01", "0.001", "0.005", "-0", "-0.01", "3,5", "1,000", "$5", "5$", "", "   ",
    "10**30", "1/2", "½", "Ⅻ", "²",
)  # fmt: skip
# Just inside and just outside the ranges the forms allow, and past what columns hold.
EDGES = (-1, 0, 1, 2, 6, 7, 100, 280, 365, 366, 999, 1000, 1001, 10**7, 10**7 + 1, 2**31, 2**63)
numbers = st.one_of(
    st.integers(-3, 12).map(str),
    st.sampled_from(EDGES).map(str),
    st.integers(-(10**31), 10**31).map(str),
    st.sampled_from(HUGE).map(str),
    st.sampled_from(ODD_NUMBERS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.fractions(max_denominator=1000).map(str),
)
dates = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "",
            "0000-00-00",
            "2027-02-30",
            "2027-13-01",
            "27-03-10",
            "10/03/2027",
            "2027-03-10T00:00",
            "9999-12-31",
            "0001-01-01",
            "+2027-03-10",
            "2027-3-1",
            "today",
            "２０２７-０３-１０",
            " 2027-03-10",
        ]
    ),
)
emails = st.one_of(
    st.emails().map(str),
    st.sampled_from(
        [
            "",
            "not-an-email",
            "a@b",
            "a@@example.org",
            "a@example.org\nBcc: x@example.org",
            "a@example.org,b@example.org",
            "<script>pwn()</script>@example.org",
            '"<img src=x onerror=pwn()>"@example.org',
            "ünïcode@exämple.org",
            "x@[127.0.0.1]",
            "x@localhost",
            "@example.org",
            "mailto:x@example.org",
            "MAYA@EXAMPLE.ORG",
            " maya@example.org ",
            "a" * 300 + "@example.org",
        ]
    ),
)
uuids = st.one_of(
    st.uuids().map(str),
    st.sampled_from(["", "0", "not-a-uuid", "{12345678-1234-5678-1234-567812345678}"]),
)
ticks = st.sampled_from(["y", "", "n", "false", "0", "on", "off", "true"])
extra_names = st.one_of(
    st.sampled_from(
        [
            "id",
            "user_id",
            "status",
            "amount",
            "roles",
            "role",
            "is_admin",
            "partner_id",
            "cohort_id",
            "sessions_approved",
            "transfer_id",
            "__proto__",
            "csrf_token ",
            "next",
        ]
    ),
    st.text(_characters, min_size=1, max_size=12),
)


def shaped(values):
    """A value as a browser sends it, or repeated, or missing altogether (an empty list)."""
    return st.one_of(values, values, values, st.lists(values, max_size=3))


@st.composite
def form_data(draw, good: dict, hostile: dict):
    """The good submission with a few of its fields spoiled, and perhaps extra fields."""
    names = sorted(good)
    # Mostly one field spoiled, so its value meets the form's own check for it.
    spoiled = draw(st.sets(st.sampled_from(names), max_size=2)) if names else set()
    if names and not spoiled and draw(st.integers(0, 3)):
        spoiled = {draw(st.sampled_from(names))}
    data = {
        name: draw(shaped(hostile.get(name, texts))) if name in spoiled else value
        for name, value in good.items()
    }
    extras = draw(
        st.dictionaries(
            extra_names.filter(lambda name: name not in good and name != "csrf_token"),
            shaped(texts),
            max_size=2,
        )
    )
    return {**data, **extras}


VALID, BAD_CSRF = "valid", ("", "garbage", "missing", "second")
csrf_choices = st.integers(0, 24).flatmap(
    lambda i: st.just(VALID) if i < 24 else st.sampled_from(BAD_CSRF)
)


# --- the world the forms act in -----------------------------------------------------------


class ErrorLog(logging.Handler):
    """What the app logged at ERROR while answering: the cause of a 500, for the report."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self) -> str:
        formatter = logging.Formatter()
        return "\n".join(formatter.format(record) for record in self.records)


ROLES = {
    "staff": ("staff",),
    "staff2": ("staff",),
    "admin": ("admin",),
    "finance": ("finance",),
    "finance2": ("finance",),
    "maya": ("ambassador",),
    "sam": ("recipient",),
    "partner": ("partner",),
    "polyglot": ("ambassador",),
}


class World:
    """Users, logged-in clients and a funded cohort, made as a test first needs them."""

    def __init__(self, app, engine, make_user, make_cohort, mailbox) -> None:
        self.app, self.engine, self.mailbox = app, engine, mailbox
        self.make_user, self.make_cohort = make_user, make_cohort
        self.users: dict = {}
        self.clients: dict = {}
        self.tokens: dict = {}
        self.numbers = itertools.count(1)
        self.errors = ErrorLog()
        app.logger.addHandler(self.errors)
        self.mail_seen = 0
        self._cohort_id: int | None = None

    def number(self) -> int:
        return next(self.numbers)

    def user(self, key: str):
        if key not in self.users:
            self.users[key] = self.make_user(
                *ROLES[key], email=f"{key}@example.org", name=key.title()
            )
        return self.users[key]

    def client(self, key: str):
        if key not in self.clients:
            client = self.app.test_client()
            if key != "anon":
                AuthActions(client).login(self.user(key).email)
            self.clients[key] = client
        return self.clients[key]

    def fresh_client(self):
        return self.app.test_client()

    def csrf(self, client) -> str:
        if id(client) not in self.tokens:
            page = client.get("/resources/")
            self.tokens[id(client)] = csrf_token(page.get_data(as_text=True))
            page.close()
        return self.tokens[id(client)]

    def core(self, work):
        """Run `work(db)` through the core, committed; return what it returns. Whatever
        `work` needs from the world is made first (`person` makes nothing)."""
        with self.app.app_context():
            db = get_session()
            return commit_with_retry(db, lambda: work(db))

    def person(self, db, key: str) -> User:
        return db.get(User, self.users[key].id)

    @property
    def cohort_id(self) -> int:
        """A current US cohort: budget 500 sessions funded, Maya enrolled holding 100 credits,
        grants above 2 sessions need two approvals, partner P serves it."""
        if self._cohort_id is None:
            for key in ("staff", "staff2", "maya", "partner"):
                self.user(key)
            cohort_id = self.make_cohort(
                funded=500,
                session_budget=1000,
                session_allowance=1000,
                approval_threshold=2,
                gift_limit_per_recipient=50,
                open_gift_limit=5,
                status="current",
            )
            enrol_user(self.app, self.user("maya"), cohort_id)
            self._cohort_id = cohort_id
            self.issue(100)
        return self._cohort_id

    def issue(self, sessions: int) -> None:
        """`sessions` more credits for Maya, approved by two members of staff."""

        def work(db):
            grant = ask_for_funding(db, self.person(db, "maya"), self.enrolment(db), sessions)
            grant = approve(db, self.person(db, "staff"), grant.id, sessions)
            if grant.status == GrantStatus.AWAITING_SECOND:
                approve(db, self.person(db, "staff2"), grant.id, sessions)

        self.core(work)

    def enrolment(self, db) -> Enrolment:
        return db.scalar(
            select(Enrolment).where(
                Enrolment.cohort_id == self._cohort_id, Enrolment.user_id == self.users["maya"].id
            )
        )

    @property
    def partner_id(self) -> int:
        return self.user("partner").partner_id


@pytest.fixture
def world(app, engine, make_user, make_cohort, mailbox):
    clock.set(clock.now().replace(year=2027, month=3, day=10))
    # Hundreds of submissions from one address in a minute: the throttles (tested on their
    # own elsewhere) would answer most of them with a 429 before any form is read.
    for name in (
        "VOUCHER_ENTRY_LIMIT",
        "LOGIN_LIMIT",
        "LOGIN_ACCOUNT_LIMIT",
        "RESET_LIMIT",
        "RESET_ACCOUNT_LIMIT",
    ):
        app.config[name] = "100000 per minute"
    world = World(app, engine, make_user, make_cohort, mailbox)
    yield world
    app.logger.removeHandler(world.errors)


# --- what every submission is checked for ---------------------------------------------------

FLASH = re.compile(r'class="flash flash-(\w+)"')


@dataclass
class Outcome:
    status: int
    accepted: bool
    page: str  # the response, or the page a redirect led to
    flashes: list[str]


# Bookkeeping any request may write, whatever was submitted: when a login was last used.
VOLATILE = {"login_sessions": {"last_seen_at"}}


def snapshot(engine) -> dict[str, list[str]]:
    """Every row of every table."""
    rows = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            kept = [c for c in table.columns if c.name not in VOLATILE.get(table.name, ())]
            query = select(*kept)
            rows[table.name] = sorted(repr(tuple(row)) for row in connection.execute(query))
    return rows


def changes(before: dict, after: dict) -> str:
    lines = []
    for name in before:
        if before[name] != after[name]:
            added = sorted(set(after[name]) - set(before[name]))
            removed = sorted(set(before[name]) - set(after[name]))
            lines.append(f"{name}: +{added[:3]} -{removed[:3]}"[:1500])
    return "\n".join(lines)


def strings(data: dict):
    for name, value in data.items():
        yield name
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):  # a file: (stream, filename)
                yield item[1]
            else:
                yield item


def assert_shown_as_text(html: str, where: str) -> None:
    found = SIGNATURES.search(html)
    assert found is None, (
        f"unescaped input on {where}: ...{html[found.start() - 200 : found.end() + 200]}"
    )


def assert_on_site(location: str) -> None:
    """Where a redirect goes, read as a browser reads it (tabs and newlines dropped,
    backslashes as slashes): a path on this site."""
    seen = re.sub(r"[\t\n\r]", "", location).lstrip("\x00\x01\x02\x03 ").replace("\\", "/")
    parts = urlsplit(seen)
    if parts.netloc or parts.scheme:
        assert parts.scheme in ("http", "https") and parts.hostname in (
            "localhost",
            "grants.test",
        ), location
    else:
        assert seen.startswith("/") and not seen.startswith("//"), location


def attempt(
    w: World, who, url: str, data: dict, *, csrf=VALID, accept_200=None, refusal_audits=()
) -> Outcome:
    """POST `data` to `url` as `who` (a role's key, or a client) and check what came of it.
    `accept_200`: the words on a page of its own that a 200 answers a success with (most
    forms redirect; a 200 is the form again, with its errors).
    `refusal_audits`: audit actions a refusal records by design (a wrong sign-in code)."""
    client = w.client(who) if isinstance(who, str) else who
    form = MultiDict()
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            form.add(name, item)
    token = w.csrf(client)
    if csrf == VALID:
        form.add("csrf_token", token)
    elif csrf == "second":
        form.add("csrf_token", "garbage")
        form.add("csrf_token", token)
    elif csrf != "missing":
        form.add("csrf_token", csrf)
    has_nul = any("\x00" in text for text in strings(data) if isinstance(text, str))

    with client.session_transaction() as session:
        # A message from an earlier submission that no page showed (its redirect led to an
        # error page) would be read as this one's.
        session.pop("_flashes", None)
    before = snapshot(w.engine)
    w.errors.records.clear()
    response = client.post(url, data=form)
    text = response.get_data(as_text=True)
    response.close()  # as a server does: email queued by the request goes now
    status = response.status_code
    assert status != 500, f"500 from POST {url} with {data!r}\n{w.errors.report()}"
    assert "changed at the same moment" not in text, f"a conflict from POST {url} with {data!r}"
    assert_shown_as_text(text, url)
    # (A URL that routing redirects or does not know is answered before any check.)
    routing = status in (307, 308) or "We could not find that page" in text
    if has_nul and not routing:
        assert status == 400, f"{status} for a NUL character in {data!r}"
    if csrf != VALID and not routing:
        assert status == 400, f"{status} with CSRF token {csrf!r}"

    page, flashes = text, []
    if routing:
        refused = True
    elif 300 <= status < 400:
        location = response.headers["Location"]
        assert_on_site(location)
        followed = client.get(location)
        page = followed.get_data(as_text=True)
        followed.close()
        assert followed.status_code != 500, f"500 on {location} after POST {url} with {data!r}"
        assert_shown_as_text(page, location)
        flashes = FLASH.findall(page)
        refused = "error" in flashes
    else:
        refused = status >= 400 or (status == 200 and (not accept_200 or accept_200 not in text))

    after = snapshot(w.engine)
    if refused and refusal_audits:
        added = sorted(set(after["audit_entries"]) - set(before["audit_entries"]))
        assert all(any(f"'{a}'" in row for a in refusal_audits) for row in added), added
        after["audit_entries"] = before["audit_entries"]
    if refused:
        assert after == before, f"refused POST {url} with {data!r} wrote:\n{changes(before, after)}"
    check_books(w)
    check_mail(w)
    if currently_in_test_context():  # for --hypothesis-show-statistics
        event(f"{'accepted' if not refused else 'refused'} ({status})")
    return Outcome(status, not refused, page, flashes)


def show(w: World, who, url: str, *shown: str) -> str:
    """The page at `url`: answered, every hostile value on it escaped, and each of `shown`
    there as text."""
    client = w.client(who) if isinstance(who, str) else who
    response = client.get(url)
    html = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200, f"{response.status_code} on {url}"
    assert_shown_as_text(html, url)
    for value in shown:
        assert str(escape(value)) in html, f"{value!r} is not shown on {url}"
    return html


def tidy(value: str) -> str:
    """Text as the directory keeps it: runs of whitespace as one space."""
    return " ".join(value.split())


def check_books(w: World) -> None:
    """No balance below zero or past its limit, and nothing outside what the forms allow."""
    with Session(w.engine) as db:
        for account in db.scalars(select(Account)):
            figures = (
                account.debits_pending,
                account.debits_posted,
                account.credits_pending,
                account.credits_posted,
            )
            assert min(figures) >= 0, f"account {account.id} {figures}"
            if account.debits_must_not_exceed_credits:
                assert account.debits_pending + account.debits_posted <= account.credits_posted
            if account.credits_must_not_exceed_debits:
                assert account.credits_pending + account.credits_posted <= account.debits_posted
        for cohort in db.scalars(select(Cohort)):
            assert 1 <= cohort.session_value <= MAX_SESSION_VALUE
            assert 1 <= cohort.session_allowance <= 1000
            assert 0 <= cohort.session_budget <= 10_000_000
            assert 1 <= cohort.gift_expiry_days <= 365
            assert 0 <= cohort.approval_threshold <= 1000
            assert 1 <= cohort.gift_limit_per_recipient <= 1000
            assert 1 <= cohort.open_gift_limit <= 1000
            assert cohort.starts_on <= cohort.ends_on
            funded = db.scalar(
                select(Account.credits_posted).where(
                    Account.ledger_id == cohort.ledger_id,
                    Account.code == BUDGET,
                    Account.user_id.is_(None),
                )
            )
            assert funded <= cohort.session_budget
        for grant in db.scalars(select(Grant)):
            assert grant.sessions_asked >= 1
            for figure in (grant.sessions_proposed, grant.sessions_approved):
                assert figure is None or 1 <= figure <= grant.sessions_asked
        issued = db.execute(
            select(Cohort.session_allowance, func.sum(Grant.sessions_approved))
            .join(Grant, Grant.cohort_id == Cohort.id)
            .where(Grant.status == GrantStatus.APPROVED)
            .group_by(Grant.enrolment_id, Cohort.session_allowance)
        ).all()
        assert all(total <= allowance for allowance, total in issued), issued
        live = Gift.status.in_([GiftStatus.PENDING, GiftStatus.ACCEPTED])
        for limit, total in db.execute(
            select(Cohort.gift_limit_per_recipient, func.sum(Gift.sessions))
            .join(Gift, Gift.cohort_id == Cohort.id)
            .where(live)
            .group_by(Gift.giver_id, Gift.recipient_id, Cohort.id)
        ):
            assert total <= limit
        for limit, waiting in db.execute(
            select(Cohort.open_gift_limit, func.count(Gift.id))
            .join(Gift, Gift.cohort_id == Cohort.id)
            .where(Gift.status == GiftStatus.PENDING)
            .group_by(Gift.giver_id, Cohort.id)
        ):
            assert waiting <= limit
        assert db.scalar(select(func.min(Gift.sessions))) in (None, *range(1, 1001))
        for grant in db.scalars(select(PartnerGrant)):
            assert 0 < grant.amount <= MAX_GRANT
        for voucher in db.scalars(select(Voucher).where(Voucher.amount.is_not(None))):
            assert voucher.amount >= 0
        assert db.scalar(select(func.count()).where(PayoutLine.amount <= 0)) == 0
        # An email that could not be rendered or was refused by the mail server (one that
        # no longer applies, such as a reset for an address with no account, is fine).
        errors = db.scalars(
            select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))
        ).all()
        failed = [e for e in errors if re.match(r"render:|[A-Z]\w*(Error|Exception)", e)]
        assert not failed, failed


def check_mail(w: World) -> None:
    """Emails sent so far show what people typed as text too."""
    messages = w.mailbox.messages
    for message in messages[w.mail_seen :]:
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            assert_shown_as_text(html.get_content(), f"email {message['Subject']!r}")
    w.mail_seen = len(messages)


def as_int(value) -> int | None:
    """What an integer field makes of `value` (int() as WTForms calls it), else None."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_money(value, places: int = 2) -> int | None:
    """Minor units of `value`, as a decimal field reads it, else None."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        amount = Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        return None
    if not amount.is_finite():
        return None
    minor = amount.scaleb(places)
    return int(minor) if minor == minor.to_integral_value() else None


def as_date(value) -> date | None:
    """What a date field makes of `value`, else None."""
    try:
        return datetime.strptime(first(value), "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


def first(value):
    return (value[0] if value else None) if isinstance(value, list) else value


def latest(w: World, model, after: int | None = None):
    """The newest row of `model`; None unless it is newer than id `after`."""
    with Session(w.engine) as db:
        row = db.scalar(select(model).order_by(model.id.desc()))
        if row is None or (after is not None and row.id <= after):
            return None
        db.expunge(row)
        return row


def last_id(w: World, model) -> int:
    with Session(w.engine) as db:
        return db.scalar(select(func.max(model.id))) or 0


def withdraw_open_requests(w: World) -> None:
    w.user("maya")

    def work(db):
        for grant in db.scalars(
            select(Grant).where(Grant.user_id == w.user("maya").id, Grant.status.in_(OPEN_STATES))
        ).all():
            withdraw_request(db, w.person(db, "maya"), grant)

    w.core(work)


def revoke_waiting_gifts(w: World) -> None:
    w.user("maya")

    def work(db):
        for gift_id in db.scalars(
            select(Gift.id).where(
                Gift.giver_id == w.user("maya").id, Gift.status == GiftStatus.PENDING
            )
        ).all():
            revoke_gift(db, w.person(db, "maya"), gift_id)

    w.core(work)


def new_gift(w: World, email: str, name: str = "Sam") -> tuple[int, str]:
    """A one-session gift from Maya to `email`, waiting for an answer: (id, nonce)."""
    cohort_id = w.cohort_id

    def work(db):
        gift = gift_credits(
            db,
            w.person(db, "maya"),
            db.get(Cohort, cohort_id),
            recipient_name=name,
            recipient_email=email,
            relationship="crew",
            message="For the tour.",
            sessions=1,
            transfer_id=uuid.uuid4(),
        )
        return gift.id, gift.nonce

    return w.core(work)


# --- the wallet -------------------------------------------------------------------------------


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_asking_for_funding(world, data):
    w = world
    url = f"/wallet/cohorts/{w.cohort_id}/ask"
    fields = data.draw(form_data({"sessions": "3"}, {"sessions": numbers}))
    outcome = attempt(w, "maya", url, fields, csrf=data.draw(csrf_choices))
    if outcome.accepted:
        asked = as_int(fields["sessions"])
        assert asked is not None and 1 <= asked <= 1000 - 100
        assert latest(w, Grant).sessions_asked == asked  # a request is open: a new one
        withdraw_open_requests(w)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_gifting(world, data):
    w = world
    clock.advance(timedelta(seconds=1))  # the wallet lists the newest 50 gifts first
    url = f"/wallet/cohorts/{w.cohort_id}/gift"
    good = {
        "recipient_name": "Sam Rivera",
        "recipient_email": f"friend{w.number()}@example.org",
        "relationship": "crew",
        "sessions": "2",
        "message": "For the tour.",
        "request_id": str(uuid.uuid4()),
    }
    hostile = {
        "recipient_email": emails,
        "relationship": st.one_of(st.sampled_from(["bandmate", "crew", "team", "other"]), texts),
        "sessions": numbers,
        "request_id": uuids,
    }
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, Gift)
    outcome = attempt(w, "maya", url, fields, csrf=data.draw(csrf_choices))
    gift = latest(w, Gift, after=newest)  # none when the request id was used before
    if outcome.accepted and gift is not None:
        assert gift.sessions == as_int(fields["sessions"]) and 1 <= gift.sessions <= 50
        assert gift.recipient_name == first(fields["recipient_name"]).strip()
        assert gift.message == (first(fields["message"]) or "").strip()
        show(w, "maya", "/wallet/", gift.recipient_name)
        # The recipient reads the giver's message on the gift's page.
        token = make_token(w.app.config["SECRET_KEY"], "gift", {"g": gift.id, "n": gift.nonce})
        show(w, w.fresh_client(), f"/auth/gift/{token}", gift.message)
        revoke_waiting_gifts(w)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_booking(world, data):
    w = world
    url = f"/wallet/cohorts/{w.cohort_id}/book"
    good = {"partner_id": str(w.partner_id), "request_id": str(uuid.uuid4())}
    hostile = {"partner_id": st.one_of(numbers, texts), "request_id": uuids}
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, Voucher)
    outcome = attempt(w, "maya", url, fields, csrf=data.draw(csrf_choices))
    voucher = latest(w, Voucher, after=newest)
    if outcome.accepted and voucher is not None:
        assert voucher.partner_id == w.partner_id == as_int(fields["partner_id"])
        assert show_code(voucher.code) in outcome.page
        w.core(lambda db: cancel_booking(db, w.person(db, "maya"), voucher.id))


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_answering_a_gift_in_the_wallet(world, data):
    w = world
    sam = w.user("sam")
    revoke_waiting_gifts(w)  # left by an example that failed
    gift_id, _nonce = new_gift(w, sam.email)
    with Session(w.engine) as db:
        consent_id = db.scalar(select(func.max(ConsentText.id)))
    action = data.draw(st.sampled_from(["accept", "decline"]))
    good = {"consent": "y", "consent_text_id": str(consent_id)} if action == "accept" else {}
    hostile = {"consent": ticks, "consent_text_id": st.one_of(numbers, texts)}
    fields = data.draw(form_data(good, hostile))
    page = show(w, "sam", f"/wallet/gifts/{gift_id}", "For the tour.")
    assert "Maya" in page
    outcome = attempt(
        w, "sam", f"/wallet/gifts/{gift_id}/{action}", fields, csrf=data.draw(csrf_choices)
    )
    with Session(w.engine) as db:
        status = db.get(Gift, gift_id).status
    if outcome.accepted:
        assert status == (GiftStatus.ACCEPTED if action == "accept" else GiftStatus.DECLINED)
    else:
        assert status == GiftStatus.PENDING
        w.core(lambda db: revoke_gift(db, w.person(db, "maya"), gift_id))


# --- staff: cohorts, invitations, imports, requests, partner grants -------------------------

COHORT = {
    "programme_id": "3",
    "region": "US",
    "intake_name": "2027",
    "status": "current",
    "currency": "USD",
    "session_value": "120.00",
    "session_allowance": "10",
    "session_budget": "500",
    "gift_expiry_days": "30",
    "starts_on": "2027-01-01",
    "ends_on": "2027-12-31",
    "approval_threshold": "6",
    "gift_limit_per_recipient": "6",
    "open_gift_limit": "5",
}
COHORT_HOSTILE = {
    "programme_id": st.one_of(numbers, texts),
    "region": st.one_of(st.sampled_from(["US", "GB", "gb", "uk", "XX", "ZZ"]), texts),
    "status": st.one_of(st.sampled_from(["upcoming", "current", "closed", "CLOSED"]), texts),
    "currency": st.one_of(st.sampled_from(["USD", "GBP", "EUR", "usd", "JPY"]), texts),
    "upfront_allowance": ticks,
    "allow_regift": ticks,
    "starts_on": dates,
    "ends_on": dates,
    **{
        name: numbers
        for name in (
            "session_value",
            "session_allowance",
            "session_budget",
            "gift_expiry_days",
            "approval_threshold",
            "gift_limit_per_recipient",
            "open_gift_limit",
        )
    },
}
WHOLE_FIELDS = (
    "session_allowance",
    "session_budget",
    "gift_expiry_days",
    "approval_threshold",
    "gift_limit_per_recipient",
    "open_gift_limit",
)


def assert_cohort_is_as_typed(cohort: Cohort, fields: dict) -> None:
    """An accepted cohort holds exactly the numbers typed (a field left out keeps what it
    was), each within the form's range."""
    if fields["session_value"] != []:
        assert cohort.session_value == as_money(fields["session_value"])
    for name in WHOLE_FIELDS:
        if fields[name] != []:
            assert getattr(cohort, name) == as_int(fields[name]), name
    if fields["intake_name"] != []:
        assert cohort.intake_name == first(fields["intake_name"]).strip()


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_creating_a_cohort(world, data):
    w = world
    good = {**COHORT, "intake_name": f"Intake {w.number()}", "region": "GB"}
    fields = data.draw(form_data(good, COHORT_HOSTILE))
    newest = last_id(w, Cohort)
    outcome = attempt(w, "staff", "/staff/cohorts/new", fields, csrf=data.draw(csrf_choices))
    cohort = latest(w, Cohort, after=newest)
    assert outcome.accepted == (cohort is not None)
    if cohort is not None:
        assert_cohort_is_as_typed(cohort, fields)
        show(w, "staff", "/staff/", cohort.intake_name)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_editing_a_cohort(world, data):
    w = world
    if not hasattr(w, "edited_cohort_id"):
        w.edited_cohort_id = w.make_cohort(region="GB", currency="GBP", status="upcoming")
    cohort_id = w.edited_cohort_id
    with Session(w.engine) as db:
        status = db.get(Cohort, cohort_id).status
    good = {**COHORT, "region": "GB", "currency": "GBP", "status": status}
    fields = data.draw(form_data(good, COHORT_HOSTILE))
    url = f"/staff/cohorts/{cohort_id}/edit"
    outcome = attempt(w, "staff", url, fields, csrf=data.draw(csrf_choices))
    if outcome.accepted:
        with Session(w.engine) as db:
            cohort = db.get(Cohort, cohort_id)
            assert_cohort_is_as_typed(cohort, fields)
            intake = cohort.intake_name
        show(w, "staff", f"/staff/cohorts/{cohort_id}", intake)
        show(w, "staff", url)


def budget_funded(w: World, cohort_id: int) -> int:
    with Session(w.engine) as db:
        cohort = db.get(Cohort, cohort_id)
        return db.scalar(
            select(Account.credits_posted).where(
                Account.ledger_id == cohort.ledger_id,
                Account.code == BUDGET,
                Account.user_id.is_(None),
            )
        )


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_funding_a_cohort(world, data):
    w = world
    cohort_id = w.cohort_id
    good = {"sessions": "5", "request_id": str(uuid.uuid4())}
    fields = data.draw(form_data(good, {"sessions": numbers, "request_id": uuids}))
    before = budget_funded(w, cohort_id)
    outcome = attempt(
        w, "staff", f"/staff/cohorts/{cohort_id}/fund", fields, csrf=data.draw(csrf_choices)
    )
    after = budget_funded(w, cohort_id)
    if outcome.accepted and after != before:
        assert after - before == as_int(fields["sessions"]) >= 1
    if not outcome.accepted:
        assert after == before


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_inviting(world, data):
    w = world
    cohort_id = w.cohort_id
    good = {
        "name": "Ana Brook",
        "artist_name": "The Brooks",
        "email": f"invitee{w.number()}@example.org",
        "country": "US",
    }
    hostile = {"email": emails, "country": st.one_of(st.sampled_from(["GB", "uk", "XX"]), texts)}
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, Enrolment)
    url = f"/staff/cohorts/{cohort_id}/invite"
    outcome = attempt(w, "staff", url, fields, csrf=data.draw(csrf_choices))
    enrolment = latest(w, Enrolment, after=newest)
    if outcome.accepted and enrolment is not None:
        with Session(w.engine) as db:
            name = db.get(User, enrolment.user_id).name
        assert enrolment.artist_name == first(fields["artist_name"]).strip()
        show(w, "staff", f"/staff/cohorts/{cohort_id}", name)


CSV_HEADER = ["name", "artist_name", "email", "country"]
csv_cells = st.one_of(texts, emails, st.sampled_from(["US", "gb", " GB ", "XX", "", "=1+1"]))
csv_good_rows = st.builds(
    lambda name, key: [name, "Band", f"csv-{key.hex[:12]}@example.org", "US"],
    st.one_of(st.just("Ana"), texts),
    st.uuids(),
)


@st.composite
def csv_files(draw) -> bytes:
    """A list staff could mean (hostile text in its cells), or a mangled one, or bytes."""
    # (Past the 2 MB the app takes is tested in test_enrolment_csv: the test client leaks
    # the temporary file of so large an upload.)
    kind = draw(st.integers(0, 11))
    if kind == 11:
        return draw(st.binary(max_size=300))
    if kind < 6:
        header, rows = CSV_HEADER, draw(st.lists(csv_good_rows, min_size=1, max_size=3))
        encoding = "utf-8"
    else:
        header = draw(
            st.one_of(
                st.just(CSV_HEADER),
                st.lists(st.one_of(st.sampled_from([*CSV_HEADER, "Full Name", "E-mail"]), texts)),
            )
        )
        rows = draw(st.lists(st.one_of(csv_good_rows, st.lists(csv_cells, max_size=6)), max_size=4))
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode(encoding, errors="replace")


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_importing_a_list(world, data):
    w = world
    cohort_id = w.cohort_id
    content = data.draw(csv_files())
    filename = data.draw(
        st.one_of(st.just("people.csv"), st.just("x.csv"), texts.map(lambda t: t + ".csv"), texts)
    )
    fields = data.draw(form_data({}, {}))
    files = data.draw(st.integers(0, 9))
    if files:  # a file, as a browser sends one; else none, or two
        fields["file"] = (io.BytesIO(content), filename)
    elif data.draw(st.booleans()):
        fields["file"] = [(io.BytesIO(content), filename), (io.BytesIO(b"x"), "b.csv")]
    action = data.draw(st.sampled_from(["confirm", "discard"]))
    extras = data.draw(form_data({}, {}))
    newest = last_id(w, EnrolmentImport)
    url = f"/staff/cohorts/{cohort_id}/import"
    outcome = attempt(w, "staff", url, fields, csrf=data.draw(csrf_choices))
    staged = latest(w, EnrolmentImport, after=newest)
    assert outcome.accepted == (staged is not None)
    if staged is not None:
        for row in staged.rows:
            assert row["name"] and row["email"]
        newest = last_id(w, Enrolment)
        done = attempt(w, "staff", f"/staff/imports/{staged.id}/{action}", extras)
        if done.accepted and action == "confirm":
            with Session(w.engine) as db:
                people = db.scalars(
                    select(User.name)
                    .join(Enrolment, Enrolment.user_id == User.id)
                    .where(Enrolment.id > newest)
                ).all()
            show(w, "staff", f"/staff/cohorts/{cohort_id}", *people[:3])


def open_request(w: World, sessions: int = 3) -> int:
    """Maya's open funding request (asking for `sessions` if she has none)."""
    assert w.cohort_id  # made before the transaction below

    def work(db):
        grant = db.scalar(
            select(Grant).where(Grant.user_id == w.users["maya"].id, Grant.status.in_(OPEN_STATES))
        )
        return (grant or ask_for_funding(db, w.person(db, "maya"), w.enrolment(db), sessions)).id

    return w.core(work)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_deciding_a_request(world, data):
    w = world
    grant_id = open_request(w)
    who = data.draw(st.sampled_from(["staff", "staff2"]))
    action = data.draw(st.sampled_from(["approve", "decline"]))
    if action == "approve":
        fields = data.draw(form_data({"sessions": "3"}, {"sessions": numbers}))
    else:
        fields = data.draw(form_data({"message": "The budget is spoken for."}, {}))
    show(w, who, f"/staff/requests/{grant_id}")
    url = f"/staff/requests/{grant_id}/{action}"
    outcome = attempt(w, who, url, fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        grant = db.get(Grant, grant_id)
        db.expunge(grant)
    if outcome.accepted and action == "approve":
        sessions = as_int(fields["sessions"])
        assert sessions in (grant.sessions_proposed, grant.sessions_approved)
        assert 1 <= sessions <= grant.sessions_asked
    elif outcome.accepted:
        assert grant.status == GrantStatus.DECLINED
        assert grant.decline_message == first(fields["message"]).strip()


def new_partner_grant(w: World, *, approved: bool = False, amount: int = 100) -> int:
    w.user("staff"), w.user("staff2"), w.user("partner")

    def work(db):
        grant = propose_partner_grant(
            db,
            w.person(db, "staff"),
            db.get(Partner, w.users["partner"].partner_id),
            amount=amount,
            purpose="Outreach",
            request_id=uuid.uuid4(),
        )
        if approved:
            approve_partner_grant(db, w.person(db, "staff2"), grant.id)
        return grant.id

    return w.core(work)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_proposing_a_partner_grant(world, data):
    w = world
    good = {
        "partner_id": str(w.partner_id),
        "request_id": str(uuid.uuid4()),
        "amount": "250.00",
        "purpose": "Outreach at the festival",
    }
    hostile = {"partner_id": st.one_of(numbers, texts), "request_id": uuids, "amount": numbers}
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, PartnerGrant)
    outcome = attempt(w, "staff", "/staff/partner-grants", fields, csrf=data.draw(csrf_choices))
    grant = latest(w, PartnerGrant, after=newest)
    if outcome.accepted and grant is not None:
        assert grant.amount == as_money(fields["amount"]) and 0 < grant.amount <= MAX_GRANT
        assert grant.partner_id == w.partner_id
        show(w, "staff2", "/staff/partner-grants", grant.purpose)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_deciding_a_partner_grant(world, data):
    w = world
    grant_id = new_partner_grant(w)
    action = data.draw(st.sampled_from(["approve", "decline", "withdraw"]))
    who = data.draw(st.sampled_from(["staff", "staff2"]))
    good = {"message": "Not this year."} if action == "decline" else {}
    fields = data.draw(form_data(good, {}))
    url = f"/staff/partner-grants/{grant_id}/{action}"
    outcome = attempt(w, who, url, fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        grant = db.get(PartnerGrant, grant_id)
        status, message = grant.status, grant.decline_message
    assert (status != "pending") == outcome.accepted
    if outcome.accepted and action == "decline":
        assert message == first(fields["message"]).strip()


# --- partners and finance -------------------------------------------------------------------


def new_voucher(w: World) -> tuple[int, str]:
    """A booking of Maya's with partner P: (id, code)."""
    cohort_id, partner_id = w.cohort_id, w.partner_id
    with Session(w.engine) as db:
        wallet = db.scalar(
            select(Account).where(Account.user_id == w.users["maya"].id, Account.code == "wallet")
        )
        left = wallet.credits_posted - wallet.debits_posted - wallet.debits_pending
    if left < 5:
        w.issue(50)  # (a long run uses them up)

    def work(db):
        voucher = book_session(
            db,
            w.person(db, "maya"),
            db.get(Cohort, cohort_id),
            partner_id,
            transfer_id=uuid.uuid4(),
        )
        return voucher.id, voucher.code

    return w.core(work)


def owed_to_partner(w: World) -> int:
    with Session(w.engine) as db:
        return (
            db.scalar(
                select(
                    Account.credits_posted - Account.debits_posted - Account.debits_pending
                ).where(Account.partner_id == w.partner_id, Account.code == PAYABLE)
            )
            or 0
        )


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_confirming_a_session(world, data):
    w = world
    voucher_id, code = new_voucher(w)
    typed = data.draw(
        st.sampled_from([code, show_code(code), f" {show_code(code).lower()} ", code + "\u200b"])
    )
    good = {"code": typed, "session_date": TODAY.isoformat(), "outcome": "delivered"}
    hostile = {
        "code": st.one_of(texts, st.just(code * 3)),
        "session_date": dates,
        "outcome": st.one_of(st.sampled_from(["delivered", "missed"]), texts),
    }
    fields = data.draw(form_data(good, hostile))
    owed = owed_to_partner(w)
    outcome = attempt(w, "partner", "/partner/confirm", fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        voucher = db.get(Voucher, voucher_id)
        value = db.get(Cohort, w.cohort_id).session_value
        status, amount, session_date = voucher.status, voucher.amount, voucher.session_date
    if outcome.accepted:
        assert status in (VoucherStatus.CONFIRMED, VoucherStatus.MISSED)
        assert session_date == as_date(fields["session_date"]) and session_date <= TODAY
        assert owed_to_partner(w) - owed == (amount or 0) and amount in (None, 0, value)
        show(w, "partner", "/partner/")
    else:
        assert status == VoucherStatus.BOOKED and owed_to_partner(w) == owed
        w.core(lambda db: cancel_booking(db, w.person(db, "maya"), voucher_id))


def new_batch(w: World, *, approved: bool) -> tuple[int, list[int]]:
    """A payout batch for what P is owed (one more small grant, so it is owed something):
    (id, line ids)."""
    new_partner_grant(w, approved=True)
    w.user("finance"), w.user("finance2")

    def work(db):
        batch = build_batch(
            db,
            w.person(db, "finance"),
            currency="USD",
            cutoff=TODAY,
            partner_ids=None,
            request_id=uuid.uuid4(),
        )
        if approved:
            approve_batch(db, w.person(db, "finance2"), batch.id)
        return batch.id, [line.id for line in batch.lines]

    return w.core(work)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_building_a_payout_batch(world, data):
    w = world
    new_partner_grant(w, approved=True, amount=1234)
    good = {
        "currency": "USD",
        "cutoff": TODAY.isoformat(),
        "partner_ids": str(w.partner_id),
        "request_id": str(uuid.uuid4()),
    }
    hostile = {
        "currency": st.one_of(st.sampled_from(["USD", "GBP", "usd", "EUR"]), texts),
        "cutoff": dates,
        "partner_ids": st.one_of(numbers, texts),
        "request_id": uuids,
    }
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, PayoutBatch)
    outcome = attempt(w, "finance", "/finance/batches", fields, csrf=data.draw(csrf_choices))
    batch = latest(w, PayoutBatch, after=newest)
    if outcome.accepted and batch is not None:
        assert batch.currency == first(fields["currency"]) and batch.cutoff <= TODAY
        show(w, "finance2", f"/finance/batches/{batch.id}")


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_approving_paying_and_failing_a_batch(world, data):
    w = world
    action = data.draw(st.sampled_from(["approve", "discard", "pay", "pay_line", "fail"]))
    batch_id, lines = new_batch(w, approved=action in ("pay", "pay_line", "fail"))
    who = data.draw(st.sampled_from(["finance", "finance2"]))
    if action in ("pay", "pay_line"):
        good = {"bank_reference": "BACS 0042", "paid_on": TODAY.isoformat()}
        hostile = {"paid_on": dates}
    elif action == "fail":
        good, hostile = {"reason": "The account is closed."}, {}
    else:
        good, hostile = {}, {}
    fields = data.draw(form_data(good, hostile))
    url = {
        "approve": f"/finance/batches/{batch_id}/approve",
        "discard": f"/finance/batches/{batch_id}/discard",
        "pay": f"/finance/batches/{batch_id}/pay",
        "pay_line": f"/finance/batches/{batch_id}/lines/{lines[0]}/pay",
        "fail": f"/finance/batches/{batch_id}/lines/{lines[0]}/fail",
    }[action]
    outcome = attempt(w, who, url, fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        line = db.get(PayoutLine, lines[0])
        db.expunge(line)
    if outcome.accepted and action in ("pay", "pay_line"):
        assert line.status == "paid" and line.paid_on <= TODAY
        assert line.bank_reference == first(fields["bank_reference"]).strip()
        show(w, who, f"/finance/batches/{batch_id}", line.bank_reference)
    if outcome.accepted and action == "fail":
        assert line.status == "failed"
        show(w, who, f"/finance/batches/{batch_id}", line.failure_reason)


# --- admin ------------------------------------------------------------------------------------

CONSENT = "We keep your name and email to run the programme, and nothing about your health."


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_adding_a_programme(world, data):
    w = world
    good = {"code": f"P{w.number()}", "name": "Road Crew Care", "consent": CONSENT}
    hostile = {"code": st.one_of(st.sampled_from(["radar", "ab", "A", "A-1", "ıNDIE"]), texts)}
    fields = data.draw(form_data(good, hostile))
    newest = last_id(w, Programme)
    outcome = attempt(w, "admin", "/admin/programmes", fields, csrf=data.draw(csrf_choices))
    programme = latest(w, Programme, after=newest)
    assert outcome.accepted == (programme is not None)
    if programme is not None:
        assert re.fullmatch(r"[A-Z][A-Z0-9-]{1,15}", programme.code)
        show(w, "admin", "/admin/programmes", programme.name, programme.code)
        body = first(fields["consent"]).strip()
        show(w, "admin", f"/admin/programmes/{programme.id}/consent", body)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_publishing_consent(world, data):
    w = world
    body = f"{CONSENT} Version {w.number()}."
    fields = data.draw(form_data({"consent": body}, {}))
    newest = last_id(w, ConsentText)
    url = "/admin/programmes/3/consent"
    outcome = attempt(w, "admin", url, fields, csrf=data.draw(csrf_choices))
    text = latest(w, ConsentText, after=newest)
    assert outcome.accepted == (text is not None)
    if text is not None:
        assert 40 <= len(text.body) <= 20_000
        show(w, "admin", url, text.body)
        # Where an ambassador reads it: a gift waiting for them.
        sam = w.user("sam")
        revoke_waiting_gifts(w)
        gift_id, _nonce = new_gift(w, sam.email)
        show(w, "sam", f"/wallet/gifts/{gift_id}", text.body)


PARTNER = {
    "name": "Harbour Therapy",
    "kind": "therapy",
    "currency": "USD",
    "regions": ["US", "GB"],
    "contact_name": "Desk",
    "contact_email": "desk@harbour.example",
    "payout_reference": "GB00 1111 2222 3333",
    "active": "y",
}
PARTNER_HOSTILE = {
    "kind": st.one_of(st.sampled_from(["therapy", "nonprofit", "THERAPY"]), texts),
    "currency": st.one_of(st.sampled_from(["USD", "GBP", "EUR"]), texts),
    "regions": st.one_of(st.sampled_from(["US", "GB", "uk", "XX"]), texts),
    "contact_email": emails,
    "active": ticks,
}


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_adding_and_editing_a_partner(world, data):
    w = world
    editing = data.draw(st.booleans())
    good = {**PARTNER, "name": f"Harbour Therapy {w.number()}"}
    fields = data.draw(form_data(good, PARTNER_HOSTILE))
    url = f"/admin/partners/{w.partner_id}" if editing else "/admin/partners/new"
    newest = last_id(w, Partner)
    w.user("admin")
    outcome = attempt(w, "admin", url, fields, csrf=data.draw(csrf_choices))
    partner = latest(w, Partner, after=newest)
    if editing:
        with Session(w.engine) as db:
            partner = db.get(Partner, w.partner_id)
            db.expunge(partner)
    else:
        assert outcome.accepted == (partner is not None)
    if outcome.accepted:
        if fields["name"] != []:  # (left out, it keeps the name it had)
            assert partner.name == first(fields["name"]).strip()
        assert len(partner.payout_reference) <= 40
        show(w, "admin", "/admin/partners", partner.name)
        show(w, "admin", f"/admin/partners/{partner.id}", partner.contact_name)
        with Session(w.engine) as db:
            listed = partner in partners_for(db, db.get(Cohort, w.cohort_id))
        if listed:  # (a partner still serving the cohort: its people see the name)
            show(w, "maya", f"/wallet/cohorts/{w.cohort_id}/book", partner.name)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_giving_a_partner_a_login(world, data):
    w = world
    good = {"name": "Desk Two", "email": f"desk{w.number()}@harbour.example"}
    fields = data.draw(form_data(good, {"email": emails}))
    newest = last_id(w, User)
    url = f"/admin/partners/{w.partner_id}/users"
    outcome = attempt(w, "admin", url, fields, csrf=data.draw(csrf_choices))
    person = latest(w, User, after=newest)
    if outcome.accepted and person is not None:
        assert person.partner_id == w.partner_id
        show(w, "admin", f"/admin/partners/{w.partner_id}", person.name)


# --- the resource hub -----------------------------------------------------------------------

ENTRY = {
    "name": "Mind Infoline",
    "country": "GB",
    "languages": "en",
    "topics": ["emotional_support"],
    "channels": "phone: 0300 123 3393\nemail: info@mind.org.uk",
    "hours": "Europe/London: Mon-Fri 09:00-18:00",
    "free": "no",
    "source": "https://www.mind.org.uk/information-support/helplines/",
    "checked_on": "2027-03-01",
}
ENTRY_HOSTILE = {
    "country": st.one_of(st.sampled_from(["GB", "uk", "XX"]), texts),
    "languages": st.one_of(st.sampled_from(["en, es", "EN", "xx", "english"]), texts),
    "topics": st.one_of(st.sampled_from(["crisis", "music_industry", "nonsense"]), texts),
    "channels": st.one_of(
        st.sampled_from(
            [
                "web: javascript:pwn()",
                'chat: https://x.org/"><script>pwn()</script>',
                "email: a@b.c<svg onload=pwn()>",
                "text: 85258 (<script>pwn()</script>)",
                "phone: +44 (0) 20",
                "fax: 123",
            ]
        ),
        texts,
    ),
    "hours": st.one_of(
        st.sampled_from(
            ["24/7", "Mars/Olympus: Mon 09:00-17:00", "Europe/London: Sun 23:00-01:00"]
        ),
        texts,
    ),
    "free": st.one_of(st.sampled_from(["yes", "no", "unknown", "maybe"]), texts),
    "source": st.one_of(
        st.sampled_from(
            [
                "javascript:pwn()",
                'https://x.org/"><script>pwn()</script>',
                "data:text/html,<script>pwn()</script>",
                "//evil.example",
                "http://",
            ]
        ),
        texts,
    ),
    "checked_on": dates,
}


def new_resource(w: World) -> int:
    w.user("staff")
    raw = {
        **ENTRY,
        "name": f"Samaritans {w.number()}",
        "channels": [{"kind": "phone", "value": "116 123"}],
        "hours": {"always": True},
    }
    return w.core(lambda db: add_entry(db, w.person(db, "staff"), raw).id)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_directory_entries(world, data):
    w = world
    editing = data.draw(st.booleans())
    good = {**ENTRY, "name": f"Mind Infoline {w.number()}"}
    fields = data.draw(form_data(good, ENTRY_HOSTILE))
    resource_id = new_resource(w) if editing else None
    url = f"/staff/resources/{resource_id}/edit" if editing else "/staff/resources/new"
    newest = last_id(w, Resource)
    outcome = attempt(w, "staff", url, fields, csrf=data.draw(csrf_choices))
    entry = latest(w, Resource, after=newest)
    if editing:
        with Session(w.engine) as db:
            entry = db.get(Resource, resource_id)
            db.expunge(entry)
    else:
        assert outcome.accepted == (entry is not None)
    if outcome.accepted:
        assert entry.name == tidy(first(fields["name"]))
        assert entry.source.lower().startswith(("http://", "https://"))
        show(w, "staff", "/staff/resources", entry.name)
        public = show(w, "anon", f"/resources/?country={entry.country}", entry.name)
        for channel in entry.channels:
            assert not channel["value"].lower().startswith(("javascript:", "data:"))
        assert_shown_as_text(public, "the hub")


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_emergency_numbers(world, data):
    w = world
    good = {
        "country": "GB",
        "number": "999 / 112",
        "source": "https://www.gov.uk/guidance/999",
        "checked_on": "2027-03-01",
    }
    hostile = {
        "country": ENTRY_HOSTILE["country"],
        "number": st.one_of(
            st.sampled_from(["112", "+1 (555) 010", "9" * 41, "<b>911</b>"]), texts
        ),
        "source": ENTRY_HOSTILE["source"],
        "checked_on": dates,
    }
    fields = data.draw(form_data(good, hostile))
    url = "/staff/resources/emergency-numbers"
    outcome = attempt(w, "staff", url, fields, csrf=data.draw(csrf_choices))
    if outcome.accepted:
        with Session(w.engine) as db:
            number = db.scalar(select(EmergencyNumber).order_by(EmergencyNumber.checked_on.desc()))
            shown, source = number.number, number.source
        assert source.lower().startswith(("http://", "https://"))
        show(w, "staff", "/staff/resources", shown)
        show(w, "anon", "/resources/")


# --- logging in, links from emails, the language switch -------------------------------------

# A link's token as a mangled copy could have it: anything, in one path segment.
hostile_segments = texts.map(lambda text: quote(text, safe="")).filter(bool)
nexts = st.one_of(
    st.sampled_from(
        [
            "/wallet/",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            " //evil.example",
            "https://evil.example/",
            "javascript:pwn()",
            "/%2F%2Fevil.example",
            "\\\\evil.example",
            "/staff/",
            "http://localhost/",
        ]
    ),
    texts,
)


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_logging_in(world, data):
    w = world
    person = w.user("staff")
    good = {"email": person.email, "password": PASSWORD}
    fields = data.draw(form_data(good, {"email": emails, "password": texts}))
    target = data.draw(st.one_of(st.none(), nexts))
    url = "/auth/login" + ("" if target is None else f"?next={quote(target)}")
    outcome = attempt(w, w.fresh_client(), url, fields, csrf=data.draw(csrf_choices))
    if outcome.accepted:
        assert first(fields["password"]) == PASSWORD


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_confirming_it_is_you(world, data):
    w = world
    fields = data.draw(form_data({"password": PASSWORD}, {}))
    target = data.draw(st.one_of(st.none(), nexts))
    url = "/auth/confirm" + ("" if target is None else f"?next={quote(target)}")
    outcome = attempt(w, "finance", url, fields, csrf=data.draw(csrf_choices))
    if outcome.accepted:
        assert first(fields["password"]) == PASSWORD


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_asking_for_a_password_reset(world, data):
    w = world
    fields = data.draw(form_data({"email": w.user("sam").email}, {"email": emails}))
    newest = last_id(w, OutboxMessage)
    attempt(w, "anon", "/auth/reset", fields, csrf=data.draw(csrf_choices))
    message = latest(w, OutboxMessage, after=newest)
    if message is not None and message.to_address:  # (blanked once found to have no account)
        assert "@" in message.to_address and "\n" not in message.to_address


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_choosing_a_new_password(world, data):
    w = world
    person = w.user("sam")
    with Session(w.engine) as db:
        generation = db.get(User, person.id).session_generation
    token = make_token(
        w.app.config["SECRET_KEY"], "password-reset", {"u": person.id, "g": generation}
    )
    new = "a brand new passphrase"
    good = {"new_password": new, "confirm_password": new}
    fields = data.draw(form_data(good, {}))
    if data.draw(st.integers(0, 4)) == 0:  # or the same hostile password twice
        fields["new_password"] = fields["confirm_password"] = data.draw(texts)
    outcome = attempt(w, "anon", f"/auth/reset/{token}", fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        moved = db.get(User, person.id).session_generation != generation
    assert moved == outcome.accepted
    if outcome.accepted:
        assert first(fields["new_password"]) == first(fields["confirm_password"])
        assert 12 <= len(first(fields["new_password"])) <= 256


def new_invitation(w: World) -> tuple[int, str]:
    cohort_id = w.cohort_id
    email = f"newcomer{w.number()}@example.org"

    def work(db):
        enrolment = invite(
            db,
            w.person(db, "staff"),
            db.get(Cohort, cohort_id),
            Invitee(name="Ana Brook", artist_name="The Brooks", email=email, country="US"),
        )
        return enrolment.id, enrolment.invite_nonce

    return w.core(work)


def consent_id(w: World) -> int:
    with Session(w.engine) as db:
        return db.scalar(select(func.max(ConsentText.id)).where(ConsentText.programme_id == 3))


LINK_HOSTILE = {
    "consent": ticks,
    "consent_text_id": st.one_of(numbers, texts),
    "new_password": texts,
    "confirm_password": texts,
}


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_accepting_an_invitation(world, data):
    w = world
    enrolment_id, nonce = new_invitation(w)
    token = make_token(w.app.config["SECRET_KEY"], "invitation", {"e": enrolment_id, "n": nonce})
    new = "river stone lantern"
    good = {
        "consent": "y",
        "consent_text_id": str(consent_id(w)),
        "new_password": new,
        "confirm_password": new,
    }
    fields = data.draw(form_data(good, LINK_HOSTILE))
    path = data.draw(st.one_of(st.just(token), st.just(token), hostile_segments))
    outcome = attempt(
        w, w.fresh_client(), f"/auth/invitation/{path}", fields, csrf=data.draw(csrf_choices)
    )
    with Session(w.engine) as db:
        status = db.get(Enrolment, enrolment_id).status
    assert (status == "active") == outcome.accepted


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_answering_a_gift_by_its_link(world, data):
    w = world
    email = f"bandmate{w.number()}@example.org"
    revoke_waiting_gifts(w)
    gift_id, nonce = new_gift(w, email)
    token = make_token(w.app.config["SECRET_KEY"], "gift", {"g": gift_id, "n": nonce})
    new = "river stone lantern"
    decline = data.draw(st.booleans())
    good = (
        {}
        if decline
        else {
            "consent": "y",
            "consent_text_id": str(consent_id(w)),
            "new_password": new,
            "confirm_password": new,
        }
    )
    fields = data.draw(form_data(good, LINK_HOSTILE))
    path = data.draw(st.one_of(st.just(token), st.just(token), hostile_segments))
    url = f"/auth/gift/{path}" + ("/decline" if decline else "")
    outcome = attempt(
        w, w.fresh_client(), url, fields, csrf=data.draw(csrf_choices), accept_200="Gift declined"
    )
    with Session(w.engine) as db:
        status = db.get(Gift, gift_id).status
    assert (status != GiftStatus.PENDING) == outcome.accepted


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_switching_language(world, data):
    w = world
    signed_in = data.draw(st.booleans())
    client = w.client("polyglot") if signed_in else w.fresh_client()
    good = {"language": "es", "next": "/resources/"}
    hostile = {
        "language": st.one_of(st.sampled_from(["es", "en", "ES", "es-MX", "fr", "es_ES"]), texts),
        "next": nexts,
    }
    fields = data.draw(form_data(good, hostile))
    outcome = attempt(w, client, "/language", fields, csrf=data.draw(csrf_choices))
    if signed_in and outcome.accepted:
        with Session(w.engine) as db:
            assert db.get(User, w.user("polyglot").id).locale in ("en", "es")


CODES = "Your recovery codes"  # the page that answers two-step set-up and new codes


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_entering_a_sign_in_code(world, data):
    w = world
    person = w.user("staff2")
    client = w.fresh_client()
    page = client.get("/auth/login")
    client.post(
        "/auth/login",
        data={"email": person.email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    good = {"code": current_code(w.app, person.email)}
    code_like = st.one_of(
        st.sampled_from([good["code"][:3] + " " + good["code"][3:], "000000", "1" * 40]), texts
    )
    fields = data.draw(form_data(good, {"code": code_like}))
    outcome = attempt(
        w,
        client,
        "/auth/two-step",
        fields,
        csrf=data.draw(csrf_choices),
        refusal_audits=("auth.two_step_failed",),
    )
    if outcome.accepted:
        assert "".join(first(fields["code"]).split()) == good["code"]
        show(w, client, "/staff/")  # in


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_setting_up_two_step_sign_in(world, data):
    w = world
    person = w.make_user("ambassador", email=f"careful{w.number()}@example.org")
    client = w.fresh_client()
    AuthActions(client).login(person.email)
    client.get("/auth/two-step/setup").close()
    with client.session_transaction() as session:
        secret = session["totp_setup"]
    good = {"code": pyotp.TOTP(secret).at(clock.now())}
    fields = data.draw(form_data(good, {"code": st.one_of(numbers, texts)}))
    url = "/auth/two-step/setup"
    outcome = attempt(w, client, url, fields, csrf=data.draw(csrf_choices), accept_200=CODES)
    with Session(w.engine) as db:
        enabled = db.get(User, person.id).totp_enabled_at is not None
    assert enabled == outcome.accepted


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_admin_changing_an_account(world, data):
    w = world
    person = w.make_user("ambassador", email=f"account{w.number()}@example.org")
    action = data.draw(st.sampled_from(["roles", "disable", "enable", "two-step/reset"]))
    good = {"roles": ["ambassador", "recipient"]} if action == "roles" else {}
    roles = st.one_of(st.sampled_from(["ambassador", "staff", "admin", "partner", "ADMIN"]), texts)
    fields = data.draw(form_data(good, {"roles": roles}))
    url = f"/admin/users/{person.id}/{action}"
    outcome = attempt(w, "admin", url, fields, csrf=data.draw(csrf_choices))
    with Session(w.engine) as db:
        held = set(db.get(User, person.id).role_names)
    if outcome.accepted and action == "roles":
        chosen = fields["roles"] if isinstance(fields["roles"], list) else [fields["roles"]]
        assert held == set(chosen) and held <= {"ambassador", "recipient", "staff", "admin"}
    show(w, "admin", f"/admin/users/{person.id}")


# --- buttons: a CSRF token and nothing else is expected ---------------------------------------


def new_staged_import(w: World) -> int:
    cohort_id, staff = w.cohort_id, w.user("staff")

    def work(db):
        staged = EnrolmentImport(
            cohort_id=cohort_id,
            created_by_id=staff.id,
            filename="people.csv",
            rows=[
                {
                    "line": 2,
                    "name": "Cara Diaz",
                    "artist_name": "Diaz",
                    "email": f"cara{w.number()}@example.org",
                    "country": "US",
                }
            ],
            row_count=1,
        )
        db.add(staged)
        db.flush()
        return staged.id

    return w.core(work)


BUTTONS = {
    "withdraw a request": ("maya", lambda w: f"/wallet/requests/{open_request(w)}/withdraw"),
    "cancel a booking": ("maya", lambda w: f"/wallet/vouchers/{new_voucher(w)[0]}/cancel"),
    "revoke a gift": (
        "maya",
        lambda w: f"/wallet/gifts/{new_gift(w, f'crew{w.number()}@example.org')[0]}/revoke",
    ),
    "resend an invitation": (
        "staff",
        lambda w: f"/staff/enrolments/{new_invitation(w)[0]}/resend",
    ),
    "withdraw an invitation": (
        "staff",
        lambda w: f"/staff/enrolments/{new_invitation(w)[0]}/revoke",
    ),
    "close a place": ("staff", lambda w: f"/staff/enrolments/{new_invitation(w)[0]}/close"),
    "check an entry": ("staff", lambda w: f"/staff/resources/{new_resource(w)}/checked"),
    "retire an entry": ("staff", lambda w: f"/staff/resources/{new_resource(w)}/retire"),
    "restore an entry": ("staff", lambda w: f"/staff/resources/{new_resource(w)}/restore"),
    "confirm an import": ("staff", lambda w: f"/staff/imports/{new_staged_import(w)}/confirm"),
    "discard an import": ("staff", lambda w: f"/staff/imports/{new_staged_import(w)}/discard"),
    "switch two-step off": ("staff2", lambda w: "/auth/security/two-step/off"),
    "log out": ("polyglot", lambda w: "/auth/logout"),
}
# A button whose answer is a page of its own (new recovery codes, shown once).
PAGE_BUTTONS = {"new recovery codes": ("staff2", lambda w: "/auth/security/recovery-codes")}


@settings(max_examples=PER_FORM)
@given(data=st.data())
def test_buttons(world, data):
    w = world
    button = data.draw(st.sampled_from(sorted({**BUTTONS, **PAGE_BUTTONS})))
    who, make = {**BUTTONS, **PAGE_BUTTONS}[button]
    revoke_waiting_gifts(w)
    fields = data.draw(form_data({}, {}))
    if data.draw(st.booleans()):
        fields["back"] = data.draw(shaped(st.one_of(st.just("stale"), texts)))
    csrf = data.draw(csrf_choices)
    attempt(w, who, make(w), fields, csrf=csrf, accept_200=CODES)
    w.clients.pop("polyglot", None)  # logged out, perhaps


# --- pages that show many people's words at once --------------------------------------------


def test_pages_that_gather_what_people_typed_show_it_as_text(world):
    """After a spread of hostile names, messages and entries is accepted, the pages that
    list them together (the audit log, the review queue, the finance pages) show every one
    as text."""
    w = world
    payload = '<script>pwn()</script>"><img src=x onerror=pwn()>'
    maya_gift = new_gift(w, f"crew{w.number()}@example.org", name=f"Sam {payload}")
    assert maya_gift
    open_request(w)
    attempt(
        w,
        "staff",
        f"/staff/cohorts/{w.cohort_id}/invite",
        {
            "name": f"Ana {payload}",
            "artist_name": f"The {payload}",
            "email": "ana@example.org",
            "country": "US",
        },
    )
    attempt(
        w,
        "staff",
        "/staff/partner-grants",
        {
            "partner_id": str(w.partner_id),
            "request_id": str(uuid.uuid4()),
            "amount": "10.00",
            "purpose": f"For {payload}",
        },
    )
    for who, url in (
        ("admin", "/admin/"),
        ("admin", "/admin/audit"),
        ("admin", "/admin/partners"),
        ("staff", "/staff/"),
        ("staff", "/staff/requests"),
        ("staff", f"/staff/cohorts/{w.cohort_id}"),
        ("staff", "/staff/partner-grants"),
        ("finance", "/finance/"),
        ("finance", "/finance/batches"),
        ("maya", "/wallet/"),
        ("partner", "/partner/"),
    ):
        show(w, who, url)


# --- what the hunt found, kept as plain cases -----------------------------------------------


@pytest.mark.parametrize(
    ("where", "sent"),
    [
        ("wallet", "²"),
        ("wallet", None),
        ("invitation", "²"),
        ("invitation", None),
        ("gift link", "²"),
        ("gift link", None),
    ],
)
def test_an_odd_or_missing_consent_version_is_not_a_crash(world, where, sent):
    """Where the consent's id is read: "²" (a digit to str.isdigit, not to int), or no
    consent_text_id at all."""
    w = world
    fields = {"consent": "y"} | ({} if sent is None else {"consent_text_id": sent})
    if where == "wallet":
        gift_id, _nonce = new_gift(w, w.user("sam").email)
        attempt(w, "sam", f"/wallet/gifts/{gift_id}/accept", fields)
        return
    new = "river stone lantern"
    fields |= {"new_password": new, "confirm_password": new}
    if where == "invitation":
        enrolment_id, nonce = new_invitation(w)
        token = make_token(
            w.app.config["SECRET_KEY"], "invitation", {"e": enrolment_id, "n": nonce}
        )
        attempt(w, w.fresh_client(), f"/auth/invitation/{token}", fields)
    else:
        gift_id, nonce = new_gift(w, f"newcomer{w.number()}@example.org")
        token = make_token(w.app.config["SECRET_KEY"], "gift", {"g": gift_id, "n": nonce})
        attempt(w, w.fresh_client(), f"/auth/gift/{token}", fields)


def test_a_number_too_large_for_a_float_is_refused_not_a_crash(world):
    """WTForms' NumberRange checks through float(): 400 digits made it crash."""
    w = world
    outcome = attempt(w, "maya", f"/wallet/cohorts/{w.cohort_id}/ask", {"sessions": "9" * 400})
    assert not outcome.accepted and "Not a valid integer value." in outcome.page


def test_funding_past_any_budget_is_refused_in_words(world):
    """The refusal names the total it would make: Babel could not format 31 digits."""
    w = world
    url = f"/staff/cohorts/{w.cohort_id}/fund"
    outcome = attempt(w, "staff", url, {"sessions": str(10**30), "request_id": str(uuid.uuid4())})
    assert not outcome.accepted and "1,000,000,000,000,000,000,000,000,000,500" in outcome.page


def test_a_long_decline_message_reaches_the_ambassador(world):
    """An email line may not pass 998 bytes (SMTP); a 1,000-character message typed as one
    line used to make one, and the email was refused for good."""
    w = world
    grant_id = open_request(w)
    message = "é" * 1000
    outcome = attempt(w, "staff", f"/staff/requests/{grant_id}/decline", {"message": message})
    assert outcome.accepted
    [email] = w.mailbox.to(w.user("maya").email)
    assert message in w.mailbox.text(email)


def test_a_nul_in_a_repeated_field_is_refused(world):
    """Only the first value of each field used to be checked for NUL."""
    w = world
    fields = {**PARTNER, "name": "Nul Partner", "regions": ["US", "G\x00B"]}
    outcome = attempt(w, "admin", "/admin/partners/new", fields)
    assert outcome.status == 400
