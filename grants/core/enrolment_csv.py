"""Enrolling many ambassadors from a CSV file: read, check every row, then import all or none.

The same functions serve the staff upload page and `flask --app wsgi enrol import`.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.core import audit, outbox
from grants.core.bulk import insert_returning, one_of
from grants.core.clock import clock
from grants.core.countries import normalise_country
from grants.core.enrolment import CohortNotOpen, conflict_between
from grants.core.errors import DomainError, InvalidInput
from grants.core.i18n import Message, _, ngettext
from grants.core.models.cohorts import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from grants.core.models.people import User
from grants.core.people import normalise_email

COLUMNS = ("name", "artist_name", "email", "country")
# Header spellings people use for the same columns.
ALIASES = {
    "full name": "name",
    "artist name": "artist_name",
    "artist": "artist_name",
    "project": "artist_name",
    "artist or project name": "artist_name",
    "artist/project name": "artist_name",
    "email address": "email",
    "e-mail": "email",
    "country code": "country",
}
MAX_ROWS = 20_000
CHUNK = 500  # rows per query when looking people up, and per progress step
# The tables, for the statements that write a whole chunk of rows at once.
USERS, ENROLMENTS = User.__table__, Enrolment.__table__


class CsvProblem(InvalidInput):
    """The file as a whole cannot be read as an enrolment list."""


class RowsInvalid(DomainError):
    """Some rows cannot be imported; nothing was."""

    def __init__(self, rows: list[CsvRow]) -> None:
        bad = [row for row in rows if row.errors]
        super().__init__(
            ngettext(
                "%(bad)s of %(num)s row cannot be imported, so nothing was. "
                "Fix those rows and upload the file again.",
                "%(bad)s of %(num)s rows cannot be imported, so nothing was. "
                "Fix those rows and upload the file again.",
                len(rows),
                bad=len(bad),
            )
        )
        self.rows = rows


@dataclass
class CsvRow:
    line: int  # the line of the file it came from, as a spreadsheet numbers it
    name: str
    artist_name: str
    email: str
    country: str
    errors: list[str] = field(default_factory=list)
    # The email as normalise_email gave it when this process read the row. Checking it is
    # most of the cost of reading a row, and the check before importing need not repeat it
    # for a row read moments ago; rows stored for a preview come back without it.
    checked_email: str | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "name": self.name,
            "artist_name": self.artist_name,
            "email": self.email,
            "country": self.country,
        }


def read_enrolment_csv(data: bytes) -> list[CsvRow]:
    """Every row of the file, each normalised or carrying its errors. Raises CsvProblem when
    the file as a whole is unusable (encoding, headers, no rows, too many)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvProblem(
            _(
                'The file is not UTF-8 text. In your spreadsheet, save it as "CSV UTF-8" and '
                "upload it again."
            )
        ) from None
    if "\x00" in text:
        raise CsvProblem(_("This does not look like a CSV file (it contains binary data)."))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = [(reader.line_num, cells) for cells in reader]
    except csv.Error as error:
        raise CsvProblem(
            _("The file could not be read as CSV (%(error)s).", error=str(error))
        ) from None
    lines = [(number, cells) for number, cells in lines if any(cell.strip() for cell in cells)]
    if not lines:
        raise CsvProblem(_("The file is empty."))
    (_number, header), body = lines[0], lines[1:]
    columns = _columns(header)
    if not body:
        raise CsvProblem(_("The file has a header but no rows to import."))
    if len(body) > MAX_ROWS:
        raise CsvProblem(
            _(
                "The file has %(rows)s rows; import at most %(most)s at a time.",
                rows=len(body),
                most=MAX_ROWS,
            )
        )

    rows: list[CsvRow] = []
    first_line_of: dict[str, int] = {}
    for number, cells in body:
        if len(cells) != len(columns):
            row = CsvRow(number, "", "", "", "")
            row.errors.append(
                ngettext(
                    "has %(num)s value; the header has %(columns)s",
                    "has %(num)s values; the header has %(columns)s",
                    len(cells),
                    columns=len(columns),
                )
            )
            rows.append(row)
            continue
        values = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
        row = _checked_row(number, values)
        if not row.errors:
            if row.email in first_line_of:
                row.errors.append(_same_email(first_line_of[row.email]))
            else:
                first_line_of[row.email] = number
        rows.append(row)
    return rows


