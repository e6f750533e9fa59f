"""telephony tables: call records, agent states, call-back tasks (漏接回拨), survey calls

Revision ID: 0002_telephony
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_telephony"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telephony_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("caller_e164", sa.String(length=32), nullable=True),
        sa.Column("dialled_number", sa.String(length=32), nullable=True),
        sa.Column("caller_channel", sa.String(length=200), nullable=True),
        sa.Column("caller_uniqueid", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enter_queue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_interface", sa.String(length=200), nullable=True),
        sa.Column("agent_name", sa.String(length=100), nullable=True),
        sa.Column("agent_user_id", sa.Integer(), nullable=True),
        sa.Column("ring_attempts", sa.Integer(), nullable=False),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("hangup_cause_text", sa.String(length=100), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("abandoned", sa.Boolean(), nullable=False),
        sa.Column("transfer_target", sa.String(length=32), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred_by_id", sa.Integer(), nullable=True),
        sa.Column("recording_file", sa.String(length=255), nullable=True),
        sa.Column("reconciled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_user_id"], ["users.id"], name=op.f("fk_telephony_calls_agent_user_id_users")),
        sa.ForeignKeyConstraint(
            ["transferred_by_id"], ["users.id"], name=op.f("fk_telephony_calls_transferred_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_calls")),
        sa.UniqueConstraint("linkedid", name=op.f("uq_telephony_calls_linkedid")),
    )
    op.create_index(op.f("ix_telephony_calls_caller_e164"), "telephony_calls", ["caller_e164"])
    op.create_index(op.f("ix_telephony_calls_started_at"), "telephony_calls", ["started_at"])
    op.create_index(op.f("ix_telephony_calls_ended_at"), "telephony_calls", ["ended_at"])
    op.create_index(op.f("ix_telephony_calls_agent_interface"), "telephony_calls", ["agent_interface"])
    op.create_index(op.f("ix_telephony_calls_agent_user_id"), "telephony_calls", ["agent_user_id"])
    op.create_table(
        "telephony_agents",
        sa.Column("interface", sa.String(length=200), nullable=False),
        sa.Column("member_name", sa.String(length=100), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("pause_reason", sa.String(length=100), nullable=True),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("wrapup_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_telephony_agents_user_id_users")),
        sa.PrimaryKeyConstraint("interface", name=op.f("pk_telephony_agents")),
    )
    op.create_index(op.f("ix_telephony_agents_user_id"), "telephony_agents", ["user_id"])
    op.create_table(
        "telephony_callback_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=64), nullable=True),
        sa.Column("caller_e164", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_seconds", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["users.id"], name=op.f("fk_telephony_callback_tasks_handled_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_callback_tasks")),
        sa.UniqueConstraint("linkedid", name=op.f("uq_telephony_callback_tasks_linkedid")),
    )
    op.create_index(op.f("ix_telephony_callback_tasks_caller_e164"), "telephony_callback_tasks", ["caller_e164"])
    op.create_index(op.f("ix_telephony_callback_tasks_status"), "telephony_callback_tasks", ["status"])
    op.create_table(
        "telephony_survey_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("phone_e164", sa.String(length=32), nullable=False),
        sa.Column("dial_number", sa.String(length=32), nullable=False),
        sa.Column("action_id", sa.String(length=64), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("satisfaction", sa.String(length=32), nullable=True),
        sa.Column("satisfaction_digit", sa.String(length=4), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_digit", sa.String(length=4), nullable=True),
        sa.Column("originate_reason", sa.Integer(), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_survey_calls")),
        sa.UniqueConstraint("action_id", name=op.f("uq_telephony_survey_calls_action_id")),
    )
    op.create_index(op.f("ix_telephony_survey_calls_linkedid"), "telephony_survey_calls", ["linkedid"])
    op.create_index("ix_telephony_survey_calls_ticket_id", "telephony_survey_calls", ["ticket_id"])


def downgrade() -> None:
    for table in ("telephony_survey_calls", "telephony_callback_tasks", "telephony_agents", "telephony_calls"):
        op.drop_table(table)
