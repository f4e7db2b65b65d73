"""Odd input anywhere gets a clear answer, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import submit
from tests.test_cohorts import GOOD


@pytest.fixture
def staff_client(client, auth, make_user):
    auth.login(make_user("staff", "admin", "ambassador").email)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/audit?until=9999-12-31",
        "/admin/audit?since=0001-01-01",
        "/admin/audit?page=100000000000000000000",
        "/admin/?page=-5",
        "/staff/requests?page=99999999999&cohort=99999999999999999999",
        "/staff/cohorts/1?page=100000000000000000000&state=nonsense",
        "/wallet/?page=1e9",
    ],
)
def test_odd_query_strings_are_answered(staff_client, make_cohort, url):
    make_cohort()
    assert staff_client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/staff/cohorts/99999999999999999999999",
        "/staff/requests/2147483648",
        "/staff/imports/99999999999999999999/confirm",
    ],
)
def test_ids_no_row_can_have_are_not_found(staff_client, url):
    assert staff_client.get(url).status_code in (404, 405)


@pytest.mark.parametrize("value", ["1e30", "99999999999999999", "1e400", "NaN", "-Infinity"])
def test_absurd_money_is_refused(app, staff_client, value):
    response = submit(staff_client, "/staff/cohorts/new", {**GOOD, "session_value": value})
    assert response.status_code == 200
    assert any(
        message in response.text
        for message in ("between 0.01 and 100,000", "Not a valid", "Enter an amount of money.")
    )


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/staff/cohorts/new", {**GOOD, "intake_name": "20\x0027"}),
        ("/admin/programmes", {"code": "NUL", "name": "a\x00b", "consent": "x" * 50}),
    ],
)
def test_a_nul_character_is_refused_on_both_databases(staff_client, url, data):
    assert submit(staff_client, url, data).status_code == 400


def test_a_nul_in_a_query_is_refused(staff_client):
    assert staff_client.get("/admin/audit?actor=a%00b").status_code == 400
