"""Channels: clients and keys, idempotent intakes, calls, citizens' SMS codes, rate-limit hits; the
outbox's per-key order (notification_messages.sequence_key) for webhooks.

Revision ID: 0015_channels
Revises: 0004_escalation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_channels"
down_revision = "0004_escalation"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_channel_clients_user_id_users")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_channel_clients_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_clients")),
        sa.UniqueConstraint("code", name=op.f("uq_channel_clients_code")),
        sa.UniqueConstraint("user_id", name=op.f("uq_channel_clients_user_id")),
    )
    op.create_table(
        "channel_client_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["channel_clients.id"], name=op.f("fk_channel_client_keys_client_id_channel_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_client_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_channel_client_keys_prefix")),
    )
    op.create_index(op.f("ix_channel_client_keys_client_id"), "channel_client_keys", ["client_id"])
    op.create_table(
        "channel_intakes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("client_ref", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["channel_clients.id"], name=op.f("fk_channel_intakes_client_id_channel_clients")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_channel_intakes_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_intakes")),
        sa.UniqueConstraint("client_id", "client_ref", name="uq_channel_intakes_client_ref"),
        sa.UniqueConstraint("token", name=op.f("uq_channel_intakes_token")),
    )
    op.create_index(op.f("ix_channel_intakes_ticket_id"), "channel_intakes", ["ticket_id"])
    op.create_table(
        "channel_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["channel_clients.id"], name=op.f("fk_channel_calls_client_id_channel_clients")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["channel_client_keys.id"], name=op.f("fk_channel_calls_key_id_channel_client_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_calls")),
    )
    op.create_index("ix_channel_calls_client_at", "channel_calls", ["client_id", "at"])
    op.create_table(
        "channel_sms_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_sms_codes")),
    )
    op.create_index("ix_channel_sms_codes_phone_created", "channel_sms_codes", ["phone", "created_at"])
    op.create_table(
        "channel_rate_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_rate_hits")),
    )
    op.create_index("ix_channel_rate_hits_key_at", "channel_rate_hits", ["key", "at"])
    op.create_index(op.f("ix_channel_rate_hits_at"), "channel_rate_hits", ["at"])
    with op.batch_alter_table("notification_messages") as batch:
        batch.add_column(sa.Column("sequence_key", sa.String(length=100), nullable=True))
    op.create_index(op.f("ix_notification_messages_sequence_key"), "notification_messages", ["sequence_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_messages_sequence_key"), table_name="notification_messages")
    with op.batch_alter_table("notification_messages") as batch:
        batch.drop_column("sequence_key")
    for table in ("channel_rate_hits", "channel_sms_codes", "channel_calls", "channel_intakes"):
        op.drop_table(table)
    op.drop_table("channel_client_keys")
    op.drop_table("channel_clients")
