"""Celery tasks of channels."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from channels import ratelimit
from channels.models import SmsCode
from hotline.celery_app import celery_app
from hotline.db import session_scope, utcnow


@celery_app.task(name="channels.purge", ignore_result=True)
def purge() -> int:
    """Rate-limit hits older than the longest window, SMS codes a day past their expiry."""
    with session_scope() as session:
        hits = ratelimit.purge(session)
        codes = session.execute(delete(SmsCode).where(SmsCode.expires_at < utcnow() - timedelta(days=1)))
        return hits + int(codes.rowcount or 0)  # type: ignore[attr-defined]
