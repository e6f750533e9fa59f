"""Celery tasks of dispatch."""

from __future__ import annotations

from dispatch import routing
from hotline.celery_app import celery_app
from hotline.db import session_scope
from hotline.errors import Conflict


@celery_app.task(name="dispatch.route_registered")
def route_registered(ticket_id: int) -> str:
    """Proposals, 并单 candidates and 直派/hold/queue for a ticket just registered (once per ticket)."""
    with session_scope() as session:
        return routing.route_registered(session, ticket_id)


@celery_app.task(name="dispatch.apply_held_decision")
def apply_held_decision(decision_id: int) -> str:
    """直派 an agent's ticket once its hold is over (nothing happens if someone acted meanwhile)."""
    try:
        with session_scope() as session:
            return routing.apply_held_decision(session, decision_id)
    except Conflict:
        return "skipped"
