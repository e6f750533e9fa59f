"""A limit on the size of request bodies, per route, answered in the one error shape.

Without it a client can make a worker read a 50 MB body into memory before anything looks at
it. The middleware counts the bytes as the route reads them (and trusts a too-large
``Content-Length`` at once), so an oversized body is refused after at most one chunk past the
limit. Routes take ``HOTLINE_MAX_BODY_BYTES`` unless decorated with :func:`body_limit` (imports,
attachments). FastAPI's own ``max_body_size`` answers a plain-text 413 whenever the client
declares the length, which would break the API's one error shape; hence this small one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "hotline_max_body_bytes"


def body_limit(limit: int | Callable[[], int]) -> Callable[[F], F]:
    """Give a route its own limit (bytes, or a function of the settings read per request)."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, _ATTR, limit)
        return endpoint

    return mark


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"请求内容过大（上限 {limit} 字节）")


def _limit_of(scope: Scope, default: Callable[[], int]) -> int:
    # Routing has put the endpoint in the scope by the time it reads its body.
    limit = getattr(scope.get("endpoint"), _ATTR, None)
    if limit is None:
        return default()
    return limit() if callable(limit) else int(limit)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, default: Callable[[], int]) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared: int | None = int(Headers(scope=scope).get("content-length", ""))
        except ValueError:
            declared = None
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            limit = _limit_of(scope, self.default)
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
