"""The request log of the HTTP app: who, what route, what status, how long; never a query string.

Query strings and path values can carry what must not be logged (a survey link's token, a phone
number typed into a URL), so a line names the route as declared (``/survey/{token}``,
``/api/v1/tickets/{ticket_id}``); only a request that matched no route shows its raw path, and
that passes the log redaction like every other line (``hotline.logs``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.clientaddr import client_address

log = logging.getLogger("hotline.access")

# How the product runs uvicorn: our request log instead of its access log (which writes query
# strings), the process's logging configuration instead of uvicorn's, and no X-Forwarded-For
# unless from a configured proxy (hotline.clientaddr).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_config": None,
    "access_log": False,
    "proxy_headers": False,
    "server_header": False,
}


def route_path(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None and not isinstance(route, Mount) and getattr(route, "path", None):
        return str(route.path)
    return str(scope.get("path", ""))


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            log.info(
                '%s "%s %s" %d %.1fms',
                client_address(scope),
                scope["method"],
                route_path(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )
