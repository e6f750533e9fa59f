"""Captcha-free limits of the citizens' pages: counted rows per key (``phone:…``, ``addr:…``) in a
window, in the database so that they hold across API servers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from channels.models import RateHit
from hotline.db import utcnow
from hotline.errors import RateLimited


def check(session: Session, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """429 when ``key`` has ``limit`` hits in the window; the oldest of them says when to come back."""
    since = utcnow() - timedelta(seconds=window_seconds)
    count, oldest = session.execute(
        select(func.count(), func.min(RateHit.at)).where(RateHit.key == key, RateHit.at >= since)
    ).one()
    if count >= limit:
        retry = window_seconds - int((utcnow() - oldest).total_seconds()) if oldest else window_seconds
        raise RateLimited(message, retry_after=max(1, retry))


def hit(session: Session, *keys: str) -> None:
    now = utcnow()
    session.add_all([RateHit(key=key[:100], at=now) for key in keys])


def purge(session: Session, older_than_seconds: int = 2 * 86400) -> int:
    result = session.execute(delete(RateHit).where(RateHit.at < utcnow() - timedelta(seconds=older_than_seconds)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
