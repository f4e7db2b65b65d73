"""What finance files: each batch as summary and detail rows (CSV, XLSX), the bank's
payment file, and the reconciliation of what each partner is owed over a period.

Rows are produced lazily, so exports stream however large the batch; amounts are decimal
strings in major units ("120.00") computed from the integer minor units, so they add up to
the ledger to the penny. No holder names anywhere.

The detail CSV of a large batch (a million session lines) is written by PostgreSQL itself
(COPY) from a query that prints each cell as the Python rows below would: csv.writer costs
several microseconds a line, the database a fraction of one. SQLite, and every other export,
go through the Python rows; tests hold the two to the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import IO

from sqlalchemy import Numeric, Text, case, cast, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from grants.core import copy_out
from grants.core.clock import clock
from grants.core.models.cohorts import Cohort, region_label
from grants.core.models.ledger import Account, Ledger, Transfer
from grants.core.models.partners import Partner, PartnerGrant, Voucher
from grants.core.models.payouts import PayoutBatch, PayoutItem, PayoutLine
from grants.core.models.programmes import Programme
from grants.core.money import CURRENCIES
from grants.core.money_ledger import PAYABLE

SUMMARY_HEADER = [
    "partner",
    "payout_reference",
    "currency",
    "amount",
    "items",
    "status",
    "bank_reference",
    "paid_on",
]
DETAIL_HEADER = [
    "partner",
    "kind",
    "voucher_code",
    "session_date",
    "cohort",
    "programme",
    "purpose",
    "amount",
    "currency",
]
BANK_HEADER = ["payee", "payee_reference", "amount", "currency", "reference"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str | None) -> str:
    """Text as a spreadsheet will show it, never run it: a name or purpose typed as
    "=HYPERLINK(...)" gets a leading apostrophe (OWASP's advice on CSV injection)."""
    text = text or ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def major(minor: int, currency: str) -> str:
    """1250 -> "12.50": exact, from integers (never through a float)."""
    exponent = CURRENCIES[currency][1]
    if not exponent:
        return str(minor)
    units, cents = divmod(abs(minor), 10**exponent)
    return f"{'-' if minor < 0 else ''}{units}.{cents:0{exponent}d}"


def summary_rows(session: Session, batch: PayoutBatch) -> Iterator[list]:
    for line in batch.lines:
        items = session.scalar(
            select(func.count()).select_from(PayoutItem).where(PayoutItem.line_id == line.id)
        )
        yield [
            line.partner.name,
            line.partner.payout_reference,
            batch.currency,
            major(line.amount, batch.currency),
            items,
            line.status,
            line.bank_reference or "",
            line.paid_on.isoformat() if line.paid_on else "",
        ]


def detail_rows(
    session: Session,
    batch: PayoutBatch,
    *,
    line_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[list]:
    """One row per session or grant paid (by the whole batch, or by one line), streamed from
    the database in chunks."""
    query = detail_query(batch.id, line_id=line_id).execution_options(yield_per=1000)
    for name, amount, code, session_date, region, intake, programme, purpose in session.execute(
        query
    ):
        kind = "session" if code else "grant" if purpose else "other"
        # Cohort.name, from its parts: loading a Cohort per row would cost more than the row.
        cohort = f"{programme} {region_label(region)} {intake}" if region else ""
        yield [
            name,
            kind,
            f"{code[:4]}-{code[4:]}" if code else "",
            session_date.isoformat() if session_date else "",
            cohort,
            programme or "",
            purpose or "",
            major(amount, batch.currency),
            batch.currency,
        ]
        if progress:
            progress(1)


def detail_query(batch_id: int, *, line_id: int | None = None):
    """The detail rows' query: partner, amount, voucher code, session date, cohort region and
    intake, programme and grant purpose, in export order."""
    return (
        select(
            Partner.name,
            PayoutItem.amount,
            Voucher.code,
            Voucher.session_date,
            Cohort.region,
            Cohort.intake_name,
            Programme.code,
            PartnerGrant.purpose,
        )
        .select_from(PayoutItem)
        .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
        .join(Partner, Partner.id == PayoutLine.partner_id)
        .outerjoin(Voucher, Voucher.payment_transfer_id == PayoutItem.transfer_id)
        .outerjoin(Cohort, Cohort.id == Voucher.cohort_id)
        .outerjoin(Programme, Programme.id == Cohort.programme_id)
        .outerjoin(PartnerGrant, PartnerGrant.transfer_id == PayoutItem.transfer_id)
        .where(PayoutLine.batch_id == batch_id)
        .where(PayoutLine.id == line_id if line_id is not None else True)
        .order_by(Partner.name, PayoutItem.id)
    )


def bank_rows(batch: PayoutBatch, site_name: str) -> Iterator[list]:
    for line in batch.lines:
        # Only what is still to be paid: a file uploaded again must not pay anyone twice.
        if line.status == "pending":
            yield [
                line.partner.name,
                line.partner.payout_reference,
                major(line.amount, batch.currency),
                batch.currency,
                f"{site_name} payout {batch.id}-{line.id}",
            ]


def csv_safe(row: list) -> list:
    return [cell(value) if isinstance(value, str) else value for value in row]


def csv_chunks(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """A CSV file (UTF-8, csv.writer's dialect) in chunks of about 64 kB, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(csv_safe(row))
        if buffer.tell() > 64_000:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def detail_csv(
    session: Session, batch: PayoutBatch, *, progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The batch's detail as a CSV file in chunks, the same bytes whichever database writes
    it: PostgreSQL's COPY where it can, csv.writer over detail_rows elsewhere."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        if copy_out.is_utf8(driver):
            return _copied_detail_csv(driver, batch, progress)
    return csv_chunks(DETAIL_HEADER, detail_rows(session, batch, progress=progress))


def write_detail_csv(
    out: IO[bytes],
    session: Session,
    batch: PayoutBatch,
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    out.writelines(detail_csv(session, batch, progress=progress))


def _copied_detail_csv(driver, batch: PayoutBatch, progress) -> Iterator[bytes]:
    yield _csv_line(DETAIL_HEADER)
    sql = printed_detail_query(batch.id, batch.currency).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    # Dates print as ISO (isoformat()'s) whatever the server's default; for this
    # transaction only.
    statement = f"SET LOCAL DateStyle = ISO; COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    for chunk, rows in copy_out.copy_out(driver, statement):
        yield _crlf(chunk, rows)
        if progress:
            progress(rows)


def printed_detail_query(batch_id: int, currency: str):
    """detail_query's lines with their cells as detail_rows prints them and csv_safe
    guards them, as text; an empty cell as NULL, which COPY writes as nothing (csv.writer's
    way) where it would write an empty text as "".

    The cells are printed from the sorted lines (a subquery), not before the sort: sorting
    the printed lines, four times as wide, took longer than printing them."""
    line = (
        detail_query(batch_id)
        .with_only_columns(
            Partner.name.label("partner"),
            PayoutItem.id,
            PayoutItem.amount,
            Voucher.code.label("voucher"),
            Voucher.session_date,
            Cohort.region,
            Cohort.intake_name,
            Programme.code.label("programme"),
            PartnerGrant.purpose,
            maintain_column_froms=False,
        )
        .subquery("line")
        .c
    )
    code, purpose, programme = line.voucher, line.purpose, line.programme
    # Cohort.name, as region_label writes the region.
    region = case((line.region == "GB", "UK"), else_=line.region)
    cohort = programme + " " + region + " " + line.intake_name
    exponent = CURRENCIES[currency][1]
    # Exact: an integer times 0.01 is a numeric with two decimals ("12.50"), as major() has.
    amount = cast(line.amount * literal(Decimal(1).scaleb(-exponent), Numeric), Text)
    return select(
        func.nullif(_guarded(line.partner), ""),
        case((code != "", "session"), (purpose != "", "grant"), else_="other"),
        # A code's first character is its printed form's first (and so a cohort's, its
        # programme's): the guard looks there, cheaper than building the text twice.
        case((code != "", _guarded(func.left(code, 4) + "-" + func.substr(code, 5), code))),
        cast(line.session_date, Text),
        case((line.region != "", _guarded(cohort, programme))),
        func.nullif(_guarded(programme), ""),
        func.nullif(_guarded(purpose), ""),
        amount,  # never guarded: amounts are positive (a CHECK), so never start with "-"
        literal(cell(currency), Text),
    ).order_by(line.partner, line.id)  # the subquery's order: PostgreSQL sorts once


# cell()'s FORMULA_STARTS as code points: ascii() of the first character is the cheapest
# test PostgreSQL has (a tenth of a microsecond a cell less than comparing text).
_FORMULA_CODES = [ord(start) for start in FORMULA_STARTS]


def _guarded(text, starts=None):
    """cell() in SQL: a leading apostrophe when the text (or `starts`, the text it begins
    with) starts as a formula would."""
    first = func.ascii(text if starts is None else starts)
    return case((first.in_(_FORMULA_CODES), "'" + text), else_=text)


def _csv_line(row: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue().encode()


def _crlf(chunk: bytes, rows: int) -> bytes:
    """COPY's lines, ended as csv.writer ends them: "\r\n" where COPY writes "\n"."""
    if chunk.count(b"\n") == rows:  # no line break inside a cell: each "\n" ends a line
        return chunk.replace(b"\n", b"\r\n")
    # A name or purpose typed over several lines (rare): the cells read back and written
    # again by csv.writer, whose quoting is COPY's (a comma, a quote, a line break).
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv.reader(io.StringIO(chunk.decode(), newline="")))
    return buffer.getvalue().encode()


def write_xlsx(
    path, session: Session, batch: PayoutBatch, *, progress: Callable[[int], None] | None = None
) -> None:
    """Two sheets, Summary and Detail, written row by row (openpyxl's write-only mode keeps
    memory flat). openpyxl is imported here, not with the module: it costs every `flask`
    command and worker a quarter of a second to load, and only this export needs it."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(SUMMARY_HEADER)
    for row in summary_rows(session, batch):
        summary.append(_typed(summary, row, amount_at=3))
    live = sum(line.amount for line in batch.lines if line.status != "failed")
    summary.append(
        ["Total paid or to pay", "", batch.currency, Decimal(major(live, batch.currency))]
    )
    detail = book.create_sheet("Detail")
    detail.append(DETAIL_HEADER)
    for row in detail_rows(session, batch, progress=progress):
        detail.append(_typed(detail, row, amount_at=7))
    book.save(path)


def _typed(sheet, row: list, *, amount_at: int) -> list:
    """Amounts as numbers, so totals can be summed in the spreadsheet too; text as explicit
    text cells, so nothing typed into a name or purpose can run as a formula."""
    from openpyxl.cell import WriteOnlyCell

    typed = []
    for index, value in enumerate(row):
        if index == amount_at:
            typed.append(Decimal(value))
        elif isinstance(value, str):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"  # openpyxl would take "=..." for a formula
            typed.append(text)
        else:
            typed.append(value)
    return typed


# --- reconciliation ----------------------------------------------------------------------


@dataclass
class ReconciliationLine:
    partner: str
    currency: str
    owed_at_start: int
    sessions: int
    grants: int
    paid: int
    owed_at_end: int
    # When the period reaches today: what the account's own balance says (posted only).
    balance_now: int | None = None

    @property
    def expected_end(self) -> int:
        return self.owed_at_start + self.sessions + self.grants - self.paid

    @property
    def holds(self) -> bool:
        matches_balance = self.balance_now is None or self.balance_now == self.owed_at_end
        return self.expected_end == self.owed_at_end and matches_balance


def reconcile(session: Session, start: date, end: date) -> list[ReconciliationLine]:
    """Per partner and currency: owed at start + sessions + grants - paid = owed at end,
    each figure read from the ledger's transfers. A line that does not hold is a finding."""
    begin = datetime.combine(start, time(), UTC)
    finish = datetime.combine(end + timedelta(days=1), time(), UTC)
    posted = Transfer.kind.in_(["single", "post"])

    def credits(condition):
        return func.coalesce(func.sum(case((condition, Transfer.amount), else_=0)), 0)

    lines = []
    for account, ledger, partner in session.execute(
        select(Account, Ledger, Partner)
        .join(Ledger, Ledger.id == Account.ledger_id)
        .join(Partner, Partner.id == Account.partner_id)
        .where(Account.code == PAYABLE)
        .order_by(Partner.name, Ledger.unit)
    ):
        into = Transfer.credit_account_id == account.id
        out = Transfer.debit_account_id == account.id
        before, after = Transfer.created_at < begin, Transfer.created_at < finish
        within = (Transfer.created_at >= begin) & after
        figures = session.execute(
            select(
                credits(into & before) - credits(out & before),
                credits(into & within & (Transfer.code == "session")),
                credits(into & within & (Transfer.code == "partner_grant")),
                credits(out & within),
                credits(into & after) - credits(out & after),
            ).where(posted, into | out)
        ).one()
        line = ReconciliationLine(partner.name, ledger.unit, *[int(f) for f in figures])
        if finish > clock.now():
            # The transfers' sum is checked against the balance the ledger keeps, too.
            line.balance_now = account.credits_posted - account.debits_posted
        lines.append(line)
    return lines
