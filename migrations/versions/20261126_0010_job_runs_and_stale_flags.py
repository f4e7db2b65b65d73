"""Scheduled jobs' shared state (a lease and a schedule per job), and the date the
resource check flagged a directory entry or emergency number as due a check.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=10), nullable=True),
        sa.Column("last_result", sa.String(length=200), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("flagged_stale_on", sa.Date(), nullable=True))
    with op.batch_alter_table("emergency_numbers") as batch:
        batch.add_column(sa.Column("flagged_stale_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emergency_numbers") as batch:
        batch.drop_column("flagged_stale_on")
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("flagged_stale_on")
    op.drop_table("job_runs")
