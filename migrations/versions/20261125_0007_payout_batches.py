"""Payout batches, their lines (one per partner) and the ledger credits each line pays.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payout_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'closed', 'discarded')",
            name=op.f("ck_payout_batches_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_payout_batches_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_payout_batches_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_batches")),
        sa.UniqueConstraint("request_id", name=op.f("uq_payout_batches_request_id")),
    )
    with op.batch_alter_table("payout_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_batches_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "payout_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("hold_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'pending', 'paid', 'failed')",
            name=op.f("ck_payout_lines_known_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payout_lines_amount_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["payout_batches.id"],
            name=op.f("fk_payout_lines_batch_id_payout_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_transfer_id"],
            ["transfers.id"],
            name=op.f("fk_payout_lines_hold_transfer_id_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_payout_lines_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_lines")),
        sa.UniqueConstraint("hold_transfer_id", name=op.f("uq_payout_lines_hold_transfer_id")),
    )
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_lines_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payout_lines_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "payout_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payout_items_amount_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["payout_lines.id"], name=op.f("fk_payout_items_line_id_payout_lines")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_payout_items_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_items")),
    )
    with op.batch_alter_table("payout_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_items_line_id"), ["line_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payout_items_transfer_id"), ["transfer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payout_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_items_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_payout_items_line_id"))

    op.drop_table("payout_items")
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_lines_partner_id"))
        batch_op.drop_index(batch_op.f("ix_payout_lines_batch_id"))

    op.drop_table("payout_lines")
    with op.batch_alter_table("payout_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_batches_created_at"))

    op.drop_table("payout_batches")
