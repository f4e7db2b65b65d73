"""Indexes the benchmarks at scale called for (docs/benchmarks.md): the staff queue reads
open requests oldest first without walking every decided grant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_grants_status_created_at", "grants", ["status", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_grants_status_created_at", table_name="grants")
