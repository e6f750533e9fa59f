"""Errors the core raises and the one body every 4xx of the API answers.

``{"code": "<machine code>", "detail": "<one sentence in Chinese>", "errors": [{"loc", "msg", "type"}]}``,
``errors`` always present (empty when no field is at fault), plus the few optional keys of
:class:`ErrorExtras`. The HTTP layer (``hotline/http_errors.py``) maps each class to its status.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Where = Literal["body", "query", "path", "header"]


class ErrorExtras(TypedDict, total=False):
    """Optional keys an error body may carry (each documented in the ``ErrorOut`` schema)."""

    retry_after: int  # 429: seconds to wait
    current_version: int  # 409 stale_version: the ticket's version now
    status: str  # 409 invalid_state: the ticket's status now
    allowed: list[str]  # 415, 422: the values the field accepts
    max_bytes: int  # 413: the largest size accepted
    detected_type: str | None  # 415: the type read from the file's bytes


class HotlineError(Exception):
    status_code = 400
    code = "error"

    def __init__(
        self,
        message: str,
        field: str | None = None,
        *,
        where: Where = "body",
        code: str | None = None,
        error_type: str | None = None,
        **extras: Any,
    ) -> None:
        super().__init__(message)
        unknown = set(extras) - set(ErrorExtras.__annotations__)
        if unknown:  # a key the schema does not document would break the API's contract
            raise TypeError(f"undocumented error keys: {sorted(unknown)}")
        self.message = message
        if code is not None:
            self.code = code
        self.extras: ErrorExtras = extras  # type: ignore[assignment]
        self.errors: list[dict[str, Any]] = (
            [{"loc": [where, field], "msg": message, "type": error_type or self.code}] if field else []
        )

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.errors, **self.extras)

    def headers(self) -> dict[str, str]:
        return {}


def error_body(code: str, detail: str, errors: list[dict[str, Any]] | None = None, **extras: Any) -> dict[str, Any]:
    """The one error shape (also built by the handlers of FastAPI's own errors)."""
    return {"code": code, "detail": detail, "errors": errors or [], **extras}


class Unauthorized(HotlineError):
    """Not logged in, the token is no longer valid, or a channel client's key is wrong (401)."""

    status_code = 401
    code = "not_authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class NotFound(HotlineError):
    status_code = 404
    code = "not_found"


class Conflict(HotlineError):
    """The action is not possible now: the ticket's state, or someone else won the race."""

    status_code = 409
    code = "conflict"


class InvalidInput(HotlineError):
    """Bad input (422); ``field`` names the field at fault, ``where`` where it was sent."""

    status_code = 422
    code = "invalid_input"


class Forbidden(HotlineError):
    """The user's role (or department) may not do this (403), whatever the ticket's state."""

    status_code = 403
    code = "forbidden"


class RateLimited(HotlineError):
    status_code = 429
    code = "rate_limited"

    def headers(self) -> dict[str, str]:
        retry_after = self.extras.get("retry_after")
        return {"Retry-After": str(retry_after)} if retry_after is not None else {}


class PayloadTooLarge(HotlineError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(HotlineError):
    status_code = 415
    code = "unsupported_media_type"


class Unavailable(HotlineError):
    """A part the request needs is down (503): the attachment store, the classifier, the PBX."""

    status_code = 503
    code = "unavailable"
