"""Baseline: every table and index of the four declarative bases, as the models define them.

Knowledge base (``knowledge_base.models``), work orders (``copilot.tickets.models``), the chat log
(``copilot.chat.log``) and accounts (``copilot.accounts.models``). Homes created before Alembic
hold exactly these tables and are stamped at this revision instead of running it.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ANSWER_STATUS = sa.Enum("draft", "in_review", "published", "retired", name="answerstatus",
                        native_enum=False, length=16)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _col(name: str, type_: sa.types.TypeEngine, nullable: bool = False) -> sa.Column:
    return sa.Column(name, type_, nullable=nullable)


def upgrade() -> None:
    # ---------------------------------------------------------------- knowledge base
    op.create_table(
        "categories",
        _id(),
        _str("code", 32),
        _str("name", 100),
        _col("level", sa.Integer()),
        _col("parent_id", sa.Integer(), nullable=True),
        _col("description", sa.Text()),
        sa.ForeignKeyConstraint(["parent_id"], ["categories.id"]),
        sa.UniqueConstraint("parent_id", "name", name="uq_category_parent_name"),
    )
    op.create_index("ix_categories_code", "categories", ["code"], unique=True)
    op.create_index("ix_categories_parent_id", "categories", ["parent_id"])

    op.create_table(
        "kb_changes",
        _id(),
        _col("at", sa.DateTime()),
        _str("actor", 64),
        _str("entity", 32),
        _str("entity_id", 64),
        _str("action", 32),
        _col("detail", sa.JSON()),
    )
    op.create_index("ix_kb_changes_at", "kb_changes", ["at"])

    op.create_table("kb_revision", _id(), _col("revision", sa.Integer()))

    op.create_table(
        "units",
        _id(),
        _str("name", 100),
        _str("kind", 32),
        _str("district", 32),
        _col("duty", sa.Text()),
        _str("phone", 64),
        _str("address", 200),
    )
    op.create_index("ix_units_name", "units", ["name"], unique=True)

    op.create_table(
        "answer_templates",
        _id(),
        _str("external_id", 64, nullable=True),
        _str("title", 200),
        _col("questions", sa.JSON()),
        _col("answer", sa.Text()),
        _col("category_id", sa.Integer(), nullable=True),
        _col("unit_id", sa.Integer(), nullable=True),
        _str("source", 300),
        _str("request_type", 16),
        _col("status", ANSWER_STATUS),
        _col("effective_from", sa.Date(), nullable=True),
        _col("expires_on", sa.Date(), nullable=True),
        _col("version", sa.Integer()),
        _str("created_by", 64),
        _col("created_at", sa.DateTime()),
        _str("updated_by", 64),
        _col("updated_at", sa.DateTime()),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
    )
    op.create_index("ix_answer_templates_category_id", "answer_templates", ["category_id"])
    op.create_index("ix_answer_templates_external_id", "answer_templates", ["external_id"],
                    unique=True)
    op.create_index("ix_answer_templates_status", "answer_templates", ["status"])
    op.create_index("ix_answer_templates_unit_id", "answer_templates", ["unit_id"])

    op.create_table(
        "answer_versions",
        _id(),
        _col("template_id", sa.Integer()),
        _col("version", sa.Integer()),
        _col("snapshot", sa.JSON()),
        _str("changed_by", 64),
        _col("changed_at", sa.DateTime()),
        _str("note", 300),
        sa.ForeignKeyConstraint(["template_id"], ["answer_templates.id"]),
        sa.UniqueConstraint("template_id", "version", name="uq_answer_version"),
    )
    op.create_index("ix_answer_versions_template_id", "answer_versions", ["template_id"])

    # ---------------------------------------------------------------- work orders
    op.create_table(
        "tickets",
        _id(),
        _str("number", 32, nullable=True),
        _str("call_id", 128, nullable=True),
        _str("status", 8),
        _str("request_type", 8),
        _str("category_code", 32, nullable=True),
        _col("category_path", sa.JSON()),
        _str("caller_name", 64, nullable=True),
        _str("phone", 32, nullable=True),
        _str("id_number", 18, nullable=True),
        _str("province", 32, nullable=True),
        _str("city", 32, nullable=True),
        _str("district", 32, nullable=True),
        _str("street_address", 200, nullable=True),
        _str("merchant", 100, nullable=True),
        _str("incident_time", 64, nullable=True),
        _str("amount", 32, nullable=True),
        _str("plate", 16, nullable=True),
        _col("content", sa.Text()),
        _str("unit", 100, nullable=True),
        _col("accepted_at", sa.DateTime()),
        _col("due_date", sa.Date()),
        _col("closed_at", sa.DateTime(), nullable=True),
        _str("created_by", 64),
        _col("updated_at", sa.DateTime()),
        _col("duplicate_of", sa.Integer(), nullable=True),
        _col("fields_source", sa.JSON()),
        _str("address_key", 200, nullable=True),
        _str("merchant_key", 100, nullable=True),
        _col("version", sa.Integer()),
        sa.ForeignKeyConstraint(["duplicate_of"], ["tickets.id"]),
        sa.UniqueConstraint("number"),
    )
    for column in ("address_key", "call_id", "category_code", "duplicate_of", "merchant_key",
                   "phone", "unit"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])
    op.create_index("ix_tickets_district_accepted", "tickets", ["district", "accepted_at"])
    op.create_index("ix_tickets_status_accepted", "tickets", ["status", "accepted_at"])

    op.create_table(
        "ticket_events",
        _id(),
        _col("ticket_id", sa.Integer()),
        _col("at", sa.DateTime()),
        _str("actor", 64),
        _str("action", 32),
        _str("from_status", 8, nullable=True),
        _str("to_status", 8, nullable=True),
        _col("detail", sa.JSON()),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    # ---------------------------------------------------------------- chat log
    op.create_table(
        "chat_log",
        _id(),
        _str("conversation_id", 64),
        _col("at", sa.DateTime()),
        _str("stage", 16),
        _col("question", sa.Text()),
        _str("decision", 16),
        _str("answer_id", 64, nullable=True),
        _col("template_id", sa.Integer(), nullable=True),
        _col("answer_version", sa.Integer(), nullable=True),
        _str("top_id", 64, nullable=True),
        _col("top_score", sa.Float(), nullable=True),
        _str("options", 400, nullable=True),
        _str("ticket_number", 32, nullable=True),
        _col("latency_ms", sa.Float(), nullable=True),
    )
    op.create_index("ix_chat_log_conversation_id", "chat_log", ["conversation_id"])
    op.create_index("ix_chat_log_decision_at", "chat_log", ["decision", "at"])

    # ---------------------------------------------------------------- accounts
    op.create_table(
        "audit_log",
        _id(),
        _col("at", sa.DateTime()),
        _str("actor", 64),
        _str("action", 64),
        _str("target", 300),
        _str("outcome", 16),
        _col("detail", sa.Text()),
        _str("client", 64),
    )
    op.create_index("ix_audit_action_at", "audit_log", ["action", "at"])
    op.create_index("ix_audit_actor_at", "audit_log", ["actor", "at"])

    op.create_table(
        "users",
        _id(),
        _str("username", 64),
        _str("display_name", 64),
        _str("password_hash", 200),
        _str("roles", 200),
        _col("active", sa.Boolean()),
        _col("must_change_password", sa.Boolean()),
        _col("failed_logins", sa.Integer()),
        _col("locked_until", sa.DateTime(), nullable=True),
        _col("created_at", sa.DateTime()),
        _col("password_changed_at", sa.DateTime()),
        _col("last_login_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("username"),
    )

    op.create_table(
        "login_sessions",
        _id(),
        _str("token_hash", 64),
        _col("user_id", sa.Integer()),
        _col("created_at", sa.DateTime()),
        _col("last_seen_at", sa.DateTime()),
        _col("expires_at", sa.DateTime()),
        _str("client", 200),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    for table in ("login_sessions", "users", "audit_log", "chat_log", "ticket_events", "tickets",
                  "answer_versions", "answer_templates", "units", "kb_revision", "kb_changes",
                  "categories"):
        op.drop_table(table)
