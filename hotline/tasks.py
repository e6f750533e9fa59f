"""Celery tasks of the ticket core."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from hotline.celery_app import celery_app
from hotline.db import session_scope, utcnow
from hotline.models import LoginFailure
from hotline.settings import get_settings


@celery_app.task(name="hotline.purge_login_failures")
def purge_login_failures() -> int:
    """Forget failed logins older than the rate-limit window."""
    cutoff = utcnow() - timedelta(seconds=get_settings().login_window_seconds)
    with session_scope() as session:
        result = session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
