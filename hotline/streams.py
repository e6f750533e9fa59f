"""Server-Sent Event streams end when their user may no longer read them.

A stream is authorised once, when it opens, and may then live for hours. :func:`while_signed_in`
wraps its events and, every ``HOTLINE_STREAM_AUTH_RECHECK_SECONDS`` (and before each event),
checks that the user is still active and its tokens not revoked (hotline.auth.revoke_tokens:
password change, 停用, 退出所有登录); when not, the stream ends and the browser's EventSource,
reconnecting with the old token, is refused (401).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from hotline.auth import still_signed_in
from hotline.db import get_sessionmaker
from hotline.models import User
from hotline.settings import get_settings

T = TypeVar("T")
log = logging.getLogger(__name__)


def _check(user_id: int, version: int) -> bool:
    with get_sessionmaker()() as session:
        return still_signed_in(session, user_id, version)


async def while_signed_in(user: User, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """``events`` for as long as ``user`` (as it was when the stream opened) stays signed in."""
    user_id, version = user.id, user.token_version
    interval = get_settings().stream_auth_recheck_seconds
    source = aiter(events)
    pending: asyncio.Future[T] | None = None
    checked = time.monotonic()
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if done or time.monotonic() - checked >= interval:
                if not await run_in_threadpool(_check, user_id, version):
                    log.info("stream of user %s closed: signed out", user_id)
                    return
                checked = time.monotonic()
            if not done:
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()  # ends the source inside its own await
            await asyncio.wait({pending})
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
