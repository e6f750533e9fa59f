"""Composition: the one place that plugs every package into the core.

The app factory, the Celery app and the CLI call :func:`install`; nothing else imports the
packages' wiring. Each package keeps its block below; a block may only import that package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.orm import Session

_installed = False


def install() -> None:
    """Subscribe every package to the ticket events it reacts to (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    # -- core: the department that handled a closed ticket is a labelled example
    from hotline import hooks
    from hotline.classification import learn_department_on_close, learn_department_on_redispatch

    hooks.subscribe("close", learn_department_on_close)
    hooks.subscribe("accept_return", learn_department_on_redispatch)
    # -- dispatch: subscriptions
    from dispatch.events import subscribe as subscribe_dispatch

    subscribe_dispatch()
    # -- escalation: subscriptions
    from escalation.wiring import subscribe as escalation_subscribe

    escalation_subscribe()
    # -- dashboards: subscriptions (the handling facts of every ticket event)
    from dashboards.wiring import subscribe as dashboards_subscribe

    dashboards_subscribe()
    # -- channels: webhooks from ticket events, the outbox's webhook channel
    from channels.wiring import subscribe as channels_subscribe

    channels_subscribe()
    # -- knowledge: 直办 from an article (the use counted with the ticket's event)
    from knowledge.wiring import subscribe as knowledge_subscribe

    knowledge_subscribe()


def include_routers(app: FastAPI) -> None:
    from telephony.api import router as telephony_router

    app.include_router(telephony_router)
    # -- dispatch: router
    from dispatch.api import router as dispatch_router
    from dispatch.api import ticket_router as dispatch_ticket_router

    app.include_router(dispatch_router)
    app.include_router(dispatch_ticket_router)
    # -- escalation: router
    from escalation.wiring import include_routers as escalation_routers

    escalation_routers(app)
    # -- escalation: pages
    from escalation.wiring import include_pages as escalation_pages

    escalation_pages(app)
    # -- channels: admin and client API, Open311, the citizens' pages
    from channels.wiring import include_routers as channels_routers

    channels_routers(app)
    # -- dashboards: router
    from dashboards.wiring import include_routers as dashboards_routers

    dashboards_routers(app)
    # -- knowledge: router
    from knowledge.wiring import include_routers as knowledge_routers

    knowledge_routers(app)


def after_upgrade(session: Session) -> dict[str, object]:
    """Data the packages derive once the schema is current (e.g. facts for tickets loaded before)."""
    out: dict[str, object] = {}
    # -- dashboards: backfill of the handling facts
    from dashboards.wiring import after_upgrade as dashboards_after_upgrade

    out["dashboard_cases"] = dashboards_after_upgrade(session)
    return out


def seed_demo_extras(session: Session) -> dict[str, object]:
    """Demo data of the packages (dispatch catalogue, gazetteer, ...), after the core's."""
    extras: dict[str, object] = {}
    # -- dispatch: demo seed
    from dispatch.demo import seed_demo as seed_dispatch

    extras.update(seed_dispatch(session))
    # -- escalation: demo seed
    from escalation.wiring import seed_demo as escalation_seed

    extras.update(escalation_seed(session))
    # -- dashboards: demo seed (hot topics of the demo's tickets)
    from dashboards.wiring import seed_demo as dashboards_seed

    extras.update(dashboards_seed(session))
    # -- knowledge: the demo city's articles
    from knowledge.wiring import seed_demo as knowledge_seed

    extras.update(knowledge_seed(session))
    return extras
