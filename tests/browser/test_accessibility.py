"""Every page of every role, checked in the browser: axe-core finds no serious or critical
violation, headings and landmarks are in order, the page reflows at 200% zoom without
sideways scrolling, nothing on it needs JavaScript (the app ships none) and nothing is
loaded from another site. The journeys check the pages they pass through at
each step too (see snap() in conftest)."""

from __future__ import annotations

import pytest

from grants.core import demo
from tests.browser.checks import ZOOMED, outline_problems, reflows, sign_in, uses_script
from tests.browser.conftest import VIEWPORTS, check_accessibility
from tests.conftest import PG_URL, AuthActions
from tests.crawl import crawl, shape

# One person of each role; the second staff and finance logins see the same pages.
ROLES = [email for email, _name, _roles in demo.DEMO_USERS if "2@" not in email]
PUBLIC = ["/auth/login", "/auth/reset", "/resources/", "/resources/?country=GB"]


# What the browser checks here is the rendered page, which does not depend on the database;
# the PostgreSQL pass renders every page of every role anyway (tests/test_i18n.py), and its
# journeys run in the browser. Once, on SQLite, keeps CI's time for what differs.
pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="page checks run in the SQLite pass; nothing here depends on the database"
)


def pages_of(app, email: str | None) -> list[str]:
    """The pages `email` can reach by links from home, one of each kind."""
    client = app.test_client()
    if email:
        AuthActions(client).login(email, demo.DEMO_PASSWORD)
    found = crawl(client, ["/", "/resources/"] if email else PUBLIC, "en", limit=60)
    kinds: dict[str, str] = {}
    for url, html in found.items():
        if html:
            kinds.setdefault(shape(url), url)
    return sorted(kinds.values())


@pytest.mark.parametrize("email", [None, *ROLES], ids=["public", *ROLES])
def test_every_page_passes_axe_and_reflows_at_200_percent(
    browser, live_server, app, demo_world, email
):
    urls = pages_of(app, email)
    assert len(urls) >= 3, urls
    context = browser.new_context(viewport=VIEWPORTS["desktop"], base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    elsewhere = []  # everything a page loads comes from the app itself
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server) else elsewhere.append(request.url)
        ),
    )
    try:
        if email:
            sign_in(page, email)
        problems = []
        for url in urls:
            page.set_viewport_size(VIEWPORTS["desktop"])
            page.goto(url)
            check_accessibility(page, url)
            if uses_script(page):
                problems.append(f"{url}: has a <script>")
            problems += [f"{url}: {problem}" for problem in outline_problems(page)]
            page.set_viewport_size(ZOOMED)
            if not reflows(page):
                problems.append(f"{url}: scrolls sideways at 200% zoom")
        assert not problems, "\n".join(problems)
        assert not elsewhere, elsewhere
    finally:
        context.close()


def test_the_accessibility_check_finds_real_problems(page):
    """The check itself can fail: a picture without words and grey-on-white text."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<img src="/static/none.png"><p style="color:#ddd;background:#fff">faint</p>'
        "</main></body></html>"
    )
    with pytest.raises(AssertionError, match="image-alt") as caught:
        check_accessibility(page, "planted")
    assert "color-contrast" in str(caught.value)
