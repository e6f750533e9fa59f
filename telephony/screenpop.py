"""来电弹屏: the caller's history on the agent's screen while the phone still rings.

Path of one pop: the bridge sees ``AgentCalled`` → ``deliver_pop`` (a worker thread) maps
the queue member interface to a user (``users.extension``), builds the payload
(``build_payload``: number, prior calls, open and recent tickets under 保密 rules) and
publishes it. With ``HOTLINE_REDIS_URL`` set it goes to Redis pub/sub, so any API server
can hold the agent's SSE connection; without Redis (embedded default, bridge inside the
API process) the in-process ``hub`` delivers it. Each API process has one ``hub``; with
Redis, one listener task per process feeds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.models import User
from hotline.phone import mask_phone, normalize_phone
from hotline.settings import get_settings
from telephony.service import prior_call_count, users_by_interface

log = logging.getLogger("telephony.screenpop")


def channel_for(redis_url: str) -> str:
    """The pub/sub channel of the installation whose Redis database ``redis_url`` names.

    Redis pub/sub ignores the database number, so two installations (or two test runs) sharing
    one Redis server would see each other's pops on a fixed channel name: the number goes in it.
    """
    import redis

    db = redis.connection.parse_url(redis_url).get("db", 0)
    return f"hotline:{db}:telephony:screenpop"


def citizen_history(session: Session, phone_e164: str, viewer: User) -> dict[str, Any]:
    """The core's caller history (``hotline.service.citizen_history``), empty if unavailable."""
    try:
        from hotline.service import citizen_history as core_history
    except ImportError:  # the core function is not there yet
        return {"citizen": None, "ticket_count": 0, "open_tickets": [], "recent_tickets": []}
    return core_history(session, phone_e164, viewer)


def build_payload(
    session: Session,
    *,
    viewer: User,
    interface: str,
    linkedid: str,
    caller_number: str | None,
    queue: str | None,
    event_ts: float,
) -> dict[str, Any]:
    """Everything the agent sees when the call rings (one place for the whole payload)."""
    e164 = normalize_phone(caller_number) if caller_number else None
    history = (
        citizen_history(session, e164, viewer)
        if e164
        else {"citizen": None, "ticket_count": 0, "open_tickets": [], "recent_tickets": []}
    )
    return {
        "type": "screen_pop",
        "user_id": viewer.id,
        "interface": interface,
        "linkedid": linkedid,
        "queue": queue,
        "caller": e164 or caller_number,
        "prior_calls": prior_call_count(session, e164, exclude_linkedid=linkedid) if e164 else 0,
        **history,
        "event_ts": event_ts,
    }


# -- in-process fan-out ------------------------------------------------------------------
class Hub:
    """Per-process subscribers by user id; safe to publish from any thread."""

    def __init__(self) -> None:
        self._subs: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = {}
        self._lock = threading.Lock()

    def subscribe(self, user_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        with self._lock:
            self._subs.setdefault(user_id, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, user_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            subs = self._subs.get(user_id, set())
            for item in list(subs):
                if item[1] is queue:
                    subs.discard(item)
            if not subs:
                self._subs.pop(user_id, None)

    def subscribers(self, user_id: int) -> int:
        with self._lock:
            return len(self._subs.get(user_id, ()))

    def publish(self, message: dict[str, Any]) -> int:
        with self._lock:
            targets = list(self._subs.get(int(message.get("user_id") or 0), ()))
        for loop, queue in targets:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_put, queue, message)
        return len(targets)


def _put(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)


hub = Hub()


# -- publishing --------------------------------------------------------------------------
# Whatever a publisher returns (Hub.publish: how many streams got it) is ignored.
Publisher = Callable[[dict[str, Any]], object]


def make_publisher(redis_url: str | None = None) -> Publisher:
    """Redis pub/sub when a URL is configured, else the in-process hub."""
    url = redis_url if redis_url is not None else get_settings().redis_url
    if not url:
        return hub.publish
    import redis

    client = redis.Redis.from_url(url)
    channel = channel_for(url)

    def publish(message: dict[str, Any]) -> None:
        client.publish(channel, json.dumps(message, ensure_ascii=False, default=str))

    return publish


class RedisListener:
    """One per API process: feeds the local hub from Redis pub/sub."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def ensure_started(self) -> None:
        if self.task is None or self.task.done():
            self.ready = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        import redis.asyncio as aioredis

        backoff = 0.5
        channel = channel_for(self.url)
        while True:
            try:
                client = aioredis.Redis.from_url(self.url)
                pubsub = client.pubsub()
                await pubsub.subscribe(channel)
                self.ready.set()
                backoff = 0.5
                async for item in pubsub.listen():
                    if item.get("type") != "message":
                        continue
                    try:
                        hub.publish(json.loads(item["data"]))
                    except (ValueError, TypeError):
                        log.warning("bad screen pop message on %s", channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening through Redis restarts
                log.warning("screen pop Redis listener: %s; retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)


_listeners: dict[str, RedisListener] = {}


async def ensure_listener() -> None:
    url = get_settings().redis_url
    if not url:
        return
    listener = _listeners.setdefault(url, RedisListener(url))
    listener.ensure_started()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(listener.ready.wait(), 5)


# -- the bridge side ---------------------------------------------------------------------
def deliver_pop(make_session: sessionmaker[Session], pop: dict[str, Any], publish: Publisher) -> bool:
    """Build and publish one screen pop; False when the interface maps to no user."""
    started = time.perf_counter()
    with make_session() as session:
        user_ids = users_by_interface(session, {pop["interface"]})
        user_id = user_ids.get(pop["interface"])
        if user_id is None:
            log.debug("screen pop: no user has extension %s", pop["interface"])
            return False
        viewer = session.scalar(select(User).where(User.id == user_id))
        if viewer is None or not viewer.active:
            return False
        payload = build_payload(
            session,
            viewer=viewer,
            interface=pop["interface"],
            linkedid=pop["linkedid"],
            caller_number=pop.get("caller_number"),
            queue=pop.get("queue"),
            event_ts=pop["ts"],
        )
    publish(payload)
    log.info(
        "screen pop for user %s: caller %s, call %s (%.1f ms)",
        user_id,
        mask_phone(payload.get("caller")),
        pop["linkedid"],
        (time.perf_counter() - started) * 1000,
    )
    return True
