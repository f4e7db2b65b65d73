"""Grants (funding requests and their decisions), and each cohort's approval threshold and
up-front allowance setting.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("sessions_asked", sa.Integer(), nullable=False),
        sa.Column("sessions_proposed", sa.Integer(), nullable=True),
        sa.Column("sessions_approved", sa.Integer(), nullable=True),
        sa.Column("first_approver_id", sa.Integer(), nullable=True),
        sa.Column("first_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_message", sa.String(length=1000), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'approved') = (transfer_id IS NOT NULL AND sessions_approved IS NOT NULL)",
            name=op.f("ck_grants_approved_has_transfer"),
        ),
        sa.CheckConstraint("kind IN ('request', 'upfront')", name=op.f("ck_grants_known_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'second', 'approved', 'declined', 'withdrawn')",
            name=op.f("ck_grants_known_status"),
        ),
        sa.CheckConstraint(
            "sessions_approved IS NULL OR (sessions_approved > 0 AND sessions_approved <= sessions_asked)",
            name=op.f("ck_grants_approved_within_asked"),
        ),
        sa.CheckConstraint("sessions_asked > 0", name=op.f("ck_grants_asked_positive")),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_grants_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_grants_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_grants_enrolment_id_enrolments")
        ),
        sa.ForeignKeyConstraint(
            ["first_approver_id"], ["users.id"], name=op.f("fk_grants_first_approver_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_grants_transfer_id_transfers")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_grants_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_grants_transfer_id")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_enrolment_id"), ["enrolment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_grants_one_open_per_enrolment",
            ["enrolment_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'second')"),
            postgresql_where=sa.text("status IN ('pending', 'second')"),
        )

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("approval_threshold", sa.Integer(), server_default="6", nullable=False)
        )
        batch_op.add_column(
            sa.Column("upfront_allowance", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_check_constraint("threshold_not_negative", "approval_threshold >= 0")


def downgrade() -> None:
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_cohorts_threshold_not_negative"), type_="check")
        batch_op.drop_column("upfront_allowance")
        batch_op.drop_column("approval_threshold")

    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_grants_one_open_per_enrolment",
            sqlite_where=sa.text("status IN ('pending', 'second')"),
            postgresql_where=sa.text("status IN ('pending', 'second')"),
        )
        batch_op.drop_index(batch_op.f("ix_grants_user_id"))
        batch_op.drop_index(batch_op.f("ix_grants_enrolment_id"))
        batch_op.drop_index(batch_op.f("ix_grants_created_at"))
        batch_op.drop_index(batch_op.f("ix_grants_cohort_id"))

    op.drop_table("grants")
