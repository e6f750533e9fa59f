"""dispatch tables: 派单目录 and its history, gazetteer, decisions, coordination, 并单 candidates

Revision ID: 0003_dispatch
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_dispatch"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "dispatch_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("primary", sa.String(64), nullable=False),
        sa.Column("assists", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("dispatch_rules", "updated_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_dispatch_rules_code")),
    )
    op.create_table(
        "dispatch_rule_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_by_name", sa.String(100), nullable=True),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("dispatch_rule_changes", "changed_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_rule_changes")),
    )
    op.create_index("ix_dispatch_rule_changes_code", "dispatch_rule_changes", ["rule_code", "id"])
    op.create_table(
        "dispatch_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_places")),
        sa.UniqueConstraint("name", "department_code", name="uq_dispatch_places_name_dept"),
    )
    op.create_index(op.f("ix_dispatch_places_name"), "dispatch_places", ["name"])
    op.create_index(op.f("ix_dispatch_places_department_code"), "dispatch_places", ["department_code"])
    op.create_table(
        "dispatch_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("catalogue_version", sa.Integer(), nullable=False),
        sa.Column("place", sa.JSON(), nullable=True),
        sa.Column("classifier", sa.JSON(), nullable=True),
        sa.Column("proposals", sa.JSON(), nullable=False),
        sa.Column("excluded_department_ids", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("primary_department_id", sa.Integer(), nullable=True),
        sa.Column("assist_department_ids", sa.JSON(), nullable=False),
        sa.Column("followed_proposal", sa.Boolean(), nullable=True),
        _fk("dispatch_decisions", "ticket_id", "tickets"),
        _fk("dispatch_decisions", "actor_id", "users"),
        _fk("dispatch_decisions", "primary_department_id", "departments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_decisions")),
    )
    op.create_index("ix_dispatch_decisions_ticket", "dispatch_decisions", ["ticket_id", "id"])
    op.create_table(
        "dispatch_coordinations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("settled_at", TZ, nullable=True),
        sa.Column("settled_by_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("dispatch_coordinations", "ticket_id", "tickets"),
        _fk("dispatch_coordinations", "settled_by_id", "users"),
        _fk("dispatch_coordinations", "department_id", "departments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_coordinations")),
    )
    op.create_index(op.f("ix_dispatch_coordinations_ticket_id"), "dispatch_coordinations", ["ticket_id"])
    op.create_index("ix_dispatch_coordinations_status", "dispatch_coordinations", ["status", "opened_at"])
    op.create_table(
        "dispatch_repeat_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("same_citizen", sa.Boolean(), nullable=False),
        sa.Column("same_place", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        _fk("dispatch_repeat_candidates", "ticket_id", "tickets"),
        _fk("dispatch_repeat_candidates", "candidate_id", "tickets"),
        _fk("dispatch_repeat_candidates", "decided_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_repeat_candidates")),
        sa.UniqueConstraint("ticket_id", "candidate_id", name="uq_dispatch_repeat_candidates_pair"),
    )
    op.create_index(op.f("ix_dispatch_repeat_candidates_ticket_id"), "dispatch_repeat_candidates", ["ticket_id"])
    op.create_index(op.f("ix_dispatch_repeat_candidates_candidate_id"), "dispatch_repeat_candidates", ["candidate_id"])


def downgrade() -> None:
    for table in (
        "dispatch_repeat_candidates",
        "dispatch_coordinations",
        "dispatch_decisions",
        "dispatch_places",
        "dispatch_rule_changes",
        "dispatch_rules",
    ):
        op.drop_table(table)