def _same_email(line: int) -> Message:
    return _("the same email as line %(line)s", line=str(line))


def _listed(parts: list[str], separator: str) -> str:
    """`separator.join(parts)`, keeping the parts that are messages translatable."""
    joined = parts[0]
    for part in parts[1:]:
        if separator == "; ":
            # TRANSLATORS: two problems with a file's header, one after the other.
            joined = _("%(earlier)s; %(next)s", earlier=joined, next=part)
        else:
            # TRANSLATORS: two column names of a file's header, one after the other.
            joined = _("%(earlier)s, %(next)s", earlier=joined, next=part)
    return joined


def _columns(header: list[str]) -> list[str]:
    columns = []
    for cell in header:
        name = " ".join(cell.strip().lower().replace("_", " ").split())
        columns.append(ALIASES.get(name, name.replace(" ", "_")))
    unknown = [c for c in columns if c not in COLUMNS]
    missing = [c for c in COLUMNS if c not in columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if unknown or missing or repeated:
        found = _listed([cell.strip() or _("(blank)") for cell in header], ", ")
        problems = []
        if missing:
            problems.append(_("missing %(columns)s", columns=", ".join(missing)))
        if unknown:
            problems.append(_("unexpected %(columns)s", columns=", ".join(unknown)))
        if repeated:
            problems.append(_("repeated %(columns)s", columns=", ".join(repeated)))
        raise CsvProblem(
            _(
                "The first line must name the columns %(columns)s. "
                "This file has: %(found)s (%(problems)s).",
                columns=", ".join(COLUMNS),
                found=found,
                problems=_listed(problems, "; "),
            )
        )
    return columns


def _checked_row(number: int, values: dict[str, str], checked_email: str | None = None) -> CsvRow:
    row = CsvRow(number, **values)
    if not values["name"]:
        row.errors.append(_("A name is needed."))
    elif len(values["name"]) > 200:
        row.errors.append(_("A name is too long (200 characters at most)."))
    if not values["artist_name"]:
        row.errors.append(_("An artist or project name is needed."))
    elif len(values["artist_name"]) > 200:
        row.errors.append(_("An artist or project name is too long (200 characters at most)."))
    if not values["email"]:
        row.errors.append(_("An email is needed."))
    elif values["email"] == checked_email:
        row.email = row.checked_email = checked_email
    else:
        try:
            row.email = row.checked_email = normalise_email(values["email"])
        except InvalidInput as error:
            row.errors.append(error.text)
    try:
        row.country = normalise_country(values["country"])
    except InvalidInput as error:
        row.errors.append(error.text)
    return row


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_places(session: Session, cohort: Cohort, rows: list[CsvRow]) -> list[CsvRow]:
    """Add to each good row the reason its person cannot take a place in `cohort`, if any."""
    good = {row.email: row for row in rows if not row.errors}
    for emails in _chunks(list(good)):
        held = session.execute(
            select(User.email, Enrolment, Cohort)
            .join(Enrolment, Enrolment.user_id == User.id)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(one_of(session, User.email, emails))
        ).all()
        for email, enrolment, held_cohort in held:
            problem = conflict_between(enrolment, held_cohort, cohort)
            if problem and not good[email].errors:
                good[email].errors.append(problem)
    return rows


def import_rows(
    session: Session,
    actor: User,
    cohort: Cohort,
    rows: list[CsvRow],
    *,
    import_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    locale: str = "en",
) -> int:
    """Invite everyone in `rows` to `cohort`, all or none. Rows are checked again here,
    since places may have been taken since the preview. Returns how many were invited."""
    if cohort.status == CohortStatus.CLOSED:
        raise CohortNotOpen(_("This cohort is closed; it takes no new enrolments."))
    for row in rows:
        row.errors.clear()
    rows = check_places(session, cohort, _recheck(rows))
    if any(row.errors for row in rows):
        raise RowsInvalid(rows)

    now = clock.now()
    for chunk in _chunks(rows):
        people = _people(session, chunk)
        invited = _invite_chunk(session, actor, cohort, chunk, people, now)
        outbox.enqueue_many(
            session,
            [
                {
                    "to": row.email,
                    "template": "invitation",
                    "params": {"enrolment_id": enrolment_id, "nonce": nonce},
                    "locale": people[row.email].language or locale,
                }
                for row, (enrolment_id, nonce) in zip(chunk, invited, strict=True)
            ],
        )
        if progress:
            progress(len(chunk))
    audit.record(session, actor, "enrolment.import", cohort, rows=len(rows), import_id=import_id)
    return len(rows)


@dataclass(frozen=True)
class _Person:
    """What an invitation needs of a user: their id and the language to write to them in."""

    id: int
    language: str | None


def _people(session: Session, chunk: list[CsvRow]) -> dict[str, _Person]:
    """Everyone in `chunk` by email: existing users as they are, the others created now (no
    password and no role yet: the account cannot be used until the invitation is)."""
    emails = [row.email for row in chunk]
    found = session.execute(
        select(User.email, User.id, User.locale, User.browser_locale).where(
            one_of(session, User.email, emails)
        )
    )
    people = {email: _Person(id, locale or browser) for email, id, locale, browser in found}
    fresh = [{"email": row.email, "name": row.name} for row in chunk if row.email not in people]
    if fresh:
        # One INSERT for the lot rather than an ORM object (and a flush) per person.
        created = insert_returning(session, USERS, fresh, USERS.c.email, USERS.c.id)
        people.update({email: _Person(id, None) for email, id in created})
    return people


def _invite_chunk(
    session: Session,
    actor: User,
    cohort: Cohort,
    chunk: list[CsvRow],
    people: dict[str, _Person],
    now: datetime,
) -> list[tuple[int, str]]:
    """Invite each row's person to `cohort`; the (enrolment id, nonce) of each, in row order.
    A place held before and given up (revoked, closed) is reused, as `invite` does."""
    earlier = {
        enrolment.user_id: enrolment
        for enrolment in session.scalars(
            select(Enrolment).where(
                Enrolment.cohort_id == cohort.id,
                one_of(session, Enrolment.user_id, [people[row.email].id for row in chunk]),
            )
        )
    }
    invitations = {}  # user id -> the invitation's columns
    for row in chunk:
        # A new nonce makes every earlier link for the enrolment stop working.
        invitations[people[row.email].id] = {
            "artist_name": row.artist_name,
            "country": row.country,
            "status": EnrolmentStatus.INVITED,
            "invited_at": now,
            "invited_by_id": actor.id,
            "closed_at": None,
            "invite_nonce": secrets.token_hex(16),
        }
    for user_id, enrolment in earlier.items():
        for column, value in invitations[user_id].items():
            setattr(enrolment, column, value)
        enrolment.invitations_sent = (enrolment.invitations_sent or 0) + 1
    if earlier:
        session.flush()
    ids = {user_id: enrolment.id for user_id, enrolment in earlier.items()}
    new = [
        {"cohort_id": cohort.id, "user_id": user_id, "invitations_sent": 1, **columns}
        for user_id, columns in invitations.items()
        if user_id not in earlier
    ]
    if new:
        created = insert_returning(session, ENROLMENTS, new, ENROLMENTS.c.user_id, ENROLMENTS.c.id)
        ids.update({user_id: enrolment_id for user_id, enrolment_id in created})
    return [
        (ids[people[row.email].id], invitations[people[row.email].id]["invite_nonce"])
        for row in chunk
    ]


def _recheck(rows: list[CsvRow]) -> list[CsvRow]:
    """Rows (perhaps stored since the preview) checked again as if read from the file."""
    checked = [
        _checked_row(row.line, {c: getattr(row, c) for c in COLUMNS}, row.checked_email)
        for row in rows
    ]
    first_line_of: dict[str, int] = {}
    for row in checked:
        if not row.errors and row.email in first_line_of:
            row.errors.append(_same_email(first_line_of[row.email]))
        first_line_of.setdefault(row.email, row.line)
    return checked


def rows_from_dicts(stored: list[dict]) -> list[CsvRow]:
    return [CsvRow(**{**item, "errors": []}) for item in stored]
