import click

from grants.cli.group import Group
from grants.core.db import commit_with_retry
from grants.core.errors import DomainError
from grants.core.models.people import ROLES
from grants.core.people import create_user
from grants.database import db

group = Group("users", help="People and their roles.")


@group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(ROLES),
    required=True,
    help="Repeat for several roles.",
)
@click.password_option(help="Asked for when not given.")
def create(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user who can log in with PASSWORD."""
    try:
        user = commit_with_retry(
            db,
            lambda: create_user(db, None, email=email, name=name, roles=roles, password=password),
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created user {user.id} with roles {', '.join(sorted(roles))}")
