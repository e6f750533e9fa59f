"""Counting the SQL statements a piece of code sends (the N+1 guard of the hot paths)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from hotline.db import get_engine


@contextmanager
def counted() -> Iterator[list[str]]:
    """The statements sent on the product's engine inside the block, in order."""
    seen: list[str] = []
    engine = get_engine()

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
