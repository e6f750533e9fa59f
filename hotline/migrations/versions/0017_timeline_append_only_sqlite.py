"""全程留痕 in the database itself on SQLite too: ``timeline_events`` refuses UPDATE and DELETE
(row triggers; SQLite has no TRUNCATE and no roles). Until now only the ORM guard of
hotline/models.py held there, and a bulk statement or raw SQL passed it.

Revision ID: 0017_timeline_append_only_sqlite
Revises: 0011_timeline_append_only
"""

from __future__ import annotations

from alembic import op

revision = "0017_timeline_append_only_sqlite"
down_revision = "0011_timeline_append_only"
branch_labels = None
depends_on = None

OPERATIONS = ("UPDATE", "DELETE")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for operation in OPERATIONS:
        op.execute(
            f"""CREATE TRIGGER timeline_events_no_{operation.lower()} BEFORE {operation} ON timeline_events
            BEGIN SELECT RAISE(ABORT, 'timeline_events is append-only (全程留痕): {operation} refused'); END"""
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for operation in OPERATIONS:
        op.execute(f"DROP TRIGGER IF EXISTS timeline_events_no_{operation.lower()}")
