"""Partial indexes for the sweeps: waiting gifts and booked sessions by id, so finding
those past their time reads the few still open rather than every gift and session ever made.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_gifts_waiting": ("gifts", "status = 'pending'"),
    "ix_vouchers_booked": ("vouchers", "status = 'booked'"),
}


def upgrade() -> None:
    for name, (table, where) in INDEXES.items():
        op.create_index(
            name,
            table,
            ["id"],
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, (table, _where) in INDEXES.items():
        op.drop_index(name, table_name=table)
