"""Indexes for the reads a city makes at a million tickets: the newest open tickets of a category
(并单 candidates).

Revision ID: 0012_ticket_indexes
Revises: 0012_search
"""

from __future__ import annotations

from alembic import op

revision = "0012_ticket_indexes"
down_revision = "0012_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_category_created", "tickets", ["category", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_category_created", table_name="tickets")
