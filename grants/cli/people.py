import click
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.erasure import BookingsToConfirm, erase_person
from grants.core.errors import DomainError
from grants.core.models.cohorts import Enrolment, EnrolmentStatus
from grants.core.models.funding import OPEN_STATES, Grant
from grants.core.models.gifts import Gift, GiftStatus
from grants.core.models.partners import Voucher, VoucherStatus
from grants.core.people import find_user_by_email
from grants.database import db

group = Group("people", help="People's personal data.")


def _count(model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _what_erasing_does(user_id: int, cancel_bookings: bool) -> str:
    """The question the operator answers: what goes, and what is settled first, in counts
    (never names: this may be read over a shoulder or pasted into a ticket)."""
    settled = [
        (
            _count(Gift, Gift.giver_id == user_id, Gift.status == GiftStatus.PENDING),
            "gifts they sent revoked",
        ),
        (
            _count(Gift, Gift.recipient_id == user_id, Gift.status == GiftStatus.PENDING),
            "gifts to them declined (the givers get the sessions back)",
        ),
        (
            _count(Grant, Grant.user_id == user_id, Grant.status.in_(OPEN_STATES)),
            "funding requests withdrawn",
        ),
        (
            _count(
                Enrolment,
                Enrolment.user_id == user_id,
                Enrolment.status.in_([EnrolmentStatus.INVITED, EnrolmentStatus.ACTIVE]),
            ),
            "places in cohorts ended",
        ),
    ]
    bookings = _count(Voucher, Voucher.holder_id == user_id, Voucher.status == VoucherStatus.BOOKED)
    if bookings and cancel_bookings:
        settled.append((bookings, "unconfirmed bookings cancelled (the partner is not paid)"))
    lines = [
        f"About to erase user {user_id}: name, email, artist names, gift messages, "
        "password, two-step secrets, login sessions and unsent email.",
    ]
    done = [f"{number} {what}" for number, what in settled if number]
    lines.append("Settled first: " + ("; ".join(done) if done else "nothing is waiting") + ".")
    if bookings and not cancel_bookings:
        lines.append(f"{bookings} unconfirmed bookings stop the erasure (--cancel-bookings).")
    lines.append("Ids, counts, dates and the ledger stay. This cannot be undone.")
    lines.append(f"Erase user {user_id}?")
    return "\n".join(lines)


@group.command("erase")
@click.option("--email", required=True, help="The address of the person to erase.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--cancel-bookings",
    is_flag=True,
    help="Cancel their bookings that no partner has confirmed yet (the partner is then "
    "not paid for them). Without it, such bookings stop the erasure.",
)
def erase(email: str, yes: bool, cancel_bookings: bool) -> None:
    """Erase a person's identity: name, email, messages, sign-in secrets. Ids, counts and
    the ledger stay. Gifts and requests still waiting are settled first. Cannot be undone:
    it asks first, showing what will go, unless --yes is given."""
    user = find_user_by_email(db, email)
    if user is None:
        raise click.ClickException("no account uses that address")
    user_id = user.id
    question = _what_erasing_does(user_id, cancel_bookings)
    db.rollback()  # the look-up holds nothing while the operator reads the question
    if not yes:
        click.confirm(question, abort=True)
    try:
        report = commit_with_retry(
            db, lambda: erase_person(db, None, user_id, cancel_bookings=cancel_bookings)
        )
    except DomainError as error:
        hint = " (--cancel-bookings cancels them)" if isinstance(error, BookingsToConfirm) else ""
        raise click.ClickException(str(error) + hint) from None
    click.echo(
        f"erased user {user_id}: {report.gifts_revoked} gifts revoked, "
        f"{report.gifts_declined} declined, {report.requests_withdrawn} requests withdrawn, "
        f"{report.bookings_cancelled} bookings cancelled, "
        f"{report.invitations_withdrawn + report.places_closed} places ended, "
        f"{report.emails_deleted} unsent emails deleted"
    )
    if report.gifts_declined:
        click.echo("the givers' emails wait in the outbox: `flask --app wsgi outbox send`")
