"""Celery tasks of dispatch."""

from __future__ import annotations

import time

from dispatch import routing
from hotline.celery_app import celery_app
from hotline.db import session_scope
from hotline.errors import Conflict


@celery_app.task(name="dispatch.route_pending")
def route_pending(budget_seconds: float = 10.0) -> dict[str, int]:
    """Route the tickets registered since the last round, in batches (beat sends this every second;
    each batch commits on its own, so a worker that dies loses at most one batch, which stays pending)."""
    totals: dict[str, int] = {}
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        with session_scope() as session:
            counts = routing.route_pending(session)
        for outcome, n in counts.items():
            totals[outcome] = totals.get(outcome, 0) + n
        if not counts or set(counts) == {"failed"}:
            break
    return totals


@celery_app.task(name="dispatch.apply_held_decision")
def apply_held_decision(decision_id: int) -> str:
    """直派 an agent's ticket once its hold is over (nothing happens if someone acted meanwhile)."""
    try:
        with session_scope() as session:
            return routing.apply_held_decision(session, decision_id)
    except Conflict:
        return "skipped"
