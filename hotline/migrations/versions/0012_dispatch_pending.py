"""dispatch_pending: tickets registered and not yet routed (the worker's outbox).

Revision ID: 0012_dispatch_pending
Revises: 0003_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_dispatch_pending"
down_revision = "0003_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_pending",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_dispatch_pending_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_dispatch_pending")),
    )
    op.create_index(op.f("ix_dispatch_pending_created_at"), "dispatch_pending", ["created_at"])
    # Tickets registered before this revision and never routed wait as pending too.
    op.execute(
        "INSERT INTO dispatch_pending (ticket_id, created_at) SELECT t.id, t.created_at FROM tickets t "
        "WHERE t.status = 'registered' AND NOT EXISTS (SELECT 1 FROM dispatch_decisions d WHERE d.ticket_id = t.id)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dispatch_pending_created_at"), table_name="dispatch_pending")
    op.drop_table("dispatch_pending")
