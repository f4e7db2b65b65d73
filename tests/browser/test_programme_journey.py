"""A cohort's life in one journey, every step by hand in the browser: staff set up a
cohort, fund it and invite ambassadors from a CSV file (fixing a bad row first); an
ambassador joins from the emailed invitation and asks for more sessions than one person
may approve; two members of staff approve; the ambassador books a session with a partner
and gifts sessions to a bandmate. Every step is screenshotted and checked with axe."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from grants.core.db import commit_with_retry
from grants.core.partners import PartnerSettings, save_partner
from grants.database import get_session
from tests.browser.conftest import log_in, wait_for_email

BAD_LIST = (
    "name,artist_name,email,country\n"
    "Ana Brook,The Brooks,ana@example.org,GB\n"
    "Ben Ode,Ode,not-an-email,GB\n"
)
GOOD_LIST = (
    "name,artist_name,email,country\n"
    "Ana Brook,The Brooks,ana@example.org,GB\n"
    "Ben Ode,Ode,ben@example.org,GB\n"
)


def test_a_cohort_from_setup_to_sessions(page, snap, app, make_user, mailbox, runner, tmp_path):
    jordan = make_user("staff", name="Jordan Reyes")
    priya = make_user("staff", name="Priya Shah")
    with app.app_context():
        db = get_session()
        commit_with_retry(
            db,
            lambda: save_partner(
                db,
                None,
                PartnerSettings(
                    name="Northern Light Therapy", kind="therapy", currency="GBP", regions=("GB",)
                ),
            ),
        )

    # Staff set the cohort up.
    log_in(page, jordan.email)
    page.get_by_role("link", name="New cohort").click()
    page.get_by_label("Programme").select_option(label="GLOW")
    page.get_by_label("Region").select_option("GB")
    page.get_by_label("Intake").fill("2028")
    page.get_by_label("Status").select_option("current")
    page.get_by_label("Currency").select_option("GBP")
    page.get_by_label("Value of one session").fill("85.00")
    page.get_by_label("Sessions per ambassador").fill("12")
    page.get_by_label("Session budget").fill("200")
    page.get_by_label("Two approvals for grants above").fill("4")
    page.get_by_label("Starts on").fill("2028-01-01")
    page.get_by_label("Ends on").fill("2028-12-31")
    snap("new-cohort")
    page.get_by_role("button", name="Create cohort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("GLOW UK 2028")
    snap("cohort-created")
    page.get_by_label("Sessions to fund").fill("100")
    page.get_by_role("button", name="Fund sessions").click()
    expect(page.get_by_role("status")).to_contain_text("100")
    snap("cohort-funded")

    # A list with a mistake is refused as a whole, then the corrected one goes in.
    bad, good = tmp_path / "artists.csv", tmp_path / "artists-fixed.csv"
    bad.write_text(BAD_LIST)
    good.write_text(GOOD_LIST)
    page.get_by_role("link", name="Invite from a CSV file").click()
    page.get_by_label("CSV file").set_input_files(bad)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text(
        "1 of 2 rows cannot be imported"
    )
    snap("csv-refused")
    page.get_by_role("link", name="Upload a corrected file").click()
    page.get_by_label("CSV file").set_input_files(good)
    page.get_by_role("button", name="Check the file").click()
    snap("csv-checked")
    page.get_by_role("button", name="Invite 2 people").click()
    expect(page.get_by_role("status")).to_contain_text("2")
    expect(page.get_by_role("cell", name="ana@example.org")).to_be_visible()
    snap("invited")
    page.get_by_role("button", name="Log out").click()

    # Ana joins from her email and asks for six sessions: more than one person may approve.
    runner.invoke(args=["outbox", "send"])
    [link] = mailbox.links(wait_for_email(mailbox, "ana@example.org"))
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Join GLOW UK 2028")
    page.get_by_label("I have read this and I agree").check()
    page.get_by_label("Choose a password").fill("harbour lights at dawn")
    page.get_by_label("Type the password again").fill("harbour lights at dawn")
    snap("invitation")
    page.get_by_role("button", name="Join the programme").click()
    expect(page.get_by_role("status")).to_have_text("Welcome to GLOW UK 2028.")
    page.get_by_role("link", name="Ask for funded sessions").click()
    page.get_by_label("How many sessions?").fill("6")
    snap("ask")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_role("status")).to_contain_text("is with programme staff")
    page.get_by_role("button", name="Log out").click()

    # Two members of staff approve.
    for person, step in ((jordan, "first-approval"), (priya, "second-approval")):
        log_in(page, person.email)
        page.get_by_role("link", name="Funding requests").click()
        page.get_by_role("link", name=re.compile("Review")).click()
        snap(step)
        page.get_by_role("button", name="Approve").click()
        page.get_by_role("button", name=re.compile("Yes, approve")).click()
        snap(f"{step}-done")
        page.get_by_role("button", name="Log out").click()

    # Ana has her sessions, books one, and gifts two to her drummer.
    log_in(page, "ana@example.org", "harbour lights at dawn")
    card = page.get_by_role("region", name="GLOW UK 2028")
    expect(card.locator("dd.big")).to_have_text("6")
    snap("wallet")
    page.get_by_role("link", name="Book a session").click()
    page.get_by_label("Northern Light Therapy").check()
    page.get_by_role("button", name="Book and get my code").click()
    expect(page.get_by_role("status")).to_contain_text("Your voucher code is")
    snap("booked")
    page.get_by_role("link", name="Gift sessions to a bandmate or crew").click()
    page.get_by_label("Their name").fill("Kit Marsh")
    page.get_by_label("Their email").fill("kit@example.org")
    page.get_by_label("How you know them").select_option("bandmate")
    page.get_by_label("Sessions to gift").fill("2")
    snap("gift")
    page.get_by_role("button", name="Send the gift").click()
    expect(page.get_by_role("status")).to_contain_text("on its way to Kit Marsh")
    expect(card.locator("dd.big")).to_have_text("3")
    snap("after-gift")
