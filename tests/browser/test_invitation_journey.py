"""Staff invite an artist; the artist follows the emailed link, sets a password, and is in."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import finish_two_step, wait_for_email
from tests.conftest import PASSWORD


def test_staff_invite_an_artist_who_joins_from_the_email(
    page, snap, make_user, make_cohort, mailbox, runner
):
    staff = make_user("staff", name="Jordan Reyes")
    make_cohort(funded=100)

    page.goto("/auth/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    finish_two_step(page, staff.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohorts")
    page.get_by_role("link", name="RADAR US 2027").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("RADAR US 2027")
    snap("cohort-page")

    page.get_by_role("link", name="Invite an ambassador").click()
    page.get_by_label("Name", exact=True).fill("Ana Brook")
    page.get_by_label("Artist or project name").fill("The Brooks")
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Country").select_option("US")
    snap("invite-form")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_have_text("Invitation sent to Ana Brook.")
    expect(page.get_by_role("cell", name="ana@example.org")).to_be_visible()
    snap("invited")
    page.get_by_role("button", name="Log out").click()

    # The web app sends right after the response; the development server used here may hold
    # a connection open a little longer, so the scheduled job's command runs too. Either
    # way exactly one email arrives: the outbox never sends twice.
    runner.invoke(args=["outbox", "send"])
    email = wait_for_email(mailbox, "ana@example.org")
    [link] = mailbox.links(email)
    assert len(mailbox.to("ana@example.org")) == 1
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join RADAR US 2027")
    snap("invitation-page")
    page.get_by_label("I have read this and I agree").check()
    page.get_by_label("Choose a password").fill("river stone lantern")
    page.get_by_label("Type the password again").fill("river stone lantern")
    page.get_by_role("button", name="Join the programme").click()

    expect(page).to_have_url(re.compile(r"/wallet/$"))
    expect(page.get_by_role("status")).to_have_text("Welcome to RADAR US 2027.")
    expect(page.get_by_role("heading", level=1)).to_have_text("My sessions")
    snap("home")
