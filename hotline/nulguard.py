"""No NUL character in any text the API is sent: refused with 422 before a route sees it.

PostgreSQL text cannot hold U+0000 and no person types one, so a NUL in the path, the query
string or a body (JSON ``\\u0000``, a form's ``%00``, a raw zero byte in any non-file body) is
the client's mistake wherever it comes, and it is answered as one, in the one error shape.
File uploads (multipart, octet-stream) are bytes, not text, and pass untouched.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.errors import InvalidInput

MESSAGE = "不能包含空字符（NUL）"
# A JSON escape of U+0000 (``\u0000`` not itself escaped), a form's ``%00``, or a raw zero byte.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00|\x00")
_RAW_NUL = re.compile(rb"\x00")
_BINARY_TYPES = ("multipart/", "application/octet-stream", "image/", "audio/", "video/")
_TAIL = 64  # bytes of the chunk before kept, so an escape cut in two is still seen


def _query_field(query_string: bytes) -> str | None:
    """The name of the first query parameter with a NUL in its name or value, or None."""
    if b"%00" not in query_string.lower() and b"\x00" not in query_string:
        return None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return "query"


class NulInBody(HTTPException):
    """Raised while the route reads its body: an HTTPException, since FastAPI turns any other
    error of body parsing (a form's) into a 400."""

    def __init__(self) -> None:
        super().__init__(status_code=422, detail=f"请求内容{MESSAGE}")
        self.errors = [{"loc": ["body"], "msg": MESSAGE, "type": "nul_character"}]


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused: InvalidInput | None = None
        if "\x00" in scope.get("path", ""):
            refused = InvalidInput(MESSAGE, field="path", where="path")
        elif (name := _query_field(scope.get("query_string", b""))) is not None:
            refused = InvalidInput(f"{name}：{MESSAGE}", field=name, where="query")
        if refused is not None:
            await JSONResponse(refused.body(), status_code=refused.status_code)(scope, receive, send)
            return
        content_type = Headers(scope=scope).get("content-type", "").lower()
        if content_type.startswith(_BINARY_TYPES):
            await self.app(scope, receive, send)
            return
        pattern = (
            _JSON_NUL if "json" in content_type else _FORM_NUL if "x-www-form-urlencoded" in content_type else _RAW_NUL
        )
        tail = b""

        async def guarded_receive() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                seen = tail + message.get("body", b"")
                if pattern.search(seen):
                    raise NulInBody()
                tail = seen[-_TAIL:]
            return message

        await self.app(scope, guarded_receive, send)
