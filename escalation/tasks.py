"""Celery tasks of escalation. Beat runs ``escalation.sweep`` every sweep interval (a minute by
default, a second in drills); nothing is scheduled per ticket with a far ETA."""

from __future__ import annotations

import logging
from typing import Any

from escalation import callbacks, channels, service
from escalation.config import load_config
from hotline.celery_app import celery_app
from hotline.db import get_sessionmaker, session_scope

log = logging.getLogger("escalation.tasks")


@celery_app.task(name="escalation.sweep", ignore_result=True)
def sweep() -> dict[str, Any]:
    """Deadlines and causes → reminders and 督办; callbacks due; then the outbox."""
    sm = get_sessionmaker()
    with sm() as session:
        batch = int((load_config(session).raw.get("sweep") or {}).get("batch_size", 500))
    stats = service.run_sweep(sm, batch_size=batch)
    cb = callbacks.process_due(sm)
    sent = channels.deliver_due(sm)
    result = {
        "tickets": stats.tickets,
        "fired": stats.fired,
        "levels": stats.levels,
        "callbacks_created": stats.callbacks,
        "calls": cb.calls,
        "calls_failed": cb.failed_calls,
        "survey_sms": cb.sms,
        "queued": cb.queued,
        "answered": cb.answered,
        "sent": sent.sent,
        "retried": sent.retried,
        "failed": sent.failed,
        "seconds": round(stats.seconds, 3),
    }
    if stats.fired or cb.calls or cb.failed_calls or cb.sms or sent.sent or sent.failed:
        log.info("escalation sweep: %s", result)
    return result


@celery_app.task(name="escalation.deliver", ignore_result=True)
def deliver() -> int:
    return channels.deliver_due(get_sessionmaker()).sent


@celery_app.task(name="escalation.process_callbacks", ignore_result=True)
def process_callbacks() -> int:
    cb = callbacks.process_due(get_sessionmaker())
    channels.deliver_due(get_sessionmaker())
    return cb.answered


@celery_app.task(name="escalation.resync", ignore_result=True)
def resync() -> int:
    """Watch tickets with live deadlines that no hook announced (bulk loads, restores)."""
    with session_scope() as session:
        return service.resync(session)
