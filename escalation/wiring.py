"""How escalation plugs into the core and telephony (called from hotline/wiring.py only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session


def subscribe() -> None:
    from escalation import callbacks, service
    from hotline import hooks
    from telephony.callback import on_survey_result

    # Every ticket change: the sweep looks at that ticket again (same transaction).
    hooks.subscribe("*", service.on_ticket_event)
    # A department given a ticket is told (inbox, SMS to the 联络员).
    for action in service.ASSIGNING_ACTIONS:
        hooks.subscribe(action, service.notify_assigned)
    # IVR survey results (in the bridge process): advance that callback at once.
    on_survey_result(callbacks.on_survey_result)


def include_routers(app: FastAPI) -> None:
    from escalation.api import router

    app.include_router(router)


def include_pages(app: FastAPI) -> None:
    from escalation.pages import router

    app.include_router(router)


def seed_demo(session: Session) -> dict[str, object]:
    """In drill mode (HOTLINE_DRILL=1), limits in seconds and a ticket that climbs the ladder."""
    from escalation.drill import run_drill
    from hotline.settings import get_settings

    if not get_settings().drill:
        return {}
    result = run_drill(session)
    return {"escalation_drill_ticket": result.get("ticket")}
