import click
from flask import current_app
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core import demo
from grants.core.db import commit_with_retry
from grants.core.models.people import User
from grants.database import db

group = Group("demo", help="Demo data for trying the app out.")


@group.command("seed")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users at all.")
def seed(if_empty: bool) -> None:
    """Create one user per role and some ledger activity. Safe to run again."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("demo data is never loaded under the production configuration")
    if if_empty and db.scalar(select(func.count()).select_from(User)):
        click.echo("the database already has users; demo data not loaded")
    else:
        result = commit_with_retry(db, lambda: demo.seed(db))
        click.echo(
            f"demo data ready ({len(result.created)} users created, "
            f"{len(result.existing)} already there)"
        )
    demo_emails = [email for email, _name, _roles in demo.DEMO_USERS]
    if db.scalar(select(func.count()).select_from(User).where(User.email.in_(demo_emails))):
        click.echo(f"demo logins (password: {demo.DEMO_PASSWORD}):")
        for email, _name, roles in demo.DEMO_USERS:
            click.echo(f"  {email:24} {', '.join(roles)}")
        click.echo(
            f"staff, finance and admin also need a code: add the key {demo.DEMO_TOTP_SECRET} "
            "to an authenticator app, or run `flask --app wsgi demo code`"
        )


@group.command("code")
def code() -> None:
    """Print the current two-step sign-in code of the demo's staff, finance and admin."""
    import pyotp

    from grants.core.clock import clock

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("demo data is never used under the production configuration")
    click.echo(pyotp.TOTP(demo.DEMO_TOTP_SECRET).at(clock.now()))
