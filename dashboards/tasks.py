"""Celery tasks of the dashboards. Beat refreshes the hot topics every 15 minutes."""

from __future__ import annotations

import logging
from typing import Any

from dashboards.hot_topics_store import refresh
from hotline.celery_app import celery_app
from hotline.db import session_scope, utcnow

log = logging.getLogger("dashboards.tasks")


@celery_app.task(name="dashboards.refresh_hot_topics", ignore_result=True)
def refresh_hot_topics() -> dict[str, Any]:
    """热点诉求 of the last 30 days' appeals, clustered again and kept."""
    with session_scope() as session:
        run = refresh(session, utcnow())
        result = {"appeals": run.appeals, "clusters": run.clusters, "seconds": run.seconds}
    log.info("hot topics refreshed: %s", result)
    return result
