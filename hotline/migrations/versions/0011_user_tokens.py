"""Users' token version (raised to revoke every token issued before) and when the password changed.

Revision ID: 0011_user_tokens
Revises: 0012_ticket_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_user_tokens"
down_revision = "0012_ticket_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("token_version")
