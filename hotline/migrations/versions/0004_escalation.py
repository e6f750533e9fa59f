"""escalation tables: next check per ticket, reminder/督办 records, notification outbox, SMS outbox, 回访

Revision ID: 0004_escalation
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_escalation"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalation_due",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("next_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalation_due_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_escalation_due")),
    )
    op.create_index(op.f("ix_escalation_due_next_at"), "escalation_due", ["next_at"])

    op.create_table(
        "escalation_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=48), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=48), nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("level_before", sa.Integer(), nullable=True),
        sa.Column("level_after", sa.Integer(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("timeline_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalation_records_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_escalation_records_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_escalation_records_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_records")),
        sa.UniqueConstraint("ticket_id", "level", "cause", "instance", name="uq_escalation_records_key"),
    )
    op.create_index(op.f("ix_escalation_records_ticket_id"), "escalation_records", ["ticket_id"])
    op.create_index("ix_escalation_records_level_created", "escalation_records", ["level", "created_at"])

    op.create_table(
        "notification_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("recipient_label", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["escalation_records.id"],
            name=op.f("fk_notification_messages_record_id_escalation_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_notification_messages_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name=op.f("fk_notification_messages_recipient_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_messages_dedupe_key")),
    )
    op.create_index(op.f("ix_notification_messages_record_id"), "notification_messages", ["record_id"])
    op.create_index(op.f("ix_notification_messages_ticket_id"), "notification_messages", ["ticket_id"])
    op.create_index("ix_notification_messages_status_next", "notification_messages", ["status", "next_attempt_at"])
    op.create_index(
        "ix_notification_messages_inbox", "notification_messages", ["recipient_user_id", "channel", "read_at"]
    )

    op.create_table(
        "notification_sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notification_messages.id"],
            name=op.f("fk_notification_sms_outbox_message_id_notification_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_sms_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notification_sms_outbox_message_id")),
    )

    op.create_table(
        "escalation_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=32), nullable=False),
        sa.Column("instance", sa.String(length=64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_at", TS, nullable=True),
        sa.Column("ivr_attempts", sa.Integer(), nullable=False),
        sa.Column("survey_call_id", sa.Integer(), nullable=True),
        sa.Column("survey_case_id", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", TS, nullable=True),
        sa.Column("token_used_at", TS, nullable=True),
        sa.Column("satisfaction", sa.String(length=24), nullable=True),
        sa.Column("service_satisfaction", sa.String(length=24), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalation_callbacks_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_escalation_callbacks_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"], ["users.id"], name=op.f("fk_escalation_callbacks_answered_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_callbacks")),
        sa.UniqueConstraint("ticket_id", "citizen_id", "instance", name="uq_escalation_callbacks_key"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_escalation_callbacks_token_hash")),
    )
    op.create_index(op.f("ix_escalation_callbacks_ticket_id"), "escalation_callbacks", ["ticket_id"])
    op.create_index("ix_escalation_callbacks_status_next", "escalation_callbacks", ["status", "next_at"])


def downgrade() -> None:
    op.drop_table("escalation_callbacks")
    op.drop_table("notification_sms_outbox")
    op.drop_table("notification_messages")
    op.drop_table("escalation_records")
    op.drop_table("escalation_due")
