import sys

import click
from sqlalchemy import func, select

from grants.cli.group import Group
from grants.core.models.payouts import PayoutBatch, PayoutItem, PayoutLine
from grants.core.payout_reports import write_detail_csv, write_xlsx
from grants.database import db

group = Group("payouts", help="Payout batches.")


@group.command("export")
@click.option("--batch", "batch_id", type=int, required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
def export(batch_id: int, fmt: str, output: str) -> None:
    """Write a batch's detail (CSV) or its summary and detail sheets (XLSX) to OUTPUT.
    Rows stream from the database, so memory stays flat however large the batch."""
    batch = db.get(PayoutBatch, batch_id)
    if batch is None:
        raise click.ClickException(f"there is no batch {batch_id}")
    items = _count(batch)
    with click.progressbar(
        length=items, label=f"Batch {batch.id}", show_pos=True, file=sys.stderr
    ) as bar:
        if fmt == "csv":
            with open(output, "wb") as out:
                write_detail_csv(out, db, batch, progress=bar.update)
        else:
            write_xlsx(output, db, batch, progress=bar.update)
    click.echo(f"batch {batch.id}: {items} rows written to {output}")


def _count(batch: PayoutBatch) -> int:
    return db.scalar(
        select(func.count())
        .select_from(PayoutItem)
        .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
        .where(PayoutLine.batch_id == batch.id)
    )
