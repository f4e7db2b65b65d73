import click

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.erasure import BookingsToConfirm, erase_person
from grants.core.errors import DomainError
from grants.core.people import find_user_by_email
from grants.database import db

group = Group("people", help="People's personal data.")


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
    the ledger stay. Gifts and requests still waiting are settled first. Cannot be undone."""
    user = find_user_by_email(db, email)
    if user is None:
        raise click.ClickException("no account uses that address")
    user_id = user.id
    db.rollback()  # the look-up holds nothing while the operator reads the question
    if not yes:
        click.confirm(f"Erase user {user_id}? This cannot be undone.", abort=True)
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
