import click

from grants.cli.group import Group
from grants.core.ledger import verify_ledger
from grants.core.session_totals import drift
from grants.database import db

group = Group("ledger", help="The double-entry ledger.")


@group.command("verify")
def verify() -> None:
    """Check every ledger invariant; exit 1 naming the first one broken."""
    report = verify_ledger(db)
    click.echo(report.summary())
    if not report.ok:
        for violation in report.violations[1:]:
            click.echo(f"  also: {violation}", err=True)
        raise SystemExit(1)
    # The finance reports' running totals are kept beside the ledger, not in it: checked
    # here too, so one command says whether the books and the reports agree.
    wrong = drift(db)
    for month in wrong:
        click.echo(f"session totals differ: {month}", err=True)
    if wrong:
        raise SystemExit(1)
