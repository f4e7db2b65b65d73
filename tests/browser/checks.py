"""Checks of a page as it stands in the browser, shared by the accessibility crawl and the
confirmation pages' test."""

from __future__ import annotations

from itertools import pairwise

from playwright.sync_api import expect

from grants.core import demo
from tests.browser.conftest import finish_two_step

# 1280 CSS pixels zoomed to 200% leave 640 to lay the page out in.
ZOOMED = {"width": 640, "height": 400}


def sign_in(page, email: str) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    finish_two_step(page, email)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def reflows(page) -> bool:
    """No sideways scrolling of the page itself. A wide data table may scroll inside its
    own box (WCAG 1.4.10 allows that for tables); the page around it must not."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def uses_script(page) -> bool:
    return page.evaluate("() => document.scripts.length > 0")


OUTLINE = """() => {
  const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
    .filter(h => h.offsetParent !== null || h.closest('details'))
    .map(h => Number(h.tagName[1]));
  const landmarks = ['header', 'nav', 'main', 'footer']
    .filter(tag => document.querySelector(tag) === null);
  return {levels, missing: landmarks, mains: document.querySelectorAll('main').length};
}"""


def outline_problems(page) -> list[str]:
    """One h1, first; no level skipped on the way down; header, main and footer present."""
    found = page.evaluate(OUTLINE)
    levels, problems = found["levels"], []
    if levels[:1] != [1] or levels.count(1) != 1:
        problems.append(f"headings should start with the one h1: {levels}")
    for before, after in pairwise(levels):
        if after > before + 1:
            problems.append(f"heading level jumps from h{before} to h{after}")
    missing = [tag for tag in found["missing"] if tag != "nav"]  # no menu when signed out
    if missing or found["mains"] != 1:
        problems.append(f"landmarks missing: {missing}, main elements: {found['mains']}")
    return problems
