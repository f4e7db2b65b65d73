"""HTTP (issue 10, item 6): gunicorn with 2 workers on PostgreSQL, loaded by `wrk` from
another process. The wallet home's throughput against a trivial route on the same server
for the same signed-in person (`/`, which only sends them on to their home page: every
request's own work, no page), in alternating rounds. The gift form POST is measured too,
from one client (each POST a new gift to a new address), against that client's rate on the
trivial route.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from bench import world as worlds
from bench.app_client import csrf_token, settings
from bench.common import ROOT, Figure, emit, in_turn, median, scaled, scratch_postgres

NAME = "HTTP (gunicorn, 2 workers)"
SECONDS = scaled(8, 3)
ROUNDS = scaled(3, 2)
GIFTS = scaled(200, 40)
_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies kept, redirects not followed (as a form post sees them)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:  # 3xx and 4xx arrive here
            return error.code, error.read().decode()

    def sign_in(self, email: str) -> None:
        _status, page = self.request("/auth/login")
        status, _ = self.request(
            "/auth/login",
            {"email": email, "password": worlds.PASSWORD, "csrf_token": csrf_token(page)},
        )
        if status != 302:
            raise RuntimeError(f"sign-in answered {status}")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(url: str, port: int) -> subprocess.Popen:
    values = settings(url)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=values["SECRET_KEY"],
        MAIL_BACKEND="none",
        GRANTS_ENV="development",
        GRANTS_INSTANCE_PATH=values["INSTANCE_PATH"],
        LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def wrk(base: str, path: str, cookie: str, seconds: float) -> float:
    done = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{max(int(seconds), 1)}s", "-H", f"Cookie: {cookie}", base + path],
        check=True,
        capture_output=True,
        text=True,
    )
    if "Non-2xx or 3xx responses" in done.stdout:
        raise RuntimeError(f"{path} answered errors under load: {done.stdout[-400:]}")
    return float(_RATE.search(done.stdout).group(1))


def gift_rate(browser: Browser, cohort_id: int, count: int) -> float:
    _status, page = browser.request(f"/wallet/cohorts/{cohort_id}/gift")
    token = csrf_token(page)
    start = time.perf_counter()
    for _ in range(count):
        status, _ = browser.request(
            f"/wallet/cohorts/{cohort_id}/gift",
            {
                "recipient_name": "Sam Bench",
                "recipient_email": f"crew-{uuid.uuid4().hex[:12]}@bench.test",
                "relationship": "crew",
                "sessions": "1",
                "message": "",
                "request_id": str(uuid.uuid4()),
                "csrf_token": token,
            },
        )
        if status != 302:
            raise RuntimeError(f"the gift form answered {status}")
    return count / (time.perf_counter() - start)


def trivial_rate(browser: Browser, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        browser.request("/")
    return count / (time.perf_counter() - start)


def run() -> list[Figure]:
    with scratch_postgres("grants_bench_http") as url:
        world = worlds.build(
            url,
            people=1_000,
            sessions=2_667,
            gifts=500,
            open_requests=20,
            ambassador_sessions=worlds.GRANT + GIFTS * ROUNDS + 10,
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(url, port)
        try:
            browser = Browser(base)
            browser.sign_in(world.ambassador_email)
            cookie = browser.cookie_header()
            _s, home = browser.request("/wallet/")
            cohort_id = int(re.search(r"/wallet/cohorts/(\d+)/gift", home).group(1))
            pages, trivial, gifts, plain = [], [], [], []
            for index in range(ROUNDS):
                in_turn(
                    index,
                    lambda: pages.append(wrk(base, "/wallet/", cookie, SECONDS)),
                    lambda: trivial.append(wrk(base, "/", cookie, SECONDS)),
                )
                in_turn(
                    index,
                    lambda: gifts.append(gift_rate(browser, cohort_id, GIFTS)),
                    lambda: plain.append(trivial_rate(browser, GIFTS)),
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return [
        Figure(
            NAME,
            "wallet home vs trivial route (wrk, 8 connections)",
            median(pages),
            median(trivial),
            "req/s",
            0.3,
            rounds={"project": pages, "baseline": trivial},
        ),
        Figure(
            NAME,
            "gift form POST vs trivial route (one client)",
            median(gifts),
            median(plain),
            "req/s",
            0.0,
            note="measured; the issue sets no target",
            rounds={"project": gifts, "baseline": plain},
        ),
    ]


if __name__ == "__main__":
    emit(run())
