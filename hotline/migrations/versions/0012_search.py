"""Full-text search of tickets: a search document kept on write (tsvector + GIN; SQLite FTS5).

Revision ID: 0012_search
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hotline.fulltext import backfill, sqlite_drop_ddl, sqlite_index_ddl
from hotline.models import TICKET_SEARCH

revision = "0012_search"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.add_column("tickets", sa.Column("search_document", postgresql.TSVECTOR(), nullable=True))
        backfill(bind, TICKET_SEARCH)
        op.create_index("ix_tickets_search_document", "tickets", ["search_document"], postgresql_using="gin")
        # a number's first digits (LIKE '2026112%') whatever the database's collation
        op.execute("CREATE INDEX ix_tickets_number_pattern ON tickets (number text_pattern_ops)")
    else:
        op.add_column("tickets", sa.Column("search_document", sa.Text(), nullable=True))
        for statement in sqlite_index_ddl(TICKET_SEARCH):
            op.execute(statement)
        backfill(bind, TICKET_SEARCH)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_index("ix_tickets_number_pattern", table_name="tickets")
        op.drop_index("ix_tickets_search_document", table_name="tickets")
    else:
        for statement in sqlite_drop_ddl(TICKET_SEARCH):
            op.execute(statement)
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("search_document")
