"""FastAPI dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from hotline.db import get_sessionmaker


def get_db() -> Iterator[Session]:
    """One session per request; handlers commit what they change, anything else rolls back."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
