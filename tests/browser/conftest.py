"""The browser harness: Debian's Chromium driven by Playwright against a live server.

Without Chromium the browser tests are skipped with a message saying how to get it, unless
GRANTS_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure. Playwright's own
browser download is never used: it cannot reach the network here.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
REQUIRE_BROWSER = os.environ.get("GRANTS_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        message = (
            "Chromium not found: browser tests need Debian's chromium "
            "(apt-get install chromium) or CHROMIUM_PATH"
        )
        if REQUIRE_BROWSER:
            pytest.fail(message + " (GRANTS_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app served on a free local port, in a thread, for this test only."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url  # links in emails point here
    yield url
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, live_server):
    """A fresh browser context at desktop or phone size, with the live server as base URL.
    A test marked no_javascript runs with JavaScript switched off in the browser."""
    scripts = request.node.get_closest_marker("no_javascript") is None
    context = browser.new_context(
        viewport=VIEWPORTS[request.param], base_url=live_server, java_script_enabled=scripts
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = request.param
    page.scripts_on = scripts
    yield page
    context.close()


@pytest.fixture
def snap(request, page):
    """snap("step") saves a full-page screenshot as a test artefact."""
    test_name = re.sub(r"[^\w.-]+", "_", request.node.name)
    folder = ARTIFACTS / test_name
    folder.mkdir(parents=True, exist_ok=True)
    steps = iter(range(1, 100))

    def take(step: str) -> Path:
        path = folder / f"{next(steps):02d}-{step}.png"
        page.screenshot(path=path, full_page=True)
        if page.scripts_on:  # axe is a script: with JavaScript off, the crawl covers the page
            check_accessibility(page, step)
        return path

    return take


def check_accessibility(page, step: str = "") -> None:
    """Run axe-core (the copy bundled with axe-playwright-python, so nothing is fetched)
    on the page as it stands, and fail on any serious or critical violation, saying which
    rule, where and why."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        violation
        for violation in results.response["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    if serious:
        lines = [f"accessibility at step {step!r} ({page.url}):"]
        for violation in serious:
            lines.append(f"  {violation['impact']}: {violation['id']}: {violation['help']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    {node['target']}: {node['failureSummary']}")
        raise AssertionError("\n".join(lines))


def wait_for_email(mailbox, address: str, *, count: int = 1, timeout: float = 10.0):
    """The newest email to `address` once `count` have arrived (sent after the response)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        received = mailbox.to(address)
        if len(received) >= count:
            return received[-1]
        time.sleep(0.05)
    raise AssertionError(f"no email to {address} within {timeout} s")


_CURRENT: dict = {}


@pytest.fixture(autouse=True)
def _two_step_app(app):
    """finish_two_step() needs the test's app to read the account's key."""
    _CURRENT["app"] = app
    yield
    _CURRENT.clear()


def log_in(page, email: str, password: str | None = None) -> None:
    """Log in through the login page, giving the second step's code where one is needed."""
    from tests.conftest import PASSWORD

    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Log in").click()
    finish_two_step(page, email)


def finish_two_step(page, email: str) -> None:
    """After the password: staff, finance and admin give their authenticator's code."""
    from sqlalchemy import select

    from grants.core.models.people import User
    from grants.database import get_session
    from tests.conftest import current_code

    app = _CURRENT["app"]
    with app.app_context():
        user = get_session().scalar(select(User).where(User.email == email.lower()))
        needs_code = user is not None and user.totp_enabled_at is not None
    if needs_code:
        page.wait_for_url("**/auth/two-step")
        page.get_by_label("Code", exact=True).fill(current_code(app, email))
        page.get_by_role("button", name="Continue").click()
