"""A batch of routing reads what every ticket of it shares once: the settings, the departments, the
catalogue and the gazetteer (``route_pending`` routes up to 50 tickets in one transaction; each read
once is what a change committed just after the batch began would find anyway)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
_KEY = "dispatch.batch"


@contextmanager
def shared_reads(session: Session) -> Iterator[None]:
    """Within: :func:`once` answers each key's first read again (outside, it reads every time)."""
    session.info[_KEY] = {}
    try:
        yield
    finally:
        session.info.pop(_KEY, None)


def once(session: Session, key: str, read: Callable[[], T]) -> T:
    memo: dict[str, Any] | None = session.info.get(_KEY)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]  # type: ignore[no-any-return]
