"""Fixtures shared by the whole suite.

Every test that touches the database gets a migrated one of its own: on SQLite a copy of a
template file, on PostgreSQL (GRANTS_TEST_DATABASE_URL) a per-run database emptied between
tests. After each test the ledger's invariants are checked on what the test left behind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from types import SimpleNamespace

import pyotp
import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from grants import create_app, logs
from grants.core import schema, two_factor
from grants.core.clock import clock
from grants.core.db import Base, commit_with_retry, make_engine
from grants.core.ledger import verify_ledger
from grants.core.people import create_user
from grants.core.session_totals import drift

PG_URL = os.environ.get("GRANTS_TEST_DATABASE_URL")
REQUIRE_POSTGRES = os.environ.get("GRANTS_REQUIRE_POSTGRES") == "1"
PASSWORD = "correct horse battery staple"

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("default")


def pytest_configure(config):
    if REQUIRE_POSTGRES and not (PG_URL or "").startswith("postgresql"):
        raise pytest.UsageError(
            "GRANTS_REQUIRE_POSTGRES=1 but GRANTS_TEST_DATABASE_URL is not a PostgreSQL URL"
        )
    _compile_catalogues()


def _compile_catalogues() -> None:
    """Tests read the catalogues as they are in the tree, compiled now (what `make
    translations` does), so an edited .po is never tested through a stale .mo."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "translations").glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as handle:
            catalogue = read_po(handle)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue)


def pytest_report_header(config):
    if PG_URL:
        return f"database: PostgreSQL ({make_url(PG_URL).render_as_string(hide_password=True)})"
    return "database: SQLite (a file per test)"


@dataclass
class Template:
    url: str
    path: Path | None = None  # SQLite only
    reference: dict | None = None  # PostgreSQL only: rows to restore before each test

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A database migrated to the newest revision, once per run."""
    if PG_URL:
        name = f"grants_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        server = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        schema.upgrade(engine)
        engine.dispose()
        yield Template(url=url, reference=_snapshot_reference_data(url))
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        server.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "grants.db"
        engine = make_engine(f"sqlite:///{path}")
        schema.upgrade(engine)
        engine.dispose()
        yield Template(url=f"sqlite:///{path}", path=path)


def _snapshot_reference_data(url: str) -> dict[str, list[dict]]:
    """Rows the migrations themselves insert (programmes, consent texts): every test on
    PostgreSQL starts from them again after the tables are emptied."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = {
            table.name: [dict(row._mapping) for row in connection.execute(table.select())]
            for table in Base.metadata.sorted_tables
        }
    engine.dispose()
    return {name: table_rows for name, table_rows in rows.items() if table_rows}


@contextmanager
def scratch_postgres(server_url: str, prefix: str):
    """The URL of a new, empty database on the server of `server_url`, dropped afterwards:
    for tests that need a database of their own beside the suite's shared one."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


def _empty_postgres(url: str, reference: dict[str, list[dict]]) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        # Append-only tables refuse TRUNCATE; only the test harness may lift that.
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's cost is per table
        # (new files for each), several times a DELETE of what little is there. Triggers,
        # foreign keys among them, are off in replica mode, so the order does not matter.
        for table in Base.metadata.sorted_tables:
            connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
        connection.exec_driver_sql(
            "SELECT setval(s.oid, 1, false) FROM pg_class s WHERE s.relkind = 'S'"
        )
        for table in Base.metadata.sorted_tables:
            if table.name in reference:
                connection.execute(table.insert(), reference[table.name])
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path, request):
    """A fresh, migrated database for this test; its ledger is verified afterwards."""
    if database_template.is_sqlite:
        path = tmp_path / "grants.db"
        shutil.copyfile(database_template.path, path)
        url = f"sqlite:///{path}"
    else:
        url = database_template.url
        _empty_postgres(url, database_template.reference)
    yield url
    if request.node.get_closest_marker("breaks_ledger"):
        return
    engine = make_engine(url)
    with Session(engine) as session:
        report = verify_ledger(session)
        wrong = drift(session)  # the finance reports' running totals
    engine.dispose()
    assert report.ok, report.summary()
    assert not wrong, "\n".join(map(str, wrong))


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _reset_logging():
    """An app made under the production or development profile sets up logging for the
    whole process (grants.logs): the next test starts from the runner's own again."""
    level = logging.getLogger().level
    yield
    logs.unconfigure()
    logging.getLogger().setLevel(level)


