"""Errors the core raises; the HTTP layer maps each to its status code."""

from __future__ import annotations


class HotlineError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(HotlineError):
    status_code = 404
    code = "not_found"


class Conflict(HotlineError):
    """The action is not allowed now: wrong state, wrong user, or someone else won the race."""

    status_code = 409
    code = "conflict"


class InvalidInput(HotlineError):
    status_code = 422
    code = "invalid_input"


class Forbidden(HotlineError):
    status_code = 403
    code = "forbidden"


class RateLimited(HotlineError):
    status_code = 429
    code = "rate_limited"


class PayloadTooLarge(HotlineError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(HotlineError):
    status_code = 415
    code = "unsupported_media_type"


class Unavailable(HotlineError):
    """A part the request needs (the attachment store, the classifier) is down: try again later."""

    status_code = 503
    code = "unavailable"
