"""Asterisk's CDR and queue log tables, which Asterisk writes into our database

The bridge reconciles call records from them after every AMI reconnect. Shapes as Asterisk 22
ships them (contrib/realtime/postgresql/postgresql_cdr.sql, postgresql_queue_log.sql), plus a key
on ``cdr`` and indexes for the reconciliation's reads; ``telephony_calls.reconciled_from`` says where
a reconciled record's facts came from (``resync``: closed when we noticed; ``cdr``: Asterisk's records).

Revision ID: 0016_asterisk_records
Revises: 0002_telephony
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_asterisk_records"
down_revision = "0002_telephony"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cdr",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("accountcode", sa.String(80)),
        sa.Column("src", sa.String(80)),
        sa.Column("dst", sa.String(80)),
        sa.Column("dcontext", sa.String(80)),
        sa.Column("clid", sa.String(80)),
        sa.Column("channel", sa.String(80)),
        sa.Column("dstchannel", sa.String(80)),
        sa.Column("lastapp", sa.String(80)),
        sa.Column("lastdata", sa.String(80)),
        sa.Column("start", sa.DateTime(timezone=False)),
        sa.Column("answer", sa.DateTime(timezone=False)),
        sa.Column("end", sa.DateTime(timezone=False)),
        sa.Column("duration", sa.Integer()),
        sa.Column("billsec", sa.Integer()),
        sa.Column("disposition", sa.String(45)),
        sa.Column("amaflags", sa.String(45)),
        sa.Column("userfield", sa.String(256)),
        sa.Column("uniqueid", sa.String(150)),
        sa.Column("linkedid", sa.String(150)),
        sa.Column("peeraccount", sa.String(80)),
        sa.Column("sequence", sa.Integer()),
    )
    op.create_index("ix_cdr_end", "cdr", ["end"])
    op.create_index("ix_cdr_uniqueid", "cdr", ["uniqueid"])
    op.create_index("ix_cdr_linkedid", "cdr", ["linkedid"])
    op.create_table(
        "queue_log",
        sa.Column("id", KEY, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=False)),
        sa.Column("callid", sa.String(80)),
        sa.Column("queuename", sa.String(256)),
        sa.Column("agent", sa.String(80)),
        sa.Column("event", sa.String(32)),
        sa.Column("data1", sa.String(100)),
        sa.Column("data2", sa.String(100)),
        sa.Column("data3", sa.String(100)),
        sa.Column("data4", sa.String(100)),
        sa.Column("data5", sa.String(100)),
    )
    op.create_index("ix_queue_log_time", "queue_log", ["time"])
    op.create_index("ix_queue_log_callid", "queue_log", ["callid"])
    with op.batch_alter_table("telephony_calls") as batch:
        batch.add_column(sa.Column("reconciled_from", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telephony_calls") as batch:
        batch.drop_column("reconciled_from")
    op.drop_table("queue_log")
    op.drop_table("cdr")
