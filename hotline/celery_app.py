"""The one Celery app of the product (worker and beat), used by every package.

Production: Redis as broker. Embedded default: kombu's SQLAlchemy transport on a SQLite file,
so `hotline up` runs a real worker and beat with no server installed.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import beat_init, worker_init, worker_process_init
from sqlalchemy import event
from sqlalchemy.orm import Session

from hotline import logs
from hotline.settings import get_settings

# Worker and beat processes start here, not in the CLI: mask their logs from the first line.
logs.install_redaction()
# Task modules of every package; the composition root is the only place that lists them.
TASK_MODULES = ["hotline.tasks", "dispatch.tasks", "escalation.tasks", "dashboards.tasks", "channels.tasks"]
# Routing each new ticket has a queue of its own, so that a burst of registrations never holds up
# the deadline sweep, reminders and callbacks (the default queue); a worker listens to both.
ROUTING_QUEUE = "routing"
TASK_ROUTES = {
    "dispatch.route_pending": {"queue": ROUTING_QUEUE},
    "dispatch.apply_held_decision": {"queue": ROUTING_QUEUE},
}


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("hotline", include=TASK_MODULES)
    app.conf.update(
        broker_url=settings.effective_broker_url,
        result_backend=settings.effective_result_backend,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        timezone=settings.timezone,
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        result_expires=3600,
        task_routes=TASK_ROUTES,
        beat_schedule={
            "purge-login-failures": {"task": "hotline.purge_login_failures", "schedule": 600.0},
            # Nightly: learn from the day's corrections (promoted only if not worse).
            "retrain-classifier": {"task": "hotline.retrain_classifier", "schedule": crontab(hour=2, minute=30)},
            # escalation: deadlines sweep (reminders, 督办, 回访, outbox); a stale sweep expires
            "escalation-sweep": {
                "task": "escalation.sweep",
                "schedule": settings.effective_sweep_interval,
                "options": {"expires": max(5.0, settings.effective_sweep_interval * 5)},
            },
            "escalation-resync": {"task": "escalation.resync", "schedule": 600.0, "options": {"expires": 300.0}},
            # dispatch: route the tickets registered since the last round (proposals, 并单, 直派)
            "dispatch-route-pending": {
                "task": "dispatch.route_pending",
                "schedule": settings.routing_interval_seconds,
                "options": {"expires": max(2.0, settings.routing_interval_seconds * 2)},
            },
            # dashboards: 热点诉求 clustered again from the last 30 days' appeals
            "dashboards-hot-topics": {
                "task": "dashboards.refresh_hot_topics",
                "schedule": 900.0,
                "options": {"expires": 600.0},
            },
            # channels: forget old rate-limit hits and SMS codes
            "channels-purge": {"task": "channels.purge", "schedule": 3600.0, "options": {"expires": 1800.0}},
        },
    )
    return app


celery_app = make_celery()


@worker_init.connect
@worker_process_init.connect
@beat_init.connect
def _wire(**_: Any) -> None:
    from hotline import wiring

    wiring.install()


def reconfigure_celery() -> None:
    """Re-read the settings (tests and `hotline up` change the environment before use)."""
    fresh = make_celery()
    # Connections and the result backend are cached per app: drop them, or tasks would still
    # go to the broker the app first talked to.
    celery_app.close()
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    celery_app._local = threading.local()  # the cached result backend
    celery_app.conf.update(fresh.conf)
    celery_app.conf.beat_schedule = fresh.conf.beat_schedule


_PENDING = "hotline_tasks_after_commit"


def enqueue_after_commit(session: Session, task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` only once the transaction that wrote what it reads has committed."""
    if not session.in_transaction():
        session.begin()  # so that a rollback, even of nothing written yet, drops the task
    session.info.setdefault(_PENDING, []).append((task, args, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    for task, args, kwargs in session.info.pop(_PENDING, []):
        task.apply_async(args=args, kwargs=kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    # Fires on every rollback() (even with no database transaction begun); a savepoint
    # rolled back does not drop what the outer transaction still means to send.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def worker_queues() -> str:
    """The queues a worker of this installation consumes (``-Q``)."""
    return ",".join(dict.fromkeys([celery_app.conf.task_default_queue, ROUTING_QUEUE]))
