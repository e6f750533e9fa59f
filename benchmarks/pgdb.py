"""A dedicated PostgreSQL database for a benchmark: made fresh at the start, dropped at the end.

Needs PostgreSQL at HOTLINE_TEST_PG_ADMIN (default postgres@127.0.0.1, trust auth), or the
server of the ``admin`` DSN given."""

from __future__ import annotations

import os

ADMIN_DSN = os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def database_url(name: str, admin: str = ADMIN_DSN) -> str:
    """The SQLAlchemy URL of database ``name`` on ``admin``'s server."""
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def fresh_database(name: str, admin: str = ADMIN_DSN) -> str:
    """Drop and create ``name``; its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name, admin)


def drop_database(name: str, admin: str = ADMIN_DSN) -> None:
    import psycopg

    from hotline.db import reset_engine_cache

    reset_engine_cache()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
