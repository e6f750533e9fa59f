"""The HTTP application factory: the composition root that wires every package's routes."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from kombu import Connection
from sqlalchemy import text

from hotline import (
    api,
    apidocs,
    attachments_api,
    classification,
    console,
    fulltext,
    http_errors,
    logs,
    urgency_api,
    wiring,
)
from hotline.bodylimit import BodyLimitMiddleware
from hotline.db import POOL_CAPACITY, get_engine
from hotline.nulguard import NulGuardMiddleware
from hotline.requestlog import RequestLogMiddleware
from hotline.settings import get_settings

log = logging.getLogger(__name__)


def check_database() -> dict[str, Any]:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure is "down"
        return {"ok": False, "error": type(exc).__name__}


def check_broker() -> dict[str, Any]:
    try:
        with Connection(get_settings().effective_broker_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Load the classifier and the search words' dictionary in the background: the first agent
    # should not wait seconds for either.
    threading.Thread(
        target=classification.predict, args=("预热", "预热"), name="classifier-warmup", daemon=True
    ).start()
    threading.Thread(target=fulltext.words, args=("预热",), name="search-warmup", daemon=True).start()
    # Sync routes run in anyio's thread pool (40 threads by default) and each holds a database
    # connection: with more threads than connections, a burst left requests waiting 30 s on the
    # pool and failing; with as many, the excess waits for a thread and is served in turn.
    anyio.to_thread.current_default_thread_limiter().total_tokens = POOL_CAPACITY
    yield


def create_app() -> FastAPI:
    logs.install_redaction()
    app = FastAPI(
        title="hotline · 12345 政务服务便民热线",
        version="0.1.0",
        description="Tickets (工单), dispatch, escalation and callbacks of a 12345 hotline center.",
        lifespan=lifespan,
        docs_url=None,  # served by hotline.apidocs from the product's own files
        redoc_url=None,
    )
    apidocs.install(app)

    http_errors.install(app)
    app.add_middleware(BodyLimitMiddleware, default=lambda: get_settings().max_body_bytes)
    app.add_middleware(NulGuardMiddleware)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        checks = {"database": check_database(), "broker": check_broker()}
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse(status_code=200 if ok else 503, content={"ok": ok, **checks})

    app.add_middleware(RequestLogMiddleware)
    app.include_router(api.router)
    app.include_router(attachments_api.router)
    app.include_router(urgency_api.router)
    wiring.include_routers(app)
    console.install(app)  # the staff console at /console/ (after the API: its catch-all comes last)
    wiring.install()
    return app
