"""Classification feedback: the center's labelled examples for retraining.

Revision ID: 0005_classification
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_classification"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classification_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=16), nullable=False),
        sa.Column("predicted", sa.String(length=100), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_classification_feedback_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_classification_feedback_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_feedback")),
    )
    op.create_index(op.f("ix_classification_feedback_ticket_id"), "classification_feedback", ["ticket_id"])
    op.create_index(op.f("ix_classification_feedback_created_at"), "classification_feedback", ["created_at"])


def downgrade() -> None:
    op.drop_table("classification_feedback")
