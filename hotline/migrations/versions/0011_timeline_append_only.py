"""全程留痕 in the database itself (PostgreSQL): ``timeline_events`` refuses UPDATE, DELETE and TRUNCATE
for every role (a statement trigger), and the restricted application role ``hotline_app`` may
read and write every table but only SELECT and INSERT the timeline.

The role has no login: the services sign in as a login role that is a member of it
(``hotline db app-login``), while migrations run as the schema's owner. Tables created later by the
owner (other packages' migrations) grant the same to ``hotline_app`` through default privileges.
SQLite has no roles: 0017_timeline_append_only_sqlite gives it row triggers.

Revision ID: 0011_timeline_append_only
Revises: 0011_user_tokens
"""

from __future__ import annotations

from alembic import op

revision = "0011_timeline_append_only"
down_revision = "0011_user_tokens"
branch_labels = None
depends_on = None

APP_ROLE = "hotline_app"

TRIGGER = [
    """CREATE OR REPLACE FUNCTION timeline_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'timeline_events is append-only (全程留痕): % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$""",
    """CREATE TRIGGER timeline_events_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON timeline_events
        FOR EACH STATEMENT EXECUTE FUNCTION timeline_events_append_only()""",
]

# Created once per cluster (roles are not per database); two databases migrating at once both try.
ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
"""

GRANTS = [
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP_ROLE}",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON timeline_events FROM {APP_ROLE}",
    f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP_ROLE}",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in [*TRIGGER, ROLE, *GRANTS]:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}",
        f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}",
        "DROP TRIGGER IF EXISTS timeline_events_append_only ON timeline_events",
        "DROP FUNCTION IF EXISTS timeline_events_append_only()",
    ]:
        op.execute(statement)
