"""dashboards: the handling facts per (ticket, 主办 department), hot topics and their refreshes

Revision ID: 0014_dashboards
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_dashboards"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_cases",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("respond_due", TS, nullable=True),
        sa.Column("responded_on_time", sa.Boolean(), nullable=True),
        sa.Column("sign_due", TS, nullable=True),
        sa.Column("signs_on_time", sa.Integer(), nullable=False),
        sa.Column("signs_late", sa.Integer(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("reply_due", TS, nullable=True),
        sa.Column("reply_on_time", sa.Boolean(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("callback_due", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", sa.String(length=24), nullable=True),
        sa.Column("service_satisfaction", sa.String(length=24), nullable=True),
        sa.Column("callback_resolved", sa.Boolean(), nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_dashboard_cases_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_dashboard_cases_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "department_id", name=op.f("pk_dashboard_cases")),
    )
    op.create_index("ix_dashboard_cases_registered_dept", "dashboard_cases", ["registered_at", "department_id"])

    op.create_table(
        "dashboard_hot_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("heat", sa.Float(), nullable=False),
        sa.Column("heat_parts", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("citizens", sa.Integer(), nullable=False),
        sa.Column("this_week", sa.Integer(), nullable=False),
        sa.Column("last_week", sa.Integer(), nullable=False),
        sa.Column("rising", sa.Boolean(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("ticket_ids", sa.JSON(), nullable=False),
        sa.Column("department_ids", sa.JSON(), nullable=False),
        sa.Column("refreshed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_hot_topics")),
    )
    op.create_index("ix_dashboard_hot_topics_rank", "dashboard_hot_topics", ["rank"])

    op.create_table(
        "dashboard_hot_topic_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("appeals", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_hot_topic_runs")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_hot_topic_runs")
    op.drop_table("dashboard_hot_topics")
    op.drop_table("dashboard_cases")
