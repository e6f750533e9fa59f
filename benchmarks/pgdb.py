"""A dedicated PostgreSQL database for a benchmark: made fresh at the start, dropped at the end.

Needs PostgreSQL at HOTLINE_TEST_PG_ADMIN (default postgres@127.0.0.1, trust auth)."""

from __future__ import annotations

import os

ADMIN_DSN = os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def fresh_database(name: str) -> str:
    """Drop and create ``name``; its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    from hotline.db import reset_engine_cache

    reset_engine_cache()
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
