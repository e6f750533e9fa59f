"""Running the Alembic migrations from code (`hotline db upgrade`, tests, `hotline up`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Bring the schema to the newest revision of every package's branch."""
    command.upgrade(alembic_config(url), revision)


# The restricted application role (0011_timeline_append_only): every table's rows, but the timeline
# only SELECT and INSERT. The services sign in as a login role that is a member of it.
APP_ROLE = "hotline_app"


def ensure_app_login(url: str, name: str, password: str) -> None:
    """Create (or give a new password to) the login role ``name``, a member of ``hotline_app`` only.

    Run as the schema's owner after :func:`upgrade`; the API, worker, beat and bridge then use a
    database URL with this role (docker-compose.yml does).
    """
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("the application role exists on PostgreSQL only")
    if not password:
        raise ValueError("the login role needs a password")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if name == conn.execute("SELECT current_user").fetchone()[0]:  # type: ignore[index]
            raise ValueError("the application's login must not be the schema owner")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(name), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(name)))
