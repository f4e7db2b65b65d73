"""A recipient books a session; the partner confirms the code; what the partner is owed
rises by the cohort's session value. The browser has JavaScript switched off: the app
needs none."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.enrolment import current_consent
from grants.core.gifts import accept_gift, gift_credits
from grants.core.models.cohorts import Cohort
from grants.core.models.people import User
from grants.core.partners import PartnerSettings, save_partner
from grants.database import get_session
from tests.browser.conftest import log_in
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits


@pytest.mark.no_javascript
def test_a_recipient_books_and_the_partner_confirms(
    page, snap, app, make_user, make_cohort, mailbox
):
    staff = make_user("staff")
    maya = make_user("ambassador", name="Maya Okafor")
    sam = make_user("recipient", name="Sam Rivera", email="sam@example.org")
    cohort_id = make_cohort(
        funded=50, session_allowance=10, approval_threshold=10, session_value=12_000
    )
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 4, staff)
    with app.app_context():  # Maya gifts Sam 2 sessions, which Sam has accepted
        db = get_session()

        def gift():
            sent = gift_credits(
                db,
                db.get(User, maya.id),
                db.get(Cohort, cohort_id),
                recipient_name="Sam",
                recipient_email=sam.email,
                relationship="crew",
                message="",
                sessions=2,
                transfer_id=uuid.uuid4(),
            )
            consent = current_consent(db, sent.cohort.programme_id)
            accept_gift(
                db, sent.id, None, consent_text_id=consent.id, signed_in=db.get(User, sam.id)
            )
            return save_partner(
                db,
                None,
                PartnerSettings(
                    name="Harbour Therapy", kind="therapy", currency="USD", regions=("US",)
                ),
            ).id

        partner_id = commit_with_retry(db, gift)
    desk = make_user("partner", email="desk@harbour.example", partner_id=partner_id)

    log_in(page, sam.email)
    page.get_by_role("link", name="Book a session").click()
    page.get_by_label("Harbour Therapy").check()
    snap("choose-partner")
    page.get_by_role("button", name="Book and get my code").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Your voucher code is")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", status.inner_text()).group(0)
    snap("booked")
    page.get_by_role("button", name="Log out").click()

    log_in(page, desk.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Therapy")
    expect(page.get_by_text("Nothing yet.")).to_be_visible()
    page.get_by_role("link", name="Confirm a session").click()
    page.get_by_label("Voucher code").fill(code)
    page.get_by_label("Date of the session").fill(clock.now().date().isoformat())
    snap("confirm")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("$120.00 added to what you are owed")
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_role("row", name=re.compile(r"USD \$120\.00"))).to_be_visible()
    snap("partner-home")
