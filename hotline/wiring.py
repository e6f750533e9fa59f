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
    # -- dispatch: subscriptions
    # -- escalation: subscriptions


def include_routers(app: FastAPI) -> None:
    from telephony.api import router as telephony_router

    app.include_router(telephony_router)
    # -- dispatch: router
    # -- escalation: router
    # -- dashboards: router


def seed_demo_extras(session: Session) -> dict[str, object]:
    """Demo data of the packages (dispatch catalogue, gazetteer, ...), after the core's."""
    extras: dict[str, object] = {}
    # -- dispatch: demo seed
    # -- escalation: demo seed
    return extras
