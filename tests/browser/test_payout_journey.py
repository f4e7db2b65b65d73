"""Finance builds a batch, a second finance user approves it, the first marks it paid and
downloads the XLSX, and the test opens the file and checks the totals."""

from __future__ import annotations

import re

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import log_in


def test_build_approve_pay_and_export(page, snap, app, make_user, make_cohort, tmp_path):
    import uuid

    from grants.core.clock import clock
    from grants.core.db import commit_with_retry
    from grants.core.models.people import User
    from grants.core.partners import (
        PartnerSettings,
        approve_partner_grant,
        propose_partner_grant,
        save_partner,
    )
    from grants.database import get_session

    staff, staff2 = make_user("staff"), make_user("staff")
    with app.app_context():
        db = get_session()

        def owed():
            partner = save_partner(
                db,
                None,
                PartnerSettings(
                    name="Backline Care Fund",
                    kind="nonprofit",
                    currency="GBP",
                    regions=("GB",),
                    payout_reference="GB29 NWBK 6016 1331 9268 19",
                ),
            )
            grant = propose_partner_grant(
                db,
                db.get(User, staff.id),
                partner,
                amount=123_456,
                purpose="Peer support",
                request_id=uuid.uuid4(),
            )
            approve_partner_grant(db, db.get(User, staff2.id), grant.id)

        commit_with_retry(db, owed)
    builder, approver = make_user("finance"), make_user("finance")

    log_in(page, builder.email)
    page.get_by_role("link", name="Payout batches").click()
    page.get_by_label("Currency").select_option("GBP")
    page.get_by_label("Pay for work and grants up to").fill(clock.now().date().isoformat())
    snap("build")
    page.get_by_role("button", name="Build the batch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("£1,234.56")
    snap("draft")
    page.get_by_role("button", name="Log out").click()

    log_in(page, approver.email)
    page.get_by_role("link", name="Payout batches").click()
    page.get_by_role("link", name=re.compile(r"Batch \d+")).click()
    page.get_by_role("button", name="Approve this batch").click()
    page.get_by_role("button", name="Yes, approve the batch").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    snap("approved")
    page.get_by_role("button", name="Log out").click()

    log_in(page, builder.email)
    page.get_by_role("link", name="Payout batches").click()
    page.get_by_role("link", name=re.compile(r"Batch \d+")).click()
    page.get_by_label("Bank reference for the whole batch").fill("BACS-2027-001")
    page.get_by_role("button", name="Mark every waiting line paid").click()
    page.get_by_role("button", name="Yes, mark them paid").click()
    expect(page.get_by_role("status")).to_contain_text("marked paid")
    expect(page.get_by_text("Closed")).to_be_visible()
    snap("paid")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Report \\(XLSX")).click()
    assert re.match(
        r"payout-batch-\d+-GBP-report-\d{4}-\d\d-\d\d\.xlsx", download.value.suggested_filename
    )
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    book = load_workbook(path)
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[-1][0] == "Total paid or to pay" and float(summary[-1][3]) == 1234.56
    detail = list(book["Detail"].iter_rows(values_only=True))[1:]
    assert [(row[1], float(row[7])) for row in detail] == [("grant", 1234.56)]
