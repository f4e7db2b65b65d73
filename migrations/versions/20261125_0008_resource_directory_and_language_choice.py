"""The resource directory (entries and emergency numbers), and a language a person chose.

users.locale becomes nullable: NULL means "not chosen", so the browser's language is
used. Until this revision nobody could choose (there was no switch), so every stored
value is the old column default and is cleared.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.Column("free", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "country = upper(country)", name=op.f("ck_resources_country_upper_case")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_resources_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resources")),
    )
    op.create_index(op.f("ix_resources_country"), "resources", ["country"])
    op.create_table(
        "emergency_numbers",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "country = upper(country)", name=op.f("ck_emergency_numbers_country_upper_case")
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_emergency_numbers")),
    )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("locale", existing_type=sa.String(length=16), nullable=True)
    op.execute("UPDATE users SET locale = NULL")


def downgrade() -> None:
    op.execute("UPDATE users SET locale = 'en' WHERE locale IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("locale", existing_type=sa.String(length=16), nullable=False)
    op.drop_table("emergency_numbers")
    op.drop_index(op.f("ix_resources_country"), table_name="resources")
    op.drop_table("resources")
