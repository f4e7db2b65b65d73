"""Crash safety (security issue 10): gunicorn on PostgreSQL under a stream of gifts and
voucher confirmations, first with a worker killed by SIGKILL, then with PostgreSQL stopped
abruptly (`pg_ctl stop -m immediate`) and started again. Every request that failed or got no
answer is sent again, exactly as a browser resubmits a form: the same gift `request_id`, the
same voucher code. Afterwards `flask ledger verify` passes and each request took effect exactly
once: one gift per request id, each voucher confirmed and paid once, and every balance equal to
the arithmetic.

The test never touches the shared PostgreSQL server: it starts a throwaway cluster of its own
(initdb into a temporary directory, on a free port, trust authentication), and runs only in the
PostgreSQL pass (GRANTS_TEST_DATABASE_URL) where the server binaries are known to be present.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grants import create_app
from grants.core.cohorts import create_cohort, fund_cohort
from grants.core.db import commit_with_retry, make_engine
from grants.core.funding import wallet_account
from grants.core.models.audit import AuditEntry
from grants.core.models.cohorts import Cohort
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.ledger import Transfer
from grants.core.models.outbox import OutboxMessage
from grants.core.models.partners import Voucher, VoucherStatus
from grants.core.models.people import User
from grants.core.money_ledger import funding_account, payable_account
from grants.core.partners import PartnerSettings, save_partner
from grants.core.people import create_user
from grants.core.vouchers import book_session
from grants.database import get_session
from tests.conftest import PASSWORD, PG_URL, REQUIRE_POSTGRES, cohort_settings, csrf_token
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits

ROOT = Path(__file__).resolve().parent.parent
SESSION_VALUE = 12_000
WORKERS = 2  # fewer than the client streams, so a worker is nearly always mid-request
GIFTS_PER_PHASE = 12  # per ambassador
CONFIRMS_PER_PHASE = 7  # per partner (its voucher entries are throttled: 30 a minute)
UNTOUCHED = 2  # vouchers per partner nobody confirms
CREDITS = 60  # per ambassador
JOB_DEADLINE = 30.0  # seconds a request may keep failing before the test gives up


def _postgres_bindir() -> Path | None:
    """Where initdb, postgres and pg_ctl are: $GRANTS_PG_BINDIR, else Debian's
    /usr/lib/postgresql/<version>/bin, 15 first (the version the project runs)."""
    candidates = [os.environ.get("GRANTS_PG_BINDIR", "")]
    versions = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()),
        key=lambda path: (path.parent.name != "15", -int(path.parent.name)),
    )
    candidates += [str(path) for path in versions]
    for candidate in candidates:
        if candidate and all(
            os.access(Path(candidate) / tool, os.X_OK) for tool in ("initdb", "postgres", "pg_ctl")
        ):
            return Path(candidate)
    return None


def _run_as_postgres() -> list[str] | None:
    """initdb and postgres refuse to run as root: as root they run as the `postgres` user
    through runuser. None when that is impossible."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else None


def _skip_reason() -> str | None:
    if not (PG_URL or "").startswith("postgresql"):
        return (
            "crash safety runs in the PostgreSQL pass: set GRANTS_TEST_DATABASE_URL="
            "postgresql+psycopg://... (the test then starts a private cluster of its own)"
        )
    if _postgres_bindir() is None:
        return (
            "PostgreSQL server binaries (initdb, postgres, pg_ctl) not found under "
            "/usr/lib/postgresql/*/bin or $GRANTS_PG_BINDIR (apt-get install postgresql-15)"
        )
    if _run_as_postgres() is None:
        return "running as root without runuser or a `postgres` user to run the cluster as"
    return None


