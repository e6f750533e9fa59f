"""How the dashboards plug into the core (called from hotline/wiring.py and the CLI only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session


def subscribe() -> None:
    from dashboards import facts
    from hotline import hooks

    # Every ticket event: the ticket's handling facts (same transaction).
    hooks.subscribe("*", facts.on_ticket_event)


def include_routers(app: FastAPI) -> None:
    from dashboards.api import router

    app.include_router(router)


def seed_demo(session: Session) -> dict[str, object]:
    """The demo's hot topics at once (beat refreshes them every 15 minutes after)."""
    from dashboards.hot_topics_store import refresh
    from hotline.db import utcnow

    return {"hot_topics": refresh(session, utcnow()).clusters}


def after_upgrade(session: Session) -> int:
    """A database that had tickets before the dashboards existed gets their facts once."""
    from dashboards import facts

    return facts.backfill_if_empty(session)
