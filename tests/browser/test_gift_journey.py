"""An ambassador gifts 2 sessions to a crew member, who opens the emailed link, creates an
account and sees 2; the ambassador sees "accepted" and their balance down by 2."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, wait_for_email


def test_gift_two_sessions_to_crew(page, snap, app, make_user, make_cohort, mailbox, runner):
    from tests.test_funding import enrol_user
    from tests.test_gifts import grant_credits

    staff = make_user("staff")
    maya = make_user("ambassador", name="Maya Okafor")
    cohort_id = make_cohort(funded=50, session_allowance=10, approval_threshold=10)
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 6, staff)

    log_in(page, maya.email)
    card = page.get_by_role("region", name="RADAR US 2027")
    expect(card.locator("dd.big")).to_have_text("6")
    page.get_by_role("link", name="Gift sessions to a bandmate or crew").click()
    page.get_by_label("Their name").fill("Sam Rivera")
    page.get_by_label("Their email").fill("sam@example.org")
    page.get_by_label("How you know them").select_option("crew")
    page.get_by_label("Sessions to gift").fill("2")
    page.get_by_label("A short message (optional)").fill("Thanks for the tour.")
    snap("gift-form")
    page.get_by_role("button", name="Send the gift").click()
    expect(page.get_by_role("status")).to_contain_text("on its way to Sam Rivera")
    expect(card.locator("dd.big")).to_have_text("4")
    snap("gift-sent")
    page.get_by_role("button", name="Log out").click()

    runner.invoke(args=["outbox", "send"])  # see the invitation journey: dev-server timing
    [link] = mailbox.links(wait_for_email(mailbox, "sam@example.org"))
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maya Okafor gifted you 2 sessions")
    expect(page.get_by_text("Thanks for the tour.")).to_be_visible()
    snap("gift-link")
    page.get_by_label("I have read this and I agree").check()
    page.get_by_label("Choose a password").fill("crew pass phrase one")
    page.get_by_label("Type the password again").fill("crew pass phrase one")
    page.get_by_role("button", name="Accept the gift").click()
    expect(page).to_have_url(re.compile(r"/wallet/$"))
    expect(page.get_by_role("region", name="RADAR US 2027").locator("dd.big")).to_have_text("2")
    expect(
        page.get_by_role("cell", name="2 sessions gifted to you by Maya Okafor, accepted")
    ).to_be_visible()
    snap("recipient-home")
    page.get_by_role("button", name="Log out").click()

    log_in(page, maya.email)
    expect(page.get_by_role("region", name="RADAR US 2027").locator("dd.big")).to_have_text("4")
    expect(page.get_by_role("cell", name="Accepted", exact=False).first).to_be_visible()
    snap("giver-home")