SKIP_REASON = _skip_reason()
if SKIP_REASON and REQUIRE_POSTGRES and (PG_URL or "").startswith("postgresql"):
    # CI's PostgreSQL pass must not pass quietly without the crash test.
    raise RuntimeError(f"GRANTS_REQUIRE_POSTGRES=1 but the crash test cannot run: {SKIP_REASON}")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "")]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL everything in the process group `process` leads, then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --- a private PostgreSQL cluster ---------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL cluster in `base`, its postmaster led by a process group of its
    own so that nothing of it can outlive the test."""

    def __init__(self, base: Path) -> None:
        self.bindir = _postgres_bindir()
        self.as_postgres = _run_as_postgres()
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/grants"

    def _tool(self, name: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_postgres, str(self.bindir / name), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise AssertionError(f"{name} failed:\n{done.stdout}{done.stderr}")

    def init(self) -> None:
        self._tool(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.as_postgres,
                    str(self.bindir / "postgres"),
                    "-D", str(self.data),
                    "-p", str(self.port),
                    "-k", str(self.base),
                    "-c", "listen_addresses=127.0.0.1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        if not _wait_for(self.accepts_connections, timeout=30, interval=0.1):
            raise AssertionError(f"the private PostgreSQL did not start:\n{_tail(self.log)}")

    def accepts_connections(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the private PostgreSQL exited:\n{_tail(self.log)}")
        try:
            psycopg.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                connect_timeout=1,
            ).close()  # fmt: skip
        except psycopg.OperationalError:
            return False
        return True

    def stop_immediately(self) -> None:
        """What a crash looks like to the app: every backend dies at once, no checkpoint;
        the next start replays the write-ahead log."""
        self._tool("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        self.process.wait(timeout=30)

    def destroy(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.stop_immediately()
            _kill_group(self.process)


@pytest.fixture
def cluster():
    # Under /tmp, not pytest's tmp_path: the `postgres` user must reach it, and the socket's
    # path must stay short.
    base = Path(tempfile.mkdtemp(prefix="grants-crash-", dir="/tmp"))
    cluster = None
    try:
        if os.geteuid() == 0:
            # The cluster runs as `postgres`; mkdtemp made its directory private to root.
            shutil.chown(base, user="postgres")
        cluster = Cluster(base)
        cluster.init()
        cluster.start()
        with psycopg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres",
            autocommit=True,
        ) as connection:  # fmt: skip
            connection.execute("CREATE DATABASE grants")
        yield cluster
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def _environment(cluster: Cluster) -> dict[str, str]:
    """The app as an operator runs it: the development profile (production would also want
    Redis for the rate limits, which other people's tests share), no mail sent."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GRANTS_", "MAIL_", "RATELIMIT_", "DATABASE_", "FLASK_"))
    }
    env.update(
        GRANTS_ENV="development",
        GRANTS_INSTANCE_PATH=str(cluster.base / "instance"),
        DATABASE_URL=cluster.url,
        SECRET_KEY=uuid.uuid4().hex,
        MAIL_BACKEND="none",
        RATELIMIT_STORAGE_URI="memory://",
    )
    return env


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- gunicorn -----------------------------------------------------------------------------


class Gunicorn:
    """gunicorn on a free port, its output in `log`. `command` replaces the one below (the
    deployment guide's, in tests/test_deploy.py, which binds to `port` from its settings);
    it is up once `probe` answers 200."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        command: list[str] | None = None,
        probe: str = "/auth/login",
    ) -> None:
        self.port = _free_port()
        self.env = env
        self.log = log
        self.command = command
        self.probe = probe
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                self.command or [
                    sys.executable, "-m", "gunicorn",
                    "--workers", str(WORKERS),
                    "--bind", f"127.0.0.1:{self.port}",
                    "--timeout", "30",
                    "--graceful-timeout", "3",
                    "--log-level", "warning",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        if not _wait_for(self._answers, timeout=30, interval=0.2):
            raise AssertionError(f"gunicorn did not start:\n{_tail(self.log)}")

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{_tail(self.log)}")
        try:
            return Browser(self.port).get(self.probe).status == 200
        except (OSError, http.client.HTTPException):
            return False

    def workers(self) -> list[int]:
        """The worker processes' ids: the master's children."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so read after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=8)
        _kill_group(self.process)


