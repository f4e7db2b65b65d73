"""Running totals of paid sessions per cohort, currency and month, for the finance home
(filled here from the vouchers so far), and a partial index of open funding requests by
date for the staff queue, in place of the (status, created_at) one that could not give two
statuses in date order.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "status IN ('pending', 'second')"

# The first day of a session's month, in each database's words.
MONTH = {
    "postgresql": "CAST(date_trunc('month', session_date) AS DATE)",
    "sqlite": "date(session_date, 'start of month')",
}


def upgrade() -> None:
    op.create_table(
        "session_totals",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_session_totals_amount_not_negative")),
        sa.CheckConstraint("sessions >= 0", name=op.f("ck_session_totals_sessions_not_negative")),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_session_totals_cohort_id_cohorts")
        ),
        sa.PrimaryKeyConstraint("cohort_id", "currency", "month", name=op.f("pk_session_totals")),
    )
    # The sessions paid for so far: confirmed, or missed under a policy that pays.
    month = MONTH[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO session_totals (cohort_id, currency, month, sessions, amount)"
        f" SELECT cohort_id, currency, {month}, count(*), sum(amount) FROM vouchers"
        " WHERE status IN ('confirmed', 'missed') AND amount IS NOT NULL"
        f" GROUP BY cohort_id, currency, {month}"
    )
    # Index changes alone need no table rebuild on SQLite: plain CREATE and DROP INDEX.
    op.drop_index("ix_grants_status_created_at", table_name="grants")
    op.create_index(
        "ix_grants_open_created_at",
        "grants",
        ["created_at", "id"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_grants_open_created_at", table_name="grants")
    op.create_index(
        "ix_grants_status_created_at", "grants", ["status", "created_at", "id"], unique=False
    )
    op.drop_table("session_totals")
