"""The first journey: log in, see your home page, log out; at desktop and phone sizes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_an_ambassador_logs_in_sees_their_sessions_and_logs_out(page, snap, make_user):
    user = make_user("ambassador", name="Maya Okafor")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    snap("login-page")

    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("wrong password, on purpose")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    snap("login-refused")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/wallet/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My sessions")
    expect(page.get_by_text("You do not hold any funded sessions yet.")).to_be_visible()
    footer = page.get_by_role("contentinfo")
    expect(footer.get_by_role("link", name=re.compile("Crisis lines"))).to_be_visible()
    snap("wallet-home")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    snap("logged-out")

    page.goto("/wallet/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))


def test_the_skip_link_and_focus_ring_work_from_the_keyboard(page, make_user):
    page.goto("/auth/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_nothing_is_loaded_from_another_site(page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/auth/login")
    page.goto("/resources/")
    base = page.url.split("/resources")[0]
    assert requested and all(url.startswith(base) for url in requested), requested
