"""The HTTP application factory: the composition root that wires every package's routes."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hotline import api, attachments_api, classification, logs, pages, wiring
from hotline.db import get_engine
from hotline.errors import HotlineError
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
    # Load the classifier in the background: the first agent should not wait seconds for it.
    threading.Thread(
        target=classification.predict, args=("预热", "预热"), name="classifier-warmup", daemon=True
    ).start()
    yield


def create_app() -> FastAPI:
    logs.install_redaction()
    app = FastAPI(
        title="hotline · 12345 政务服务便民热线",
        version="0.1.0",
        description="Tickets (工单), dispatch, escalation and callbacks of a 12345 hotline center.",
        lifespan=lifespan,
    )

    @app.exception_handler(HotlineError)
    async def _hotline_error(_request: Request, exc: HotlineError) -> JSONResponse:
        body = {"detail": exc.message, "code": exc.code, **{k: v for k, v in exc.details.items()}}
        return JSONResponse(status_code=exc.status_code, content=body)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # A unique or foreign key the checks before did not catch (e.g. two requests at once).
        return JSONResponse(
            status_code=409, content={"detail": "数据与已有记录冲突（如用户名或编码重复）", "code": "conflict"}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # One message per field, with where it is: {"loc": ["body", "phone"], "msg": ...}.
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors, "code": "validation_error"})

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        checks = {"database": check_database(), "broker": check_broker()}
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse(status_code=200 if ok else 503, content={"ok": ok, **checks})

    app.add_middleware(RequestLogMiddleware)
    app.include_router(api.router)
    app.include_router(attachments_api.router)
    pages.install(app)  # the staff page shell's script and style (/static/staff/)
    wiring.include_routers(app)
    wiring.install()
    return app
