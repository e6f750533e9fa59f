"""How channels plug into the core and escalation (called from hotline/wiring.py only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC_DIR = Path(__file__).parent / "static"


def subscribe() -> None:
    from channels import webhooks
    from escalation.channels import register_channel
    from hotline import hooks

    # Every ticket change: the webhook of the client that filed it (same transaction, outbox row).
    hooks.subscribe("*", webhooks.on_ticket_event)
    register_channel(webhooks.CHANNEL, webhooks.WebhookChannel)


def include_routers(app: FastAPI) -> None:
    from channels import api, citizen, open311
    from hotline.pages import mount_static

    app.include_router(api.admin_router)
    app.include_router(api.client_router)
    app.include_router(open311.router)
    app.include_router(citizen.router)
    mount_static(app, "citizen", STATIC_DIR)
