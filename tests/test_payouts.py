"""Finance: payout batches built from what partners are owed, approved by a second finance
user, paid or failed per line; exports that add up to the ledger; reconciliation."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from grants.core import copy_out
from grants.core.clock import clock
from grants.core.db import commit_with_retry
from grants.core.ledger import NewTransfer, apply_transfers
from grants.core.models.cohorts import Cohort
from grants.core.models.partners import Partner
from grants.core.models.payouts import PayoutBatch, PayoutLine
from grants.core.models.people import User
from grants.core.money_ledger import funding_account, payable_account
from grants.core.partners import (
    PartnerSettings,
    approve_partner_grant,
    propose_partner_grant,
    save_partner,
)
from grants.core.payout_reports import DETAIL_HEADER, csv_chunks, detail_csv, detail_rows
from grants.core.payouts import build_batch
from grants.core.vouchers import book_session, confirm_session
from grants.database import get_session
from tests.conftest import AuthActions, csrf_token, submit
from tests.test_funding import enrol_user
from tests.test_gifts import grant_credits


@pytest.fixture
def owed(app, make_user, make_cohort):
    """Partner P is owed $740 (two sessions of $120 and a $500 grant), Q $120."""
    clock.set(clock.now().replace(year=2027, month=3, day=10))
    staff, staff2 = make_user("staff"), make_user("staff")
    maya = make_user("ambassador")
    cohort_id = make_cohort(
        funded=50, session_allowance=10, approval_threshold=10, session_value=12_000
    )
    enrol_user(app, maya, cohort_id)
    grant_credits(app, maya, cohort_id, 5, staff)
    with app.app_context():
        db = get_session()

        def work():
            p, q = (
                save_partner(
                    db,
                    None,
                    PartnerSettings(
                        name=name,
                        kind="therapy",
                        currency="USD",
                        regions=("US",),
                        payout_reference=ref,
                    ),
                )
                for name, ref in (
                    ("Harbour", "US00 1111 2222 3333"),
                    ("Quay", "US00 4444 5555 6666"),
                )
            )
            desk = User(email="desk@harbour.example", name="Desk", partner_id=p.id)
            qdesk = User(email="desk@quay.example", name="Q desk", partner_id=q.id)
            db.add_all([desk, qdesk])
            db.flush()
            holder, cohort = db.get(User, maya.id), db.get(Cohort, cohort_id)
            for partner, confirmer in ((p, desk), (p, desk), (q, qdesk)):
                voucher = book_session(db, holder, cohort, partner.id, transfer_id=uuid.uuid4())
                confirm_session(db, confirmer, voucher.code, clock.now().date())
            grant = propose_partner_grant(
                db,
                db.get(User, staff.id),
                p,
                amount=50_000,
                purpose="Outreach",
                request_id=uuid.uuid4(),
            )
            approve_partner_grant(db, db.get(User, staff2.id), grant.id)
            return p.id, q.id

        p_id, q_id = commit_with_retry(db, work)
    return {"p": p_id, "q": q_id, "f1": make_user("finance"), "f2": make_user("finance")}


def logged_in(app, user):
    client = app.test_client()
    AuthActions(client).login(user.email)
    return client


def build(client, **fields):
    page = client.get("/finance/batches")
    request_id = page.text.split('name="request_id" type="hidden" value="')[1].split('"')[0]
    data = {
        "currency": "USD",
        "cutoff": clock.now().date().isoformat(),
        "request_id": request_id,
        **fields,
    }
    return client.post("/finance/batches", data={**data, "csrf_token": csrf_token(page.text)})


def owed_to(app, partner_id) -> int:
    with app.app_context():
        db = get_session()
        value = payable_account(db, partner_id, "USD").available
        db.rollback()
        return value


def the_batch(app) -> PayoutBatch:
    with app.app_context():
        db = get_session()
        batch = db.scalar(select(PayoutBatch).order_by(PayoutBatch.id.desc()))
        lines = [(line.partner_id, line.amount, line.status, line.id) for line in batch.lines]
        db.expunge(batch)
        batch.snapshot = lines
        return batch


def test_build_approve_pay_and_fail(app, owed):
    f1, f2 = logged_in(app, owed["f1"]), logged_in(app, owed["f2"])
    assert build(f1).status_code == 302
    batch = the_batch(app)
    assert sorted((p, a, s) for p, a, s, _ in batch.snapshot) == sorted(
        [(owed["p"], 74_000, "draft"), (owed["q"], 12_000, "draft")]
    )
    assert owed_to(app, owed["p"]) == 74_000  # a draft holds nothing

    refused = submit(
        f1,
        f"/finance/batches/{batch.id}/approve",
        form_page=f"/finance/batches/{batch.id}",
        follow=True,
    )
    assert "A different finance user must approve" in refused.text
    submit(f2, f"/finance/batches/{batch.id}/approve", form_page=f"/finance/batches/{batch.id}")
    assert the_batch(app).status == "approved"
    assert owed_to(app, owed["p"]) == 0 and owed_to(app, owed["q"]) == 0  # held
    again = submit(
        f2,
        f"/finance/batches/{batch.id}/approve",
        form_page=f"/finance/batches/{batch.id}",
        follow=True,
    )
    assert "already approved" in again.text

    lines = {p: line_id for p, _, _, line_id in the_batch(app).snapshot}
    submit(
        f1,
        f"/finance/batches/{batch.id}/lines/{lines[owed['p']]}/pay",
        {"bank_reference": "BACS-0042", "paid_on": clock.now().date().isoformat()},
        form_page=f"/finance/batches/{batch.id}",
    )
    submit(
        f1,
        f"/finance/batches/{batch.id}/lines/{lines[owed['q']]}/fail",
        {"reason": "Account closed"},
        form_page=f"/finance/batches/{batch.id}",
    )
    batch = the_batch(app)
    assert batch.status == "closed"
    assert {p: s for p, _, s, _ in batch.snapshot} == {owed["p"]: "paid", owed["q"]: "failed"}
    assert owed_to(app, owed["p"]) == 0
    assert owed_to(app, owed["q"]) == 12_000  # owed again
    twice = submit(
        f1,
        f"/finance/batches/{batch.id}/lines/{lines[owed['p']]}/pay",
        {"bank_reference": "AGAIN", "paid_on": clock.now().date().isoformat()},
        form_page=f"/finance/batches/{batch.id}",
        follow=True,
    )
    assert "already marked paid" in twice.text

    build(f2)  # the failed line's sessions are picked up again, and only those
    assert [(p, a) for p, a, _, _ in the_batch(app).snapshot] == [(owed["q"], 12_000)]


def test_a_batch_never_takes_what_another_has(app, owed):
    f1 = logged_in(app, owed["f1"])
    build(f1)
    first = the_batch(app)
    second = build(f1)
    assert second.status_code == 422 and "No partner is owed anything" in second.text
    submit(f1, f"/finance/batches/{first.id}/discard", form_page=f"/finance/batches/{first.id}")
    assert build(f1).status_code == 302
    assert the_batch(app).total == 86_000


def test_a_double_submit_builds_once(app, owed):
    f1 = logged_in(app, owed["f1"])
    page = f1.get("/finance/batches")
    request_id = page.text.split('name="request_id" type="hidden" value="')[1].split('"')[0]
    data = {
        "currency": "USD",
        "cutoff": clock.now().date().isoformat(),
        "request_id": request_id,
        "csrf_token": csrf_token(page.text),
    }
    f1.post("/finance/batches", data=data)
    f1.post("/finance/batches", data=data)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(PayoutBatch)) == 1


def test_only_the_chosen_partners_and_only_up_to_the_cutoff(app, owed):
    f1 = logged_in(app, owed["f1"])
    build(f1, partner_ids=[str(owed["q"])])
    assert [(p, a) for p, a, _, _ in the_batch(app).snapshot] == [(owed["q"], 12_000)]
    early = build(f1, cutoff=(clock.now().date() - timedelta(days=1)).isoformat())
    assert "No partner is owed anything" in early.text
    future = build(f1, cutoff=(clock.now().date() + timedelta(days=1)).isoformat())
    assert "cannot be in the future" in future.text


def test_approval_needs_a_recent_login(app, owed):
    f1, f2 = logged_in(app, owed["f1"]), logged_in(app, owed["f2"])
    build(f1)
    batch = the_batch(app)
    clock.advance(timedelta(minutes=16))
    response = submit(
        f2, f"/finance/batches/{batch.id}/approve", form_page=f"/finance/batches/{batch.id}"
    )
    assert response.status_code == 302 and response.location.startswith("/auth/confirm")
    assert the_batch(app).status == "draft"
    wrong = submit(f2, "/auth/confirm", {"password": "not it"})
    assert "That is not your password" in wrong.text
    from tests.conftest import PASSWORD

    submit(f2, "/auth/confirm", {"password": PASSWORD})
    submit(f2, f"/finance/batches/{batch.id}/approve", form_page=f"/finance/batches/{batch.id}")
    assert the_batch(app).status == "approved"


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_exports_add_up_to_the_ledger(app, owed, runner, tmp_path):
    f1, f2 = logged_in(app, owed["f1"]), logged_in(app, owed["f2"])
    build(f1)
    batch = the_batch(app)
    submit(f2, f"/finance/batches/{batch.id}/approve", form_page=f"/finance/batches/{batch.id}")

    summary = f1.get(f"/finance/batches/{batch.id}/summary.csv")
    assert summary.headers["Content-Disposition"].endswith(
        f'payout-batch-{batch.id}-USD-summary-2027-03-10.csv"'
    )
    rows = _rows(summary.text)
    assert sum(int(float(r["amount"]) * 100) for r in rows) == 86_000
    assert {r["payout_reference"] for r in rows} == {"•••• 3333", "•••• 6666"}
    detail = _rows(f1.get(f"/finance/batches/{batch.id}/detail.csv").text)
    assert len(detail) == 4 and sorted(r["kind"] for r in detail) == [
        "grant",
        "session",
        "session",
        "session",
    ]
    assert sum(round(float(r["amount"]) * 100) for r in detail) == 86_000
    assert all(r["cohort"] == "RADAR US 2027" for r in detail if r["kind"] == "session")
    bank = _rows(f1.get(f"/finance/batches/{batch.id}/bank.csv").text)
    assert [r["amount"] for r in sorted(bank, key=lambda r: r["payee"])] == ["740.00", "120.00"]
    first_line = the_batch(app).snapshot[0][3]
    submit(
        f1,
        f"/finance/batches/{batch.id}/lines/{first_line}/pay",
        {"bank_reference": "BACS-1", "paid_on": clock.now().date().isoformat()},
        form_page=f"/finance/batches/{batch.id}",
    )
    again = _rows(f1.get(f"/finance/batches/{batch.id}/bank.csv").text)
    assert len(again) == 1  # what is paid is not in the file any more

    xlsx = f1.get(f"/finance/batches/{batch.id}/batch.xlsx")
    path = tmp_path / "batch.xlsx"
    path.write_bytes(xlsx.data)
    book = load_workbook(path)
    sheet_rows = list(book["Summary"].iter_rows(values_only=True))
    assert sheet_rows[-1][0] == "Total paid or to pay" and float(sheet_rows[-1][3]) == 860.0
    detail_sheet = list(book["Detail"].iter_rows(values_only=True))[1:]
    assert round(sum(float(r[7]) for r in detail_sheet), 2) == 860.0

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"cli.{fmt}"
        result = runner.invoke(
            args=[
                "payouts",
                "export",
                "--batch",
                str(batch.id),
                "--format",
                fmt,
                "--output",
                str(out),
            ]
        )
        assert result.exit_code == 0 and "4 rows written" in result.output
    assert len(_rows((tmp_path / "cli.csv").read_text())) == 4

    page = f1.get(
        f"/finance/batches/{batch.id}/lines/{the_batch(app).snapshot[0][3]}/remittance"
    ).text
    assert "Remittance advice" in page and "Maya" not in page


def test_reconciliation_adds_up_and_flags_what_does_not(app, owed):
    f1 = logged_in(app, owed["f1"])
    page = f1.get("/finance/reconciliation?start=2027-03-01&end=2027-03-31").text
    assert "Adds up" in page and "Does not add up" not in page
    with app.app_context():  # money reaches a payable by a way the period does not know
        db = get_session()
        apply_transfers(
            db,
            [
                NewTransfer(
                    id=uuid.uuid4(),
                    debit_account_id=funding_account(db, "USD").id,
                    credit_account_id=payable_account(db, owed["p"], "USD").id,
                    amount=999,
                    code="adjustment",
                )
            ],
        )
        db.commit()
    page = f1.get("/finance/reconciliation?start=2027-03-01&end=2027-03-31").text
    assert "1 line do not add up" in page and "Does not add up" in page
    far = f1.get("/finance/reconciliation?start=9999-12-01&end=9999-12-31")
    assert far.status_code == 200


def test_finance_home_shows_figures_as_tables_and_charts(app, owed):
    page = logged_in(app, owed["f1"]).get("/finance/").text
    assert "<svg" in page and "Owed to each partner" in page
    assert "$740.00" in page and "$120.00" in page


@pytest.mark.parametrize("role", ["staff", "partner", "ambassador", "admin"])
def test_finance_is_for_finance(app, owed, make_user, role):
    client = logged_in(app, make_user(role))
    assert client.get("/finance/batches").status_code == 403
    token = csrf_token(client.get("/resources/").text)
    for url in ("/finance/batches", "/finance/batches/1/approve", "/finance/batches/1/pay"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403


def test_bad_payment_details_are_refused(app, owed):
    f1, f2 = logged_in(app, owed["f1"]), logged_in(app, owed["f2"])
    build(f1)
    batch = the_batch(app)
    submit(f2, f"/finance/batches/{batch.id}/approve", form_page=f"/finance/batches/{batch.id}")
    line_id = the_batch(app).snapshot[0][3]
    future = (clock.now().date() + timedelta(days=3)).isoformat()
    for data, message in (
        ({"bank_reference": "", "paid_on": "2027-03-10"}, "Enter the bank"),
        ({"bank_reference": "X", "paid_on": future}, "cannot be in the future"),
    ):
        response = submit(
            f1,
            f"/finance/batches/{batch.id}/lines/{line_id}/pay",
            data,
            form_page=f"/finance/batches/{batch.id}",
            follow=True,
        )
        assert message in response.text
    with app.app_context():
        assert get_session().get(PayoutLine, line_id).status == "pending"


def test_two_approvers_at_once_approve_once(app, owed, make_user):
    import threading

    build(logged_in(app, owed["f1"]))
    batch = the_batch(app)
    clients = [logged_in(app, owed["f2"]), logged_in(app, make_user("finance"))]
    url = f"/finance/batches/{batch.id}/approve"
    tokens = [csrf_token(c.get(f"/finance/batches/{batch.id}").text) for c in clients]
    barrier = threading.Barrier(2)

    def approve(n):
        barrier.wait()
        clients[n].post(url, data={"csrf_token": tokens[n]})

    threads = [threading.Thread(target=approve, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert the_batch(app).status == "approved"
    with app.app_context():  # one decision, recorded once, by whoever came first
        from grants.core.models.audit import AuditEntry

        approvals = get_session().scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "payout.approve")
        )
    assert approvals == 1
    assert owed_to(app, owed["p"]) == 0  # held once, not twice (the ledger would refuse)


def test_exported_text_cannot_run_as_a_formula(app, owed, tmp_path):
    with app.app_context():
        db = get_session()
        partner = db.get(Partner, owed["p"])
        partner.name = '=HYPERLINK("http://evil.example","click")'
        db.commit()
    f1 = logged_in(app, owed["f1"])
    build(f1)
    batch = the_batch(app)
    rows = _rows(f1.get(f"/finance/batches/{batch.id}/summary.csv").text)
    assert all(not r["partner"].startswith("=") for r in rows)
    path = tmp_path / "b.xlsx"
    path.write_bytes(f1.get(f"/finance/batches/{batch.id}/batch.xlsx").data)
    sheet = load_workbook(path)["Summary"]
    [name_cell] = [row[0] for row in sheet.iter_rows() if "HYPERLINK" in str(row[0].value)]
    # Kept exactly as typed, as text: shown, never run.
    assert name_cell.value == '=HYPERLINK("http://evil.example","click")'
    assert name_cell.data_type == "s"
    line_id = next(line_id for p, _, _, line_id in batch.snapshot if p == owed["p"])
    advice = f1.get(f"/finance/batches/{batch.id}/lines/{line_id}/remittance").text
    assert advice.count("<td>Session</td>") == 2 and "$120.00" in advice


# Names and purposes as people type them: a comma, quotes, a line break, a formula's first
# characters, a tab, accents and other scripts; and one empty purpose.
AWKWARD_NAMES = [
    'Comma, "Quoted" & Co',
    '=HYPERLINK("http://evil.example","click")',
    "+plus\nsecond line",
    "-minus",
    "@at\r\nwith a Windows line end",
    "\ttab first",
    "Café Zoë \u2013 naïve 東京 🎵",
]
AWKWARD_PURPOSES = ["", "Outreach, 2027", '"Quoted"', "=1+1", "line\nbreak", "-5", "Ünïcode"]


@pytest.fixture
def awkward_batches(app, owed, make_user, make_cohort):
    """A USD and a GBP batch: every partner with an awkward name, sessions in a US and a UK
    cohort (one with an awkward intake), grants with awkward purposes, amounts in pennies."""
    staff, staff2 = make_user("staff"), make_user("staff")
    maya = make_user("ambassador")
    uk = make_cohort(
        funded=50,
        region="GB",
        currency="GBP",
        programme_id=1,
        intake_name='Spring, "2027"',
        session_value=9_999,
        session_allowance=10,
        approval_threshold=10,
    )
    enrol_user(app, maya, uk)
    grant_credits(app, maya, uk, 4, staff)
    with app.app_context():
        db = get_session()

        def work():
            partners = [db.get(Partner, owed["p"]), db.get(Partner, owed["q"])]
            for index, currency in enumerate(["GBP"] * 3 + ["USD"] * 2):
                settings = PartnerSettings(
                    name=f"Partner {index}",
                    kind="therapy",
                    currency=currency,
                    regions=("GB",) if currency == "GBP" else ("US",),
                    payout_reference=f"GB00 0000 0000 {index:04d}",
                )
                partners.append(save_partner(db, None, settings))
            desk = User(email="desk@uk.example", name="UK desk", partner_id=partners[2].id)
            db.add(desk)
            db.flush()
            for _ in range(2):
                holder, cohort = db.get(User, maya.id), db.get(Cohort, uk)
                voucher = book_session(db, holder, cohort, partners[2].id, transfer_id=uuid.uuid4())
                confirm_session(db, desk, voucher.code, clock.now().date())
            for index, (partner, purpose) in enumerate(
                zip(partners, AWKWARD_PURPOSES, strict=True)
            ):
                grant = propose_partner_grant(
                    db,
                    db.get(User, staff.id),
                    partner,
                    amount=1 + 10_007 * index,  # 0.01, 100.08, 200.15 ...
                    purpose=purpose or "to be emptied",
                    request_id=uuid.uuid4(),
                )
                approve_partner_grant(db, db.get(User, staff2.id), grant.id)
                grant.purpose = purpose
            for partner, name in zip(partners, AWKWARD_NAMES, strict=True):
                partner.name = name
            finance, today = db.get(User, owed["f1"].id), clock.now().date()
            return [
                build_batch(db, finance, currency=c, cutoff=today, request_id=uuid.uuid4()).id
                for c in ("USD", "GBP")
            ]

        batches = commit_with_retry(db, work)
    return {"batches": batches, "f1": owed["f1"]}


@pytest.mark.parametrize("rows_per_chunk", [1000, 2])
def test_the_detail_csv_is_the_same_bytes_from_the_database(
    app, awkward_batches, monkeypatch, rows_per_chunk
):
    """On PostgreSQL the database writes the detail CSV (COPY): it must be byte for byte
    what csv.writer writes from detail_rows, line ends, quoting and formula guards alike.
    Small chunks put lines with and without a line break inside a cell in chunks apart."""
    monkeypatch.setattr(copy_out, "ROWS_PER_CHUNK", rows_per_chunk)
    copies, copy = [], copy_out.copy_out
    monkeypatch.setattr(copy_out, "copy_out", lambda *args: copies.append(1) or copy(*args))
    with app.app_context():
        db = get_session()
        on_postgresql = db.get_bind().dialect.name == "postgresql"
        for batch_id in awkward_batches["batches"]:
            batch = db.get(PayoutBatch, batch_id)
            written = b"".join(csv_chunks(DETAIL_HEADER, detail_rows(db, batch)))
            counted = []
            assert b"".join(detail_csv(db, batch, progress=counted.append)) == written
            rows = list(csv.reader(io.StringIO(written.decode(), newline="")))
            assert rows[0] == DETAIL_HEADER and written.endswith(b"\r\n")
            assert len(rows) - 1 == sum(counted)
        assert len(copies) == (2 if on_postgresql else 0)  # the database wrote it, or Python
    usd, gbp = [_rows_of(app, batch_id) for batch_id in awkward_batches["batches"]]
    assert {row["kind"] for row in usd} == {"session", "grant", "other"}
    assert {row["partner"] for row in usd} == {
        'Comma, "Quoted" & Co',
        '\'=HYPERLINK("http://evil.example","click")',
        "'\ttab first",
        "Café Zoë \u2013 naïve 東京 🎵",
    }
    assert {row["amount"] for row in usd} >= {"0.01", "120.00", "500.00", "600.43"}
    assert {row["partner"] for row in gbp} == {
        "'+plus\nsecond line",
        "'-minus",
        "'@at\r\nwith a Windows line end",
    }
    assert {row["cohort"] for row in gbp} == {'EQUAL UK Spring, "2027"', ""}
    assert {row["purpose"] for row in gbp} == {"", '"Quoted"', "'=1+1", "line\nbreak"}
    assert {row["amount"] for row in gbp} == {"99.99", "200.15", "300.22", "400.29"}


def _rows_of(app, batch_id: int) -> list[dict]:
    with app.app_context():
        db = get_session()
        chunks = detail_csv(db, db.get(PayoutBatch, batch_id))
        return list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))


def test_the_detail_csv_streams_from_the_route_and_the_command(
    app, awkward_batches, runner, tmp_path
):
    batch_id = awkward_batches["batches"][0]
    with app.app_context():
        db = get_session()
        written = b"".join(
            csv_chunks(DETAIL_HEADER, detail_rows(db, db.get(PayoutBatch, batch_id)))
        )
    response = logged_in(app, awkward_batches["f1"]).get(f"/finance/batches/{batch_id}/detail.csv")
    assert response.is_streamed and response.data == written
    out = tmp_path / "detail.csv"
    args = ["payouts", "export", "--batch", str(batch_id), "--format", "csv", "--output", str(out)]
    assert runner.invoke(args=args).exit_code == 0
    assert out.read_bytes() == written


def test_a_detail_csv_left_halfway_leaves_the_connection_usable(app, awkward_batches, monkeypatch):
    monkeypatch.setattr(copy_out, "ROWS_PER_CHUNK", 1)
    with app.app_context():
        db = get_session()
        chunks = detail_csv(db, db.get(PayoutBatch, awkward_batches["batches"][0]))
        next(chunks), next(chunks, None)  # the header, a line; then the client hangs up
        chunks.close()
        db.rollback()  # on PostgreSQL the cancelled COPY may have ended the transaction
        assert db.scalar(select(func.count()).select_from(PayoutLine)) >= 2
