"""dashboards: covering indexes for a period's tickets, calls and 漏接回拨 tasks

A month's intake counters, mixes and trend read the period's tickets by ``created_at``; the call
KPIs read the period's calls by ``started_at`` and their 漏接回拨 tasks by ``called_at``. At
1,000,000 tickets and 3,000,000 calls the first was a sequential scan of the whole table and the
second fetched every call row from the heap (benchmarks/bench_dashboards.py); with the columns they
count in the index, each is an index-only scan of the period. The wallboard's open 督办 by level
reads the few tickets under 督办 through a partial index (it scanned every open ticket). SQLite:
the same indexes, without the included columns.

Revision ID: 0014_dashboards_indexes
Revises: 0014_dashboards
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_dashboards_indexes"
down_revision = "0014_dashboards"
branch_labels = None
depends_on = "0002_telephony"  # the calls table

TICKET_COLUMNS = ["primary_department_id", "resolution", "category", "appeal_type", "channel", "urgency"]
CALL_COLUMNS = ["ended_at", "answered", "abandoned", "wait_seconds", "talk_seconds", "linkedid"]


def upgrade() -> None:
    op.create_index("ix_tickets_created_covering", "tickets", ["created_at"], postgresql_include=TICKET_COLUMNS)
    op.create_index(
        "ix_telephony_calls_started_covering", "telephony_calls", ["started_at"], postgresql_include=CALL_COLUMNS
    )
    op.create_index(
        "ix_tickets_escalated",
        "tickets",
        ["escalation_level"],
        postgresql_where=sa.text("escalation_level > 0"),
        sqlite_where=sa.text("escalation_level > 0"),
    )
    op.create_index(
        "ix_telephony_callback_tasks_called_covering",
        "telephony_callback_tasks",
        ["called_at"],
        postgresql_include=["status"],
    )


def downgrade() -> None:
    op.drop_index("ix_telephony_callback_tasks_called_covering", table_name="telephony_callback_tasks")
    op.drop_index("ix_tickets_escalated", table_name="tickets")
    op.drop_index("ix_telephony_calls_started_covering", table_name="telephony_calls")
    op.drop_index("ix_tickets_created_covering", table_name="tickets")
