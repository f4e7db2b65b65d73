"""Check, then confirm: before anything that cannot be undone, a page (a plain GET, so it
works without JavaScript) says what will happen, with the figures, and holds the real form;
the page changes nothing, turns away what is not the reader's to do, and its form works.
The command line asks too before erasing a person.

The authorisation matrix (tests/test_security_matrix.py) tries every confirmation page as
every kind of actor and checks that no GET writes anything; these tests read the pages."""

from __future__ import annotations

import re
from html import unescape

import pytest

from grants.core.clock import clock
from tests.conftest import AuthActions
from tests.security_world import build_world, changed_tables

PAY = "bank_reference=BANK-9&paid_on=2027-03-09"


@pytest.fixture
def world(app, make_user, make_cohort):
    return build_world(app, make_user, make_cohort)


def signed_in(world, who: str):
    """A browser of one of the world's people who is none of the matrix's actors."""
    client = world.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.99"
    AuthActions(client).login(world.users[who].email)
    return client


def the_form(html: str) -> tuple[str, dict[str, str]]:
    """The confirming form of a page: its action and hidden fields (the page's one POST
    form but the header's log-out and the footer's language switch)."""
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    [(action, body)] = [f for f in forms if f[0] not in ("/auth/logout", "/language")]
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', body))
    fields.update(re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"', body))
    return unescape(action), {name: unescape(value) for name, value in fields.items()}


def text(html: str) -> str:
    """What a reader sees, roughly: tags gone, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def pages(world):
    """(actor, confirmation page, what it must say, the form's action, its hidden values)."""
    ids = world.ids
    return [
        (
            "staff",
            f"/staff/requests/{ids['grant_c']}/approve?sessions=2",
            ["Approve 2 sessions for Cal Asks?", "$240.00", "$120.00 a session", "RADAR US"],
            f"/staff/requests/{ids['grant_c']}/approve",
            {"sessions": "2"},
        ),
        (
            "staff",
            f"/staff/partner-grants/{ids['pg_approve']}/approve",
            ["Approve $50.00 for Harbour Therapy?", "Workshop", "Sol Second"],
            f"/staff/partner-grants/{ids['pg_approve']}/approve",
            {},
        ),
        (
            "finance",
            f"/finance/batches/{ids['batch_approve']}/approve",
            [f"Approve batch {ids['batch_approve']}: $300.00?", "Harbour Therapy", "USD"],
            f"/finance/batches/{ids['batch_approve']}/approve",
            {},
        ),
        (
            "finance",
            f"/finance/batches/{ids['batch_discard']}/discard",
            [f"Discard the draft of batch {ids['batch_discard']}?", "$400.00"],
            f"/finance/batches/{ids['batch_discard']}/discard",
            {},
        ),
        (
            "finance",
            f"/finance/batches/{ids['batch_pay']}/pay?{PAY}",
            ["Mark 1 line of batch", "paid: $200.00?", "BANK-9", "Mar 9, 2027"],
            f"/finance/batches/{ids['batch_pay']}/pay",
            {"bank_reference": "BANK-9", "paid_on": "2027-03-09"},
        ),
        (
            "finance",
            f"/finance/batches/{ids['batch_lines']}/lines/{ids['line_q']}/pay?{PAY}",
            ["Mark the payment to Quay Counselling paid: $777.77?", "BANK-9"],
            f"/finance/batches/{ids['batch_lines']}/lines/{ids['line_q']}/pay",
            {"bank_reference": "BANK-9", "paid_on": "2027-03-09"},
        ),
        (
            "amb_a",
            f"/wallet/gifts/{ids['gift_a']}/revoke",
            ["Revoke your gift of 1 session to Alex Ampersand?", "RADAR US"],
            f"/wallet/gifts/{ids['gift_a']}/revoke",
            {},
        ),
        (
            "admin",
            f"/admin/users/{ids['dora']}/disable",
            ["Disable the account of Dora Disable?", "dora@example.org"],
            f"/admin/users/{ids['dora']}/disable",
            {},
        ),
        (
            "admin",
            f"/admin/users/{ids['tom']}/two-step/reset",
            ["Reset the two-step sign-in of Tom Twostep?", "recovery codes"],
            f"/admin/users/{ids['tom']}/two-step/reset",
            {},
        ),
    ]


def test_each_page_says_what_will_happen_and_holds_the_real_form(world):
    before = world.snapshot()
    wrong = []
    for role, url, figures, action, hidden in pages(world):
        response = world.client(role).get(url)
        if response.status_code != 200:
            wrong.append(f"{url}: HTTP {response.status_code}")
            continue
        seen = text(response.text)
        wrong += [f"{url}: {figure!r} not shown" for figure in figures if figure not in seen]
        if "This cannot be undone." not in seen:
            wrong.append(f"{url}: does not say it cannot be undone")
        if not re.search(r'<a class="button-quiet" href="[^"]+">Cancel</a>', response.text):
            wrong.append(f"{url}: no way back")
        form_action, fields = the_form(response.text)
        if form_action != action or fields.pop("csrf_token", None) is None or fields != hidden:
            wrong.append(f"{url}: form {form_action} {fields}")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, world.snapshot()) == []


def test_money_and_dates_are_in_the_readers_language(world):
    url = f"/finance/batches/{world.ids['batch_pay']}/pay?{PAY}"
    seen = text(world.client("finance").get(url, headers={"Accept-Language": "es"}).text)
    assert "200,00 US$" in seen and "9 mar 2027" in seen


def test_the_pages_form_does_it(world):
    """Sending the confirmation page's own form (token and hidden values as the page has
    them) is what makes the change; the page before it made none. (Each page acts on an
    object of its own, so one world serves them all.)"""
    wrong = []
    for role, url, _figures, _action, _hidden in pages(world):
        client = world.client(role)
        action, fields = the_form(client.get(url).text)
        before = world.snapshot()
        response = client.post(action, data=fields)
        if response.status_code != 302 or "/auth/" in response.headers["Location"]:
            wrong.append(f"{action}: HTTP {response.status_code}")
        elif not changed_tables(before, world.snapshot()):
            wrong.append(f"{action}: changed nothing")
    assert not wrong, "\n".join(wrong)


def test_what_cannot_be_done_is_said_before_the_page(world):
    """A confirmation page is only shown for what the reader may still do; otherwise they
    are sent back with the reason, or told nothing exists."""
    ids = world.ids
    builder = signed_in(world, "finance2")  # built every batch: approving is for another
    answer = builder.get(f"/finance/batches/{ids['batch_approve']}/approve")
    assert answer.status_code == 302
    assert "a different finance user" in builder.get(answer.headers["Location"]).text

    proposer = signed_in(world, "staff2")  # proposed it: approving is for another
    answer = proposer.get(f"/staff/partner-grants/{ids['pg_approve']}/approve")
    assert "A different member of staff" in proposer.get(answer.headers["Location"]).text

    finance = world.client("finance")
    answer = finance.get(f"/finance/batches/{ids['batch_lines']}/approve")  # approved already
    assert answer.status_code == 302
    assert "no longer a draft" in finance.get(answer.headers["Location"]).text

    # Someone else's gift is not found, whether or not it exists.
    assert world.client("amb_a").get(f"/wallet/gifts/{ids['gift_b']}/revoke").status_code == 404
    assert world.client("amb_a").get("/wallet/gifts/999999/revoke").status_code == 404

    admin = world.client("admin")
    answer = admin.get(f"/admin/users/{world.users['admin'].id}/disable")
    assert "cannot disable your own account" in admin.get(answer.headers["Location"]).text
    answer = admin.get(f"/admin/users/{ids['enzo']}/disable")  # disabled already
    assert "already disabled" in admin.get(answer.headers["Location"]).text


def test_bad_input_is_answered_on_the_page_it_came_from(world):
    """A bad number of sessions is shown on the review page (400); bad payment details send
    the reader back to the batch with the reason. Either way nothing changes."""
    before = world.snapshot()
    staff, finance = world.client("staff"), world.client("finance")
    for sessions in ["0", "-1", "two", "1.5", "9" * 400, ""]:
        url = f"/staff/requests/{world.ids['grant_c']}/approve?sessions={sessions}"
        response = staff.get(url)
        assert response.status_code == 400, sessions
        assert 'class="error-message"' in response.text
        assert "Funding request from" in response.text
    for query in ["", "bank_reference=&paid_on=2027-03-09", "bank_reference=X&paid_on=soon"]:
        answer = finance.get(f"/finance/batches/{world.ids['batch_pay']}/pay?{query}")
        assert answer.status_code == 302, query
        assert 'class="flash flash-error"' in finance.get(answer.headers["Location"]).text
    assert changed_tables(before, world.snapshot()) == []


def test_a_stale_password_is_asked_for_before_the_page(world):
    """Approving a batch asks for the password again after 15 minutes; so does the page
    before it, and it comes back to the page afterwards."""
    from datetime import timedelta

    clock.advance(timedelta(minutes=20))
    finance = world.client("finance")
    url = f"/finance/batches/{world.ids['batch_approve']}/approve"
    answer = finance.get(url)
    assert answer.headers["Location"].startswith("/auth/confirm")
    assert "approve" in answer.headers["Location"]


def test_erasing_from_the_command_line_says_what_will_go_and_asks(world, runner):
    email = world.users["amb_b"].email
    answer = runner.invoke(args=["people", "erase", "--email", email], input="n\n")
    assert answer.exit_code != 0
    user_id = world.users["amb_b"].id
    assert f"About to erase user {user_id}" in answer.output
    assert "2 gifts they sent revoked" in answer.output  # to Sam, and to Rita
    assert "1 funding requests withdrawn" in answer.output
    assert "1 unconfirmed bookings stop the erasure" in answer.output
    assert "cannot be undone" in answer.output
    assert "Ben" not in answer.output and "@" not in answer.output  # counts, never names
    assert world.client("admin").get(f"/admin/users/{user_id}").text.count("ben@band.example")


def test_two_approvals_each_say_which_they_are(app, make_user, make_cohort):
    """Above the threshold, the first approver is told theirs only records itself, may not
    give the second too, and the second approver is told who gave the first."""
    from tests.test_funding import as_user, ask, decide, enrol_user, the_grant

    maya = make_user("ambassador", name="Maya Okafor")
    cohort_id = make_cohort(funded=50, session_allowance=10, approval_threshold=6)
    enrol_user(app, maya, cohort_id)
    ask(as_user(app, maya), cohort_id, 8)
    grant_id = the_grant(app).id
    jo = make_user("staff", name="Jo First")
    first, second = as_user(app, jo), as_user(app, make_user("staff"))

    page = text(first.get(f"/staff/requests/{grant_id}/approve?sessions=8").text)
    assert "Yours is recorded as the first; nothing is issued" in page
    decide(first, grant_id, "approve", sessions="8")
    answer = first.get(f"/staff/requests/{grant_id}/approve")
    assert answer.status_code == 302
    assert (
        "a different member of staff must give the second"
        in first.get(answer.headers["Location"]).text
    )
    page = text(second.get(f"/staff/requests/{grant_id}/approve").text)
    assert "Jo First gave the first approval. Yours is the second: 8 sessions move" in page
