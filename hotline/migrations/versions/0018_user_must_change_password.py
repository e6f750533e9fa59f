"""Users whose password an admin reset (重置密码) must choose a new one at their next login before
doing anything else; their own 修改密码 clears it. Existing accounts are not affected.

Revision ID: 0018_user_must_change_password
Revises: 0017_timeline_append_only_sqlite
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_user_must_change_password"
down_revision = "0017_timeline_append_only_sqlite"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
