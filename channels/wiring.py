"""How channels plug into the core and escalation (called from hotline/wiring.py only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.responses import Response
    from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"


def _static_files() -> type:
    from fastapi.staticfiles import StaticFiles

    from hotline.console import PAGE_HEADERS

    headers = {**PAGE_HEADERS, "Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "same-origin"}

    class Static(StaticFiles):
        """The citizens' pages' stylesheet and script, with the pages' security headers."""

        async def get_response(self, path: str, scope: Scope) -> Response:
            response = await super().get_response(path, scope)
            response.headers.update(headers)
            return response

    return Static


def subscribe() -> None:
    from channels import webhooks
    from escalation.channels import register_channel
    from hotline import hooks

    # Every ticket change: the webhook of the client that filed it (same transaction, outbox row).
    hooks.subscribe("*", webhooks.on_ticket_event)
    register_channel(webhooks.CHANNEL, webhooks.WebhookChannel)


def include_routers(app: FastAPI) -> None:
    from channels import api, citizen, open311

    app.include_router(api.admin_router)
    app.include_router(api.client_router)
    app.include_router(open311.router)
    app.include_router(citizen.router)
    app.mount("/static/citizen", _static_files()(directory=STATIC_DIR), name="static-citizen")
