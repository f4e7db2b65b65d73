"""Long lists paged and sortable, empty lists that say what to do, downloads named by what
they hold and when, money and dates in the reader's language."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.security_world import build_world

# Every long list, as someone who may read it.
LISTS = [
    ("staff", "/staff/requests"),
    ("staff", "/staff/cohorts/{cohort}"),
    ("staff", "/staff/partner-grants"),
    ("staff", "/staff/resources"),
    ("staff", "/staff/resources?show=stale"),
    ("finance", "/finance/batches"),
    ("partner_p", "/partner/"),
    ("admin", "/admin/"),
    ("admin", "/admin/audit"),
    ("admin", "/admin/partners"),
]
ODD_SORTS = ["", "-", "--name", "name;drop table users", "x" * 500, "‮name", "-amount-"]
ODD_PAGES = ["0", "-3", "abc", "1e9", "99999999999999999999999"]


@pytest.fixture
def world(app, make_user, make_cohort):
    return build_world(app, make_user, make_cohort)


def url_of(world, url: str) -> str:
    return world.fill(url)


def joined(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def test_odd_orders_and_pages_fall_back_never_fail(world):
    wrong = []
    for role, url in LISTS:
        client = world.client(role)
        url = url_of(world, url)
        usual = client.get(url)
        assert usual.status_code == 200, url
        for sort in ODD_SORTS:
            response = client.get(joined(url, urlencode({"sort": sort, "page": ODD_PAGES[0]})))
            if response.status_code != 200:
                wrong.append(f"{url} sort={sort[:20]!r}: HTTP {response.status_code}")
        for page in ODD_PAGES:
            response = client.get(joined(url, f"page={page}"))
            if response.status_code != 200:
                wrong.append(f"{url} page={page}: HTTP {response.status_code}")
    assert not wrong, "\n".join(wrong)


def order_of(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_a_list_sorts_by_a_column_either_way_and_says_so(world):
    staff = world.client("staff")
    names = ["Ben Bexley", "Cal Asks", "Dee Asks"]
    usual = staff.get("/staff/requests").text  # oldest first
    assert "3 waiting, oldest first" in usual
    by_name = staff.get("/staff/requests?sort=name").text
    assert order_of(by_name, names) == names
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a href="[^"]*sort=-name', by_name)
    backwards = staff.get("/staff/requests?sort=-name").text
    assert order_of(backwards, names) == names[::-1]
    assert 'aria-sort="descending"' in backwards and "by name, Z to A" in backwards
    # Other columns' links sort by them, their usual way round (most sessions first).
    assert "sort=-sessions" in by_name

    admin = world.client("admin")
    people = ["Ada Admin", "Ulla Roles", "Stella Staff"]
    assert order_of(admin.get("/admin/?sort=name").text, people) == sorted(people)
    assert order_of(admin.get("/admin/?sort=-email").text, people) == [
        "Ulla Roles",  # ulla@example.org
        "Stella Staff",  # stella@staff.example
        "Ada Admin",  # ada@admin.example
    ]


def test_a_long_list_is_paged_and_the_pages_keep_the_order(world, monkeypatch):
    import grants.admin.views

    monkeypatch.setattr(grants.admin.views, "PAGE_SIZE", 5)
    admin = world.client("admin")
    first = admin.get("/admin/?sort=-name").text
    total = int(re.search(r"(\d+) accounts, by name, Z to A, page 1 of (\d+)", first).group(1))
    pages = -(-total // 5)
    assert f"Page 1 of {pages}" in first
    assert "/admin/?page=2&amp;sort=-name" in first or "/admin/?sort=-name&amp;page=2" in first
    last = admin.get("/admin/?sort=-name&page=99999").text  # past the end: the last page
    assert f"page {pages} of {pages}" in last and "Ada Admin" in last


def test_downloads_are_named_by_what_they_hold_and_when(world):
    finance, staff = world.client("finance"), world.client("staff")
    batch = world.ids["batch_lines"]
    today = "2027-03-10"  # the world's day
    for url, name in [
        (f"/finance/batches/{batch}/summary.csv", f"payout-batch-{batch}-USD-summary-{today}.csv"),
        (f"/finance/batches/{batch}/detail.csv", f"payout-batch-{batch}-USD-detail-{today}.csv"),
        (f"/finance/batches/{batch}/bank.csv", f"payout-batch-{batch}-USD-bank-{today}.csv"),
        (f"/finance/batches/{batch}/batch.xlsx", f"payout-batch-{batch}-USD-report-{today}.xlsx"),
    ]:
        response = finance.get(url)
        response.get_data()
        response.close()
        disposition = response.headers["Content-Disposition"]
        assert disposition.replace('"', "") == f"attachment; filename={name}", disposition
    for kind in ("csv", "json"):
        response = staff.get(f"/staff/resources/export.{kind}")
        expected = f'attachment; filename="resources-{today}.{kind}"'
        assert response.headers["Content-Disposition"] == expected


def test_remittance_advice_shows_money_and_dates_in_the_readers_language(world):
    ids = world.ids
    url = f"/finance/batches/{ids['batch_lines']}/lines/{ids['line_p']}/remittance"
    finance = world.client("finance")
    english = finance.get(url).text
    assert "$100.00" in english
    assert re.search(
        rf"<title>Remittance advice: Harbour Therapy, payout {ids['batch_lines']}-", english
    )
    spanish = finance.get(url, headers={"Accept-Language": "es"}).text
    assert "100,00\xa0US$" in spanish


@pytest.mark.parametrize(
    ("role", "url", "words"),
    [
        ("staff", "/staff/partner-grants", "Propose one below"),
        ("staff", "/staff/requests", "their requests appear here"),
        ("staff", "/staff/resources?show=retired", "An entry you retire"),
        ("finance", "/finance/batches", "Build one below"),
        ("finance", "/finance/reconciliation", "nothing to reconcile"),
        ("admin", "/admin/partners", "Add the therapy providers and nonprofits"),
        ("admin", "/admin/audit?actor=nobody@example.org", "clear them all"),
    ],
)
def test_an_empty_list_says_what_will_appear_and_what_to_do(
    app, client, auth, make_user, role, url, words
):
    auth.login(make_user(role).email)
    response = client.get(url)
    assert response.status_code == 200
    assert words in " ".join(response.text.split())
