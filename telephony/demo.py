"""Embedded telephony for ``hotline up`` when no Asterisk is configured.

``start_embedded()`` runs the replaying AMI server (``telephony.amiserver``) and the bridge
in background threads of the calling process, so the in-process screen-pop hub reaches the
agents' SSE streams, and plays one recorded call every ``every`` seconds (answered,
abandoned, rung-out-then-answered in turn). Survey calls placed with
``telephony.callback.place_survey_call`` go to the same server and come back answered
(or unanswered/busy, see ``amiserver.default_survey_behaviour``).

Agents of the recordings are ``Local/8001@hotline-agents/n`` … ``8003``: the demo agents'
seats 8001 … 8003 (``users.extension``), the same seats as ``PJSIP/8001`` … on our Asterisk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import secrets
import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from telephony import scenarios
from telephony.amiserver import AMIServer, AMIServerThread, AMIUser
from telephony.bridge import Bridge, config_from_settings
from telephony.client import AMITarget
from telephony.config import set_embedded_target

log = logging.getLogger("telephony.demo")

DEMO_CALLERS = ["13800000001", "13800000002", "13800000003", "13912345678", "13700000005"]


@dataclass
class EmbeddedTelephony:
    server: AMIServerThread
    bridge: Bridge
    target: AMITarget
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread
    _player: concurrent.futures.Future[None] | None = field(default=None)

    def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop_bridge(), self._loop).result(10)
        self._thread.join(10)
        self.server.stop()
        set_embedded_target(None)

    async def _stop_bridge(self) -> None:
        self.bridge.stop()


def start_embedded(
    *,
    every: float = 20.0,
    time_scale: float = 1.0,
    make_session: sessionmaker[Session] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> EmbeddedTelephony:
    """Start the demo AMI server and the bridge in this process; returns a handle with ``stop()``."""
    from hotline.db import get_sessionmaker
    from telephony.screenpop import hub

    secret = secrets.token_urlsafe(16)
    server = AMIServerThread(AMIServer(host, port, users={"hotline": AMIUser(secret)}, time_scale=time_scale)).start()
    target = AMITarget(host, server.server.port, "hotline", secret)
    set_embedded_target(target)
    cfg = config_from_settings(target)
    bridge = Bridge(cfg, make_session or get_sessionmaker(), publish=hub.publish)
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(bridge.run())

    thread = threading.Thread(target=run, name="telephony-bridge", daemon=True)
    thread.start()
    handle = EmbeddedTelephony(server, bridge, target, loop, thread)
    if every > 0:
        handle._player = asyncio.run_coroutine_threadsafe(_play_forever(server.server, every), server.loop)
    log.info("embedded telephony: AMI server on %s:%s, a call every %.0fs", host, target.port, every)
    return handle


async def _play_forever(server: AMIServer, every: float) -> None:
    for i in itertools.count():
        server.play(scenarios.INBOUND[i % len(scenarios.INBOUND)], numbers=[DEMO_CALLERS[i % len(DEMO_CALLERS)]])
        await asyncio.sleep(every)