class Collector:
    """An aiosmtpd handler that keeps what it receives, or refuses it when told to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refusal: str | None = None  # e.g. "451 4.3.0 try again later"
        self.refusals: dict[str, str] = {}  # per recipient

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusal:
            return self.refusal
        message = message_from_bytes(envelope.content, policy=email_policy)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on 127.0.0.1 for the whole run."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    collector.port = port
    yield collector
    controller.stop()


class Mailbox:
    """What the test SMTP server received during this test."""

    LINK = re.compile(r"https?://[^\s<>\"]+")

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m.envelope_to]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def links(self, message: EmailMessage) -> list[str]:
        return self.LINK.findall(self.text(message))

    def refuse(self, reply: str | None) -> None:
        self.collector.refusal = reply

    def refuse_only(self, address: str, reply: str) -> None:
        self.collector.refusals[address] = reply


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.messages.clear()
    smtp_server.refusal = None
    smtp_server.refusals.clear()
    yield Mailbox(smtp_server)
    smtp_server.refusal = None
    smtp_server.refusals.clear()


BASE_URL = "http://grants.test"


@pytest.fixture
def app(database_url, smtp_server):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "BASE_URL": BASE_URL,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": smtp_server.port,
        },
        env="test",
    )
    yield app
    app.extensions["grants.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """A factory: make_user("staff") creates a user with that role and PASSWORD. A partner
    user acts for `partner_id`, or for a partner made for them."""
    from grants.core.models.people import User
    from grants.core.partners import PartnerSettings, save_partner
    from grants.database import get_session

    counter = iter(range(1, 10_000))

    def make(
        *roles: str,
        email: str | None = None,
        name: str | None = None,
        partner_id: int | None = None,
        two_step: bool | None = None,
        **extra,
    ):
        number = next(counter)
        with app.app_context():
            db = get_session()

            def work():
                user = create_user(
                    db,
                    None,
                    email=email or f"person{number}@example.org",
                    name=name or f"Person {number}",
                    roles=roles,
                    password=PASSWORD,
                    **extra,
                )
                if two_step or (two_step is None and two_factor.required(user)):
                    # Staff, finance and admin must use two-step sign-in: their test
                    # accounts have it on, and AuthActions.login gives the code.
                    user.totp_secret = pyotp.random_base32()
                    user.totp_enabled_at = clock.now()
                if "partner" in roles:
                    user.partner_id = (
                        partner_id
                        or save_partner(
                            db,
                            user,
                            PartnerSettings(
                                name=f"Partner {number}",
                                kind="therapy",
                                currency="USD",
                                regions=("US",),
                            ),
                        ).id
                    )
                return user

            user = commit_with_retry(db, work)
            user = db.get(User, user.id)
            return SimpleNamespace(
                id=user.id,
                email=user.email,
                name=user.name,
                roles=roles,
                partner_id=user.partner_id,
            )

    return make


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'type="hidden" name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def submit(
    client,
    url: str,
    data: dict | None = None,
    *,
    form_page: str | None = None,
    follow: bool = False,
):
    """POST a form the way a browser does: with the CSRF token of the page it is on.

    The response is closed, as a server closes it, which is when email queued by the
    request is sent.
    """
    page = client.get(form_page or url)
    response = client.post(
        url, data={**(data or {}), "csrf_token": csrf_token(page.text)}, follow_redirects=follow
    )
    response.get_data()
    response.close()
    return response


def current_code(app, email: str) -> str:
    """The code `email`'s authenticator would show now. A code works once per 30-second
    step, and tests log in many times a second: the harness (only) forgets the last step
    used, so each login in a test gets through."""
    from grants.core.models.people import User
    from grants.database import get_session

    with app.app_context():
        db = get_session()
        user = db.scalar(select(User).where(User.email == email.lower()))
        user.totp_last_step = None
        db.commit()
        return pyotp.TOTP(user.totp_secret).at(clock.now())


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, next_url: str | None = None):
        page = self.client.get("/auth/login")
        target = "/auth/login" + (f"?next={next_url}" if next_url else "")
        response = self.client.post(
            target,
            data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        )
        if response.headers.get("Location", "").endswith("/auth/two-step"):
            page = self.client.get("/auth/two-step")
            response = self.client.post(
                "/auth/two-step",
                data={
                    "code": current_code(self.client.application, email),
                    "csrf_token": csrf_token(page.text),
                },
            )
        return response

    def logout(self):
        page = self.client.get("/resources/")
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(page.text)})


@pytest.fixture
def auth(client):
    return AuthActions(client)


def cohort_settings(**overrides):
    from grants.core.cohorts import CohortSettings

    values = {
        "programme_id": 3,  # RADAR, inserted by the migrations
        "region": "US",
        "intake_name": "2027",
        "status": "current",
        "currency": "USD",
        "session_value": 12_000,
        "session_allowance": 10,
        "session_budget": 500,
        "gift_expiry_days": 30,
        "starts_on": date(2027, 1, 1),
        "ends_on": date(2027, 12, 31),
    }
    return CohortSettings(**{**values, **overrides})


@pytest.fixture
def demo_world(app):
    """The demo data `make run` loads (every role, cohorts, gifts, bookings, batches) and the
    shipped resource directory: pages with something on them, for crawls."""
    from grants.core import demo
    from grants.core import resources as directory
    from grants.database import get_session

    with app.app_context():
        db = get_session()
        demo.seed(db)
        directory.load_seed(db)
        db.commit()


@pytest.fixture
def make_cohort(app, make_user):
    """A factory: make_cohort(region="GB", funded=100) sets up a cohort through the core."""
    from grants.core.cohorts import create_cohort, fund_cohort
    from grants.core.models.people import User
    from grants.database import get_session

    owner = []

    def make(*, funded: int = 0, **overrides):
        if not owner:
            owner.append(make_user("staff", email="cohort-maker@example.org"))
        with app.app_context():
            db = get_session()

            def work():
                actor = db.get(User, owner[0].id)
                cohort = create_cohort(db, actor, cohort_settings(**overrides))
                if funded:
                    fund_cohort(db, actor, cohort, funded, transfer_id=uuid.uuid4())
                return cohort.id

            return commit_with_retry(db, work)

    return make
