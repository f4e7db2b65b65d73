"""Translated labels for the state words (and other stored codes) shown to people.

The database keeps short English codes ("pending", "paid"); a page shows the reader's word
for them through `label(kind, value)`, a Jinja global: `{{ label('batch', batch.status) }}`.
The English of each label is what the page showed before (the code, capitalised), unless a
clearer word was already used for it.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

COHORT = {
    "upcoming": _l("Upcoming"),
    "current": _l("Current"),
    "closed": _l("Closed"),
}

ENROLMENT = {
    "invited": _l("Invited"),
    "active": _l("Active"),
    "closed": _l("Closed"),
    "revoked": _l("Withdrawn"),  # an invitation withdrawn before it was accepted
}

# An ambassador's funding request.
GRANT = {
    "pending": _l("Waiting"),
    "second": _l("Waiting for a second approval"),
    "approved": _l("Approved"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
}

GRANT_KIND = {
    "request": _l("Request"),
    "upfront": _l("Joining allowance"),
}

# Money given straight to a partner.
PARTNER_GRANT = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
}

GIFT = {
    "pending": _l("Pending"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}

# A booking (voucher) as its holder sees it.
VOUCHER = {
    "booked": _l("Booked"),
    "confirmed": _l("Confirmed"),
    "cancelled": _l("Cancelled"),
    "missed": _l("Missed"),
    "expired": _l("Expired"),
}

PAYOUT_BATCH = {
    "draft": _l("Draft"),
    "approved": _l("Approved"),
    "closed": _l("Closed"),
    "discarded": _l("Discarded"),
}

PAYOUT_LINE = {
    "draft": _l("Draft"),
    "pending": _l("Pending"),
    "paid": _l("Paid"),
    "failed": _l("Failed"),
}

# What one row of a payout pays for (remittance advice).
PAYOUT_ITEM = {
    "session": _l("Session"),
    "grant": _l("Grant"),
    "other": _l("Other"),
}

OUTBOX = {
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}

ROLE = {
    "ambassador": _l("Ambassador"),
    "recipient": _l("Recipient"),
    "partner": _l("Partner"),
    "staff": _l("Staff"),
    "finance": _l("Finance"),
    "admin": _l("Admin"),
}

PARTNER_KIND = {
    "therapy": _l("Therapy provider"),
    "nonprofit": _l("Nonprofit"),
}

RELATIONSHIP = {
    "bandmate": _l("a bandmate"),
    "crew": _l("crew"),
    "team": _l("team or management"),
    "other": _l("someone else"),
}

LABELS: dict[str, dict] = {
    "cohort": COHORT,
    "enrolment": ENROLMENT,
    "grant": GRANT,
    "grant_kind": GRANT_KIND,
    "partner_grant": PARTNER_GRANT,
    "gift": GIFT,
    "voucher": VOUCHER,
    "payout_batch": PAYOUT_BATCH,
    "payout_line": PAYOUT_LINE,
    "payout_item": PAYOUT_ITEM,
    "outbox": OUTBOX,
    "role": ROLE,
    "partner_kind": PARTNER_KIND,
    "relationship": RELATIONSHIP,
}


def label(kind: str, value) -> str:
    """The reader's word for `value` of this kind; the value itself if there is none."""
    if value is None:
        return ""
    found = LABELS.get(kind, {}).get(str(value))
    return str(found) if found is not None else str(value)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["label"] = label
