"""An ambassador asks for 6 sessions; staff approve 4; the ambassador sees 4 and the line."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_ask_for_six_staff_approve_four(page, snap, make_user, make_cohort, app):
    from tests.test_funding import enrol_user

    staff = make_user("staff", name="Jordan Reyes")
    maya = make_user("ambassador", name="Maya Okafor")
    cohort_id = make_cohort(funded=100, region="GB", currency="GBP", session_allowance=12)
    enrol_user(app, maya, cohort_id)

    log_in(page, maya.email)
    expect(page.get_by_role("heading", name="RADAR UK 2027")).to_be_visible()
    page.get_by_role("link", name="Ask for funded sessions").click()
    page.get_by_label("How many sessions?").fill("6")
    snap("ask")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("status")).to_contain_text("is with programme staff")
    snap("asked")
    page.get_by_role("button", name="Log out").click()

    log_in(page, staff.email)
    page.get_by_role("link", name="Funding requests").click()
    expect(page.get_by_role("cell", name="Maya Okafor Band")).to_be_visible()
    snap("queue")
    page.get_by_role("link", name=re.compile("Review")).click()
    page.get_by_label("Sessions to approve").fill("4")
    snap("review")
    page.get_by_role("button", name="Approve").click()
    page.get_by_role("button", name="Yes, approve 4 sessions").click()
    expect(page.get_by_role("status")).to_have_text("4 sessions approved and issued.")
    page.get_by_role("button", name="Log out").click()

    log_in(page, maya.email)
    card = page.get_by_role("region", name="RADAR UK 2027")
    expect(card.locator("dd.big")).to_have_text("4")
    expect(page.get_by_role("cell", name="4 sessions approved (of 6 asked for)")).to_be_visible()
    snap("wallet")
