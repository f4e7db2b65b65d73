"""Gifts between credit holders, each cohort's gift rules, and an index of timed holds by
the account they debit (the ledger lets lapsed ones expire before it checks a balance).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("giver_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=10), nullable=False),
        sa.Column("message", sa.String(length=280), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_text_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "relationship IN ('bandmate', 'crew', 'team', 'other')",
            name=op.f("ck_gifts_known_relationship"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')",
            name=op.f("ck_gifts_known_status"),
        ),
        sa.CheckConstraint("giver_id <> recipient_id", name=op.f("ck_gifts_not_to_oneself")),
        sa.CheckConstraint("sessions > 0", name=op.f("ck_gifts_sessions_positive")),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_gifts_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_texts.id"],
            name=op.f("fk_gifts_consent_text_id_consent_texts"),
        ),
        sa.ForeignKeyConstraint(["giver_id"], ["users.id"], name=op.f("fk_gifts_giver_id_users")),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_gifts_recipient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_gifts_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gifts")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_gifts_transfer_id")),
    )
    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gifts_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_giver_id"), ["giver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gifts_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(
            "uq_gifts_one_pending_per_pair",
            ["cohort_id", "giver_id", "recipient_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allow_regift", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("gift_limit_per_recipient", sa.Integer(), server_default="6", nullable=False)
        )
        batch_op.add_column(
            sa.Column("open_gift_limit", sa.Integer(), server_default="5", nullable=False)
        )
        batch_op.create_check_constraint("gift_limit_positive", "gift_limit_per_recipient > 0")
        batch_op.create_check_constraint("open_gift_limit_positive", "open_gift_limit > 0")

    # Not in batch mode: rebuilding transfers on SQLite would drop its append-only triggers.
    op.create_index(
        "ix_transfers_timed_holds",
        "transfers",
        ["debit_account_id", "expires_at"],
        unique=False,
        sqlite_where=sa.text("kind = 'pending' AND expires_at IS NOT NULL"),
        postgresql_where=sa.text("kind = 'pending' AND expires_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_transfers_timed_holds", table_name="transfers")

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_cohorts_open_gift_limit_positive"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_cohorts_gift_limit_positive"), type_="check")
        batch_op.drop_column("open_gift_limit")
        batch_op.drop_column("gift_limit_per_recipient")
        batch_op.drop_column("allow_regift")

    with op.batch_alter_table("gifts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_gifts_one_pending_per_pair",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_gifts_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_gifts_giver_id"))
        batch_op.drop_index(batch_op.f("ix_gifts_created_at"))
        batch_op.drop_index(batch_op.f("ix_gifts_cohort_id"))

    op.drop_table("gifts")
