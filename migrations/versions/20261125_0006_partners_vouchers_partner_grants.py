"""Partners and their regions, partner users, vouchers for booked sessions, partner
grants, partner-owned ledger accounts, and each cohort's policy for missed sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("payout_reference", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('therapy', 'nonprofit')", name=op.f("ck_partners_known_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "partner_regions",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_partner_regions_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "region", name=op.f("pk_partner_regions")),
    )
    op.create_table(
        "partner_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_message", sa.String(length=1000), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'approved') = (transfer_id IS NOT NULL)",
            name=op.f("ck_partner_grants_approved_has_transfer"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined', 'withdrawn')",
            name=op.f("ck_partner_grants_known_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_partner_grants_amount_positive")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_partner_grants_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_grants_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_partner_grants_proposed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_partner_grants_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_grants")),
        sa.UniqueConstraint("request_id", name=op.f("uq_partner_grants_request_id")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_partner_grants_transfer_id")),
    )
    with op.batch_alter_table("partner_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_grants_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partner_grants_partner_id"), ["partner_id"], unique=False
        )

    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("hold_transfer_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("payment_transfer_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'confirmed', 'cancelled', 'missed', 'expired')",
            name=op.f("ck_vouchers_known_status"),
        ),
        sa.CheckConstraint(
            "amount IS NULL OR amount > 0", name=op.f("ck_vouchers_amount_positive")
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_vouchers_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"], ["users.id"], name=op.f("fk_vouchers_confirmed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["hold_transfer_id"],
            ["transfers.id"],
            name=op.f("fk_vouchers_hold_transfer_id_transfers"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["users.id"], name=op.f("fk_vouchers_holder_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_vouchers_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["payment_transfer_id"],
            ["transfers.id"],
            name=op.f("fk_vouchers_payment_transfer_id_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_vouchers_code")),
        sa.UniqueConstraint("hold_transfer_id", name=op.f("uq_vouchers_hold_transfer_id")),
        sa.UniqueConstraint("payment_transfer_id", name=op.f("uq_vouchers_payment_transfer_id")),
    )
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vouchers_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vouchers_partner_id"), ["partner_id"], unique=False)

    # SQLite rebuilds accounts to add the foreign key, and cannot carry an expression index
    # across; it is dropped first and made again, now with the partner as an owner too.
    op.drop_index("uq_accounts_ledger_code_owner", table_name="accounts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_accounts_partner_id"), ["partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_accounts_partner_id_partners"), "partners", ["partner_id"], ["id"]
        )
    op.create_index(
        "uq_accounts_ledger_code_owner",
        "accounts",
        ["ledger_id", "code", sa.text("coalesce(user_id, 0)"), sa.text("coalesce(partner_id, 0)")],
        unique=True,
    )

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "missed_session_policy", sa.String(length=6), server_default="pay", nullable=False
            )
        )
        batch_op.create_check_constraint(
            "known_missed_policy", "missed_session_policy IN ('pay', 'return')"
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_partner_id"), ["partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_partner_id_partners"), "partners", ["partner_id"], ["id"]
        )


def downgrade() -> None:
    # Before 0006 an account had one kind of owner; partners' accounts (money they are owed)
    # cannot be expressed there. Refuse rather than lose track of money.
    owed = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM accounts WHERE partner_id IS NOT NULL"))
        .scalar()
    )
    if owed:
        raise RuntimeError(
            f"cannot downgrade below 0006: {owed} partner accounts hold money on the ledger"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_partner_id_partners"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_partner_id"))
        batch_op.drop_column("partner_id")

    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_cohorts_known_missed_policy"), type_="check")
        batch_op.drop_column("missed_session_policy")

    op.drop_index("uq_accounts_ledger_code_owner", table_name="accounts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_accounts_partner_id_partners"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_accounts_partner_id"))
        batch_op.drop_column("partner_id")
    op.create_index(
        "uq_accounts_ledger_code_owner",
        "accounts",
        ["ledger_id", "code", sa.text("coalesce(user_id, 0)")],
        unique=True,
    )

    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vouchers_partner_id"))
        batch_op.drop_index(batch_op.f("ix_vouchers_holder_id"))
        batch_op.drop_index(batch_op.f("ix_vouchers_created_at"))
        batch_op.drop_index(batch_op.f("ix_vouchers_cohort_id"))

    op.drop_table("vouchers")
    with op.batch_alter_table("partner_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_grants_partner_id"))
        batch_op.drop_index(batch_op.f("ix_partner_grants_created_at"))

    op.drop_table("partner_grants")
    op.drop_table("partner_regions")
    op.drop_table("partners")
