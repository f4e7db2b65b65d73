"""Programmes with versioned consent texts, cohorts, enrolments, CSV imports, the email
outbox, and the audit log made append-only with the origin of each change.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

EQUAL, GLOW and RADAR are data, inserted here with the first version of their consent text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')",
            name=op.f("ck_outbox_messages_known_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_programmes_code_upper_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("code", name=op.f("uq_programmes_code")),
    )
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("intake_name", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("session_value", sa.BigInteger(), nullable=False),
        sa.Column("session_allowance", sa.Integer(), nullable=False),
        sa.Column("session_budget", sa.Integer(), nullable=False),
        sa.Column("gift_expiry_days", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("ledger_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('upcoming', 'current', 'closed')", name=op.f("ck_cohorts_known_status")
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_cohorts_dates_in_order")),
        sa.CheckConstraint("gift_expiry_days > 0", name=op.f("ck_cohorts_gift_expiry_positive")),
        sa.CheckConstraint("region = upper(region)", name=op.f("ck_cohorts_region_upper_case")),
        sa.CheckConstraint("session_allowance > 0", name=op.f("ck_cohorts_allowance_positive")),
        sa.CheckConstraint("session_budget >= 0", name=op.f("ck_cohorts_budget_not_negative")),
        sa.CheckConstraint("session_value > 0", name=op.f("ck_cohorts_session_value_positive")),
        sa.ForeignKeyConstraint(
            ["ledger_id"], ["ledgers.id"], name=op.f("fk_cohorts_ledger_id_ledgers")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_cohorts_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
        sa.UniqueConstraint("ledger_id", name=op.f("uq_cohorts_ledger_id")),
        sa.UniqueConstraint(
            "programme_id",
            "region",
            "intake_name",
            name=op.f("uq_cohorts_programme_id_region_intake_name"),
        ),
    )
    op.create_table(
        "consent_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("version > 0", name=op.f("ck_consent_texts_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_consent_texts_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_consent_texts_programme_id_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_texts")),
        sa.UniqueConstraint(
            "programme_id", "version", name=op.f("uq_consent_texts_programme_id_version")
        ),
    )
    op.create_table(
        "enrolment_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('preview', 'imported', 'discarded')",
            name=op.f("ck_enrolment_imports_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_enrolment_imports_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_enrolment_imports_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_imports")),
    )
    with op.batch_alter_table("enrolment_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_imports_cohort_id"), ["cohort_id"], unique=False
        )

    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("artist_name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("invite_nonce", sa.String(length=32), nullable=True),
        sa.Column("invitations_sent", sa.Integer(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_text_id", sa.Integer(), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'active' OR (consent_text_id IS NOT NULL AND consented_at IS NOT NULL)",
            name=op.f("ck_enrolments_active_has_consent"),
        ),
        sa.CheckConstraint(
            "status IN ('invited', 'active', 'closed', 'revoked')",
            name=op.f("ck_enrolments_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_enrolments_cohort_id_cohorts")
        ),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_texts.id"],
            name=op.f("fk_enrolments_consent_text_id_consent_texts"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"], name=op.f("fk_enrolments_invited_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_enrolments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("cohort_id", "user_id", name=op.f("uq_enrolments_cohort_id_user_id")),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolments_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrolments_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=45), nullable=True))

    _append_only("audit_entries", "the audit log is append-only")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's INSERT OR REPLACE would overwrite a row without any UPDATE or DELETE
        # trigger firing (unless a connection turned recursive triggers on): refuse it.
        for table in ("transfers", "audit_entries"):
            op.execute(f"""
                CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
                WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)
                BEGIN SELECT RAISE(ABORT, '{table} are append-only: an id is never reused'); END
            """)
    _insert_programmes()


PROGRAMMES = ("EQUAL", "GLOW", "RADAR")

CONSENT_V1 = """By joining {code}, you agree that:

- We keep your name, your artist or project name, your email address and your country, to run the programme and to contact you about it.
- We record how many funded sessions you are given, gift and book, and with which partner, so that partners can be paid. We never record why you use therapy, and nothing about what happens in a session.
- If you gift sessions, the person you gift them to sees your name. You see only whether they accepted, never whether or when they used them.
- Programme staff see totals across the programme; they see your own figures only where they need them to approve your funding.
- You can leave the programme, and ask us to erase your details, at any time."""


def _insert_programmes() -> None:
    programmes = sa.table(
        "programmes",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    consent = sa.table(
        "consent_texts",
        sa.column("programme_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    # Naive UTC on SQLite, as the application's UTCDateTime stores it.
    stamp = now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now
    op.bulk_insert(
        programmes,
        [
            {"id": n, "code": code, "name": code, "created_at": stamp}
            for n, code in enumerate(PROGRAMMES, start=1)
        ],
    )
    op.bulk_insert(
        consent,
        [
            {
                "programme_id": n,
                "version": 1,
                "body": CONSENT_V1.format(code=code),
                "created_at": stamp,
            }
            for n, code in enumerate(PROGRAMMES, start=1)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        # Rows inserted with explicit ids leave the sequence behind; catch it up.
        op.execute("SELECT setval('programmes_id_seq', (SELECT max(id) FROM programmes))")


def _append_only(table: str, message: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{message}' USING ERRCODE = 'restrict_violation';
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
        """)
        op.execute(f"""
            CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()
        """)
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
                BEGIN SELECT RAISE(ABORT, '{message}'); END
            """)


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION {table}_append_only()")
    else:
        op.execute(f"DROP TRIGGER {table}_no_update")
        op.execute(f"DROP TRIGGER {table}_no_delete")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER transfers_no_replace")
        op.execute("DROP TRIGGER audit_entries_no_replace")
    _drop_append_only("audit_entries")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("origin")

    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolments_user_id"))
        batch_op.drop_index(batch_op.f("ix_enrolments_cohort_id"))

    op.drop_table("enrolments")
    with op.batch_alter_table("enrolment_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_imports_cohort_id"))

    op.drop_table("enrolment_imports")
    op.drop_table("consent_texts")
    op.drop_table("cohorts")
    op.drop_table("programmes")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_due")

    op.drop_table("outbox_messages")
