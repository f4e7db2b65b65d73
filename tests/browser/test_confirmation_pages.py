"""The "check, then confirm" pages (reached by a GET form, so the link crawl of
test_accessibility does not find them) pass the same checks as every other page: axe-core,
the outline, no script, and reflow at 200% zoom. On the demo data, as its people."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grants.core.clock import clock
from grants.core.models.funding import OPEN_STATES, Grant
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.partners import PartnerGrant, PartnerGrantStatus
from grants.core.models.payouts import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.database import get_session
from tests.browser.checks import ZOOMED, outline_problems, reflows, sign_in, uses_script
from tests.browser.conftest import VIEWPORTS, check_accessibility
from tests.conftest import PG_URL

# What the browser checks here is the rendered page, which does not depend on the database;
# the PostgreSQL pass renders every page of every role anyway (tests/test_i18n.py), and its
# journeys run in the browser. Once, on SQLite, keeps CI's time for what differs.
pytestmark = pytest.mark.skipif(
    bool(PG_URL), reason="page checks run in the SQLite pass; nothing here depends on the database"
)


def confirmation_pages(app) -> dict[str, list[str]]:
    """Who reads which confirmation page, found in the demo data."""
    with app.app_context():
        db = get_session()

        def person(email: str) -> User:
            return db.scalar(select(User).where(User.email == email))

        staff = person("staff@demo.test")
        request = db.scalar(select(Grant).where(Grant.status.in_(OPEN_STATES)).limit(1))
        partner_grant = db.scalar(
            select(PartnerGrant).where(
                PartnerGrant.status == PartnerGrantStatus.PENDING,
                PartnerGrant.proposed_by_id != staff.id,
            )
        )
        draft = db.scalar(select(PayoutBatch).where(PayoutBatch.status == BatchStatus.DRAFT))
        line = db.scalar(select(PayoutLine).where(PayoutLine.status == LineStatus.PENDING))
        gift = db.scalar(
            select(Gift).where(
                Gift.giver_id == person("ambassador@demo.test").id,
                Gift.status == GiftStatus.PENDING,
            )
        )
        paid = f"bank_reference=BACS-1&paid_on={clock.today().isoformat()}"
        pages = {
            "staff@demo.test": [f"/staff/requests/{request.id}/approve"],
            "finance2@demo.test": [
                f"/finance/batches/{draft.id}/approve",
                f"/finance/batches/{draft.id}/discard",
                f"/finance/batches/{line.batch_id}/pay?{paid}",
                f"/finance/batches/{line.batch_id}/lines/{line.id}/pay?{paid}",
            ],
            "ambassador@demo.test": [f"/wallet/gifts/{gift.id}/revoke"],
            "admin@demo.test": [
                f"/admin/users/{person('recipient@demo.test').id}/disable",
                f"/admin/users/{staff.id}/two-step/reset",
            ],
        }
        if partner_grant is not None:
            pages["staff@demo.test"].append(f"/staff/partner-grants/{partner_grant.id}/approve")
        return pages


def test_confirmation_pages_pass_axe_and_reflow(browser, live_server, app, demo_world):
    problems = []
    for email, urls in confirmation_pages(app).items():
        context = browser.new_context(viewport=VIEWPORTS["desktop"], base_url=live_server)
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            sign_in(page, email)
            for url in urls:
                page.set_viewport_size(VIEWPORTS["desktop"])
                page.goto(url)
                if "This cannot be undone." not in page.content():
                    problems.append(f"{url}: not the confirmation page ({page.url})")
                    continue
                check_accessibility(page, url)
                problems += [f"{url}: {problem}" for problem in outline_problems(page)]
                if uses_script(page):
                    problems.append(f"{url}: has a <script>")
                page.set_viewport_size(ZOOMED)
                if not reflows(page):
                    problems.append(f"{url}: scrolls sideways at 200% zoom")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