# --- a browser ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    location: str
    text: str


class Browser:
    """Just enough of a browser: cookies kept, one connection per request, redirects not
    followed (so a form's answer is seen as it is)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> Reply:
        return self._request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self._request("POST", path, form)

    def post_and_hang_up(self, path: str, form: dict[str, str]) -> None:
        """Send a form and go away without waiting for the answer (a dropped connection, a
        proxy that gave up): the server still does the work, and only the answer is lost."""
        self._request("POST", path, form, hang_up=True)

    def _request(
        self, method: str, path: str, form: dict[str, str] | None = None, *, hang_up=False
    ) -> Reply | None:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers)
            if hang_up:
                return None
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if value and "expires=thu, 01 jan 1970" not in header.lower():
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
            return Reply(response.status, response.getheader("Location") or "", text)
        finally:
            connection.close()

    def log_in(self, email: str) -> None:
        page = self.get("/auth/login")
        reply = self.post(
            "/auth/login",
            {"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        )
        assert reply.status == 302, f"login of {email} refused: {reply.status}"
        assert "two-step" not in reply.location, f"{email} unexpectedly needs a second step"


# --- the stream of requests -------------------------------------------------------------------


@dataclass
class Job:
    """One form submission, sent again unchanged until it gets a real answer."""

    path: str
    form: dict[str, str]
    hang_up_first: bool = False  # its first answer is lost whatever happens
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    done: bool = False


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0
    failures: int = 0  # form posts that failed or got no answer (each then retried)

    def note(self, *, done: bool = False, failed: bool = False) -> None:
        with self.lock:
            self.done += done
            self.failures += failed


def _gift_answered(job: Job, reply: Reply) -> bool:
    """A gift is sent when the form redirects to the wallet. A retry of a gift the server had
    already made is answered the same way: the request id finds it."""
    return reply.status == 302 and urlsplit(reply.location).path == "/wallet/"


def _confirm_answered(job: Job, reply: Reply) -> bool:
    """A confirmation redirects back to the form. A retry of one that had gone through (the
    answer lost) is told the code was already confirmed: the code is its own key."""
    if reply.status == 302 and urlsplit(reply.location).path == "/partner/confirm":
        return True
    return reply.status == 422 and job.failures != [] and "already confirmed" in reply.text


def _stream(
    browser: Browser,
    form_page: str,
    jobs: list[Job],
    answered: Callable[[Job, Reply], bool],
    stats: Stats,
) -> None:
    """Send each job in turn: a failure or no answer is retried (after a short, growing
    pause) with the same form; any other answer than the expected one fails the test."""
    token = csrf_token(browser.get(form_page).text)
    for job in jobs:
        deadline = time.monotonic() + JOB_DEADLINE
        pause = 0.05
        while not job.done:
            job.attempts += 1
            if job.hang_up_first and job.attempts == 1:
                with contextlib.suppress(OSError, http.client.HTTPException):
                    browser.post_and_hang_up(job.path, {**job.form, "csrf_token": token})
                job.failures.append("answer not waited for")
                continue
            try:
                reply = browser.post(job.path, {**job.form, "csrf_token": token})
            except (OSError, http.client.HTTPException) as error:
                failure = f"no answer ({type(error).__name__})"
            else:
                if reply.status < 500 and answered(job, reply):
                    job.done = True
                    stats.note(done=True)
                    break
                if reply.status < 500:
                    raise AssertionError(
                        f"{job.path} {job.form} answered {reply.status} after "
                        f"{job.failures}:\n{reply.text[:2000]}"
                    )
                failure = f"HTTP {reply.status}"
            job.failures.append(failure)
            stats.note(failed=True)
            if time.monotonic() > deadline:
                raise AssertionError(f"{job.path} {job.form} still failing: {job.failures}")
            time.sleep(pause)
            pause = min(pause * 2, 0.8)


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    cohort_id: int
    ambassadors: list[str]  # emails
    ambassador_ids: list[int]
    partners: list[str]  # partner users' emails
    partner_ids: list[int]
    vouchers: dict[int, list[str]]  # partner id -> codes, in booking order
    holder_of: dict[int, int]  # partner id -> the ambassador who booked its vouchers


def _seed(url: str) -> World:
    """Through the core: a funded cohort, two ambassadors with credits, two partners, and
    vouchers booked with each partner by one of the ambassadors."""
    app = create_app({"DATABASE_URL": url}, env="test")
    try:
        with app.app_context():
            db = get_session()

            def person(email: str, *roles: str, partner_id: int | None = None):
                def work():
                    user = create_user(
                        db, None, email=email, name=email.split("@")[0].title(), roles=roles,
                        password=PASSWORD,
                    )  # fmt: skip
                    user.partner_id = partner_id
                    return user

                return commit_with_retry(db, work)

            staff = person("jo@crash.example", "staff")
            cohort_id = commit_with_retry(
                db,
                lambda: _cohort(db, db.get(User, staff.id)),
            )
            ambassadors = [person(f"amb{n}@crash.example", "ambassador") for n in (1, 2)]
            for ambassador in ambassadors:
                enrol_user(app, ambassador, cohort_id)
                grant_credits(app, ambassador, cohort_id, CREDITS, staff)
            partner_ids, partner_emails, vouchers, holder_of = [], [], {}, {}
            for n, holder in zip((1, 2), ambassadors, strict=True):
                settings = PartnerSettings(
                    name=f"Clinic {n}", kind="therapy", currency="USD", regions=("US",)
                )
                partner = commit_with_retry(db, lambda s=settings: save_partner(db, None, s))
                person(f"desk{n}@clinic.example", "partner", partner_id=partner.id)
                partner_ids.append(partner.id)
                partner_emails.append(f"desk{n}@clinic.example")
                holder_of[partner.id] = holder.id
                vouchers[partner.id] = [
                    commit_with_retry(
                        db,
                        lambda p=partner.id, h=holder.id: book_session(
                            db, db.get(User, h), db.get(Cohort, cohort_id), p,
                            transfer_id=uuid.uuid4(),
                        ),
                    ).code
                    for _ in range(2 * CONFIRMS_PER_PHASE + UNTOUCHED)
                ]  # fmt: skip
            return World(
                cohort_id=cohort_id,
                ambassadors=[a.email for a in ambassadors],
                ambassador_ids=[a.id for a in ambassadors],
                partners=partner_emails,
                partner_ids=partner_ids,
                vouchers=vouchers,
                holder_of=holder_of,
            )
    finally:
        app.extensions["grants.engine"].dispose()


def _cohort(db: Session, staff: User) -> int:
    cohort = create_cohort(
        db,
        staff,
        cohort_settings(
            session_value=SESSION_VALUE,
            session_allowance=100,
            approval_threshold=100,
            open_gift_limit=100,
        ),
    )
    fund_cohort(db, staff, cohort, 2 * CREDITS + 10, transfer_id=uuid.uuid4())
    return cohort.id


def _phase(
    world: World,
    browsers: dict[str, Browser],
    phase: int,
    disrupt: Callable[[Stats, int], None],
) -> tuple[list[Job], list[Job], Stats]:
    """Gifts from both ambassadors and confirmations from both partners, four streams at
    once against two workers; `disrupt(stats, total)` runs meanwhile."""
    today = datetime.now(UTC).date().isoformat()
    gift_path = f"/wallet/cohorts/{world.cohort_id}/gift"
    gifts: dict[str, list[Job]] = {}
    for a, email in enumerate(world.ambassadors):
        gifts[email] = [
            Job(
                gift_path,
                {
                    "recipient_name": f"Crew {phase}-{a}-{n}",
                    "recipient_email": f"crew-{phase}-{a}-{n}@band.example",
                    "relationship": "crew",
                    "sessions": str(1 + n % 2),
                    "message": f"For the tour, {n}",
                    "request_id": str(uuid.uuid4()),
                },
                hang_up_first=n % 4 == 1,
            )
            for n in range(GIFTS_PER_PHASE)
        ]
    confirms: dict[str, list[Job]] = {}
    for email, partner_id in zip(world.partners, world.partner_ids, strict=True):
        codes = world.vouchers[partner_id][
            (phase - 1) * CONFIRMS_PER_PHASE : phase * CONFIRMS_PER_PHASE
        ]
        confirms[email] = [
            Job(
                "/partner/confirm",
                {"code": code, "session_date": today, "outcome": "delivered"},
                hang_up_first=n % 3 == 1,
            )
            for n, code in enumerate(codes)
        ]
    stats = Stats()
    total = sum(map(len, gifts.values())) + sum(map(len, confirms.values()))
    with ThreadPoolExecutor(max_workers=4) as pool:
        streams = [
            pool.submit(_stream, browsers[email], gift_path, jobs, _gift_answered, stats)
            for email, jobs in gifts.items()
        ] + [
            pool.submit(
                _stream, browsers[email], "/partner/confirm", jobs, _confirm_answered, stats
            )
            for email, jobs in confirms.items()
        ]
        try:
            disrupt(stats, total)
        finally:
            for stream in streams:
                stream.result()
    assert stats.done == total
    return (
        [job for jobs in gifts.values() for job in jobs],
        [job for jobs in confirms.values() for job in jobs],
        stats,
    )


def test_killed_worker_and_crashed_database_lose_and_double_nothing(cluster):
    """Some requests also hang up before their answer on purpose, so the retry of a request
    the server did complete (the case idempotency keys exist for) happens in every run."""
    env = _environment(cluster)
    migrated = _flask(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    world = _seed(cluster.url)

    server = Gunicorn(env, cluster.base / "gunicorn.log")
    try:
        server.start()
        browsers = {}
        for email in world.ambassadors + world.partners:
            browsers[email] = Browser(server.port)
            browsers[email].log_in(email)
        # Phase 1: a worker dies by SIGKILL mid-stream (gunicorn starts another). The request
        # it was serving gets no answer; if none did, another worker is killed, up to five.
        kills = []

        def kill_workers(stats: Stats, total: int) -> None:
            _wait_for(lambda: stats.done >= total // 4, timeout=JOB_DEADLINE)
            while stats.failures == 0 and len(kills) < 5 and stats.done < total:
                workers = server.workers()
                if not workers:
                    time.sleep(0.05)
                    continue
                victim = random.choice(workers)
                os.kill(victim, signal.SIGKILL)
                kills.append(victim)
                _wait_for(lambda: stats.failures > 0 or stats.done >= total, timeout=1.5)

        gifts1, confirms1, stats1 = _phase(world, browsers, 1, kill_workers)
        assert kills, "no worker was killed"
        assert stats1.failures > 0, (
            f"{len(kills)} worker kills never caught a request in flight; nothing was retried"
        )
        assert _wait_for(lambda: len(server.workers()) == WORKERS, timeout=15), (
            f"gunicorn did not replace the killed worker:\n{_tail(server.log)}"
        )

        # Phase 2: PostgreSQL stops as if it crashed, then comes back (WAL replay), while
        # the requests keep coming; the workers' pooled connections are all dead.
        def crash_database(stats: Stats, total: int) -> None:
            _wait_for(lambda: stats.done >= total // 4, timeout=JOB_DEADLINE)
            cluster.stop_immediately()
            _wait_for(lambda: stats.failures > 0, timeout=3)
            time.sleep(0.5)
            cluster.start()

        gifts2, confirms2, stats2 = _phase(world, browsers, 2, crash_database)
        assert stats2.failures > 0, "the database crash caught no request; nothing was retried"
        assert "automatic recovery in progress" in cluster.log.read_text(), (
            "PostgreSQL came back without replaying its log: it was not stopped abruptly"
        )
        print(
            f"worker kills: {len(kills)}; failed or unanswered and retried: "
            f"{stats1.failures} with a worker killed, {stats2.failures} with the database down"
        )
    finally:
        server.stop()

    verified = _flask(env, "ledger", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ledger OK" in verified.stdout
    _assert_exactly_once(cluster.url, world, gifts1 + gifts2, confirms1 + confirms2)


def _assert_exactly_once(url: str, world: World, gifts: list[Job], confirms: list[Job]) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            cohort = db.get(Cohort, world.cohort_id)
            expected = {
                uuid.UUID(job.form["request_id"]): (
                    job.form["recipient_email"],
                    int(job.form["sessions"]),
                )
                for job in gifts
            }
            made = db.scalars(select(Gift)).all()
            assert len(made) == len(gifts) == len(expected)  # one gift per request, no more
            giver_of = {}
            for gift in made:
                assert gift.transfer_id in expected, f"a gift no request asked for: {gift}"
                email, sessions = expected[gift.transfer_id]
                assert (gift.recipient.email, gift.sessions, gift.status) == (
                    email,
                    sessions,
                    GiftStatus.PENDING,
                )
                giver_of[gift.transfer_id] = gift.giver_id
                recipient_wallet = wallet_account(db, cohort, gift.recipient_id)
                assert (recipient_wallet.credits_pending, recipient_wallet.credits_posted) == (
                    sessions,
                    0,
                )
            holds = db.scalar(
                select(func.count()).select_from(Transfer).where(Transfer.code == "gift")
            )
            assert holds == len(gifts)
            assert _count(db, AuditEntry, AuditEntry.action == "gift.send") == len(gifts)
            assert _count(db, OutboxMessage, OutboxMessage.template == "gift_received") == len(
                gifts
            )

            codes = {job.form["code"] for job in confirms}
            confirmed = db.scalars(
                select(Voucher).where(Voucher.status == VoucherStatus.CONFIRMED)
            ).all()
            assert {voucher.code for voucher in confirmed} == codes
            for voucher in confirmed:
                assert voucher.amount == SESSION_VALUE
                assert db.get(Transfer, voucher.payment_transfer_id).amount == SESSION_VALUE
            assert _count(db, AuditEntry, AuditEntry.action == "voucher.confirm") == len(codes)
            assert _count(db, Transfer, Transfer.code == "session") == len(codes)
            booked = db.scalars(select(Voucher).where(Voucher.status == VoucherStatus.BOOKED))
            assert len(booked.all()) == UNTOUCHED * len(world.partner_ids)

            # The balances are the arithmetic of what was asked, once each.
            per_partner = 2 * CONFIRMS_PER_PHASE
            for ambassador_id in world.ambassador_ids:
                gifted = sum(
                    int(job.form["sessions"])
                    for job in gifts
                    if giver_of[uuid.UUID(job.form["request_id"])] == ambassador_id
                )
                bookings = sum(
                    len(world.vouchers[p]) for p, h in world.holder_of.items() if h == ambassador_id
                )
                used = per_partner * sum(h == ambassador_id for h in world.holder_of.values())
                wallet = wallet_account(db, cohort, ambassador_id)
                assert (
                    wallet.credits_posted,
                    wallet.debits_posted,
                    wallet.debits_pending,
                    wallet.available,
                ) == (CREDITS, used, gifted + bookings - used, CREDITS - gifted - bookings)
            for partner_id in world.partner_ids:
                assert payable_account(db, partner_id, "USD").available == (
                    per_partner * SESSION_VALUE
                )
            assert funding_account(db, "USD").debits_posted == len(codes) * SESSION_VALUE
            db.rollback()
    finally:
        engine.dispose()


def _count(db: Session, model, condition) -> int:
    return db.scalar(select(func.count()).select_from(model).where(condition))
