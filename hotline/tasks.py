"""Celery tasks of the ticket core."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from hotline.celery_app import celery_app
from hotline.db import session_scope, utcnow
from hotline.models import LoginFailure
from hotline.settings import get_settings

log = logging.getLogger(__name__)


@celery_app.task(name="hotline.purge_login_failures")
def purge_login_failures() -> int:
    """Forget failed logins older than the rate-limit window."""
    cutoff = utcnow() - timedelta(seconds=get_settings().login_window_seconds)
    with session_scope() as session:
        result = session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


@celery_app.task(name="hotline.retrain_classifier")
def retrain_classifier(days: int = 90) -> dict[str, Any]:
    """Learn from the center: retrain on staff corrections and handled tickets of the last
    ``days`` days, and promote the new model only if it is not worse on a held-back slice."""
    from classifier import retrain_and_maybe_promote
    from hotline import classification

    with session_scope() as session:
        examples = classification.training_examples(session, since=utcnow() - timedelta(days=days))
    if len(examples) < 20:
        return {"promoted": False, "reason": f"only {len(examples)} labelled examples", "n_corrections": len(examples)}
    report: dict[str, Any] = retrain_and_maybe_promote(classification.registry(), examples)
    log.info("classifier retrain: %s", {k: v for k, v in report.items() if k != "metrics"})
    return report
