"""AMI clients: a long-lived asyncio connection for the bridge, a short blocking one for actions.

``AMIConnection`` reads in large chunks and hands every chunk's events to one callback as
a list (one call per chunk, not per event: that is what makes 20,000 events/s cheap),
resolves action responses by ``ActionID`` and collects list responses (``EventList:
start`` … ``*Complete``). ``run_actions`` is for code outside the bridge (API requests,
Celery tasks) that only needs to send an Originate, Redirect or QueuePause and go.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from telephony.protocol import Decoder, MalformedMessage, Message, encode, encode_action

log = logging.getLogger("telephony.ami")

_ids = itertools.count(1)


class AMIError(Exception):
    pass


class AMILoginError(AMIError):
    pass


class AMIActionError(AMIError):
    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"{action}: {message}")
        self.action = action
        self.message = message


@dataclass(frozen=True)
class AMITarget:
    host: str
    port: int
    username: str
    secret: str


EventCallback = Callable[[list[Message], float], None]


class AMIConnection:
    def __init__(
        self,
        target: AMITarget,
        *,
        on_events: EventCallback,
        events: str | None = None,
        on_malformed: Callable[[MalformedMessage], None] | None = None,
        id_prefix: str = "hl",
    ) -> None:
        self.target = target
        self.on_events = on_events
        self.events = events
        self.on_malformed = on_malformed or (
            lambda m: log.warning(
                "malformed AMI message from %s:%s (%s): %r", target.host, target.port, m.reason, m.raw[:120]
            )
        )
        self.id_prefix = id_prefix
        self.banner: str | None = None
        self.last_rx = time.monotonic()
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._lists: dict[str, list[Message]] = {}
        self._list_done: dict[str, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._decoder = Decoder(expect_banner=True)

    def next_id(self) -> str:
        return f"{self.id_prefix}-{next(_ids)}"

    async def connect(self, timeout: float = 10.0) -> None:
        t = self.target
        reader, writer = await asyncio.wait_for(asyncio.open_connection(t.host, t.port, limit=1 << 20), timeout)
        self._reader, self._writer = reader, writer
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._task = asyncio.get_running_loop().create_task(self._read_loop())
        headers: dict[str, object] = {"Username": t.username, "Secret": t.secret}
        if self.events is not None:
            headers["Events"] = self.events
        try:
            resp = await self.action("Login", headers, timeout=timeout, check=False)
        except (AMIError, ConnectionError) as exc:
            raise AMILoginError(f"no answer to Login ({exc})") from exc
        if resp.get("Response") != "Success":
            raise AMILoginError(resp.get("Message", "login refused"))

    async def _read_loop(self) -> None:
        assert self._reader is not None
        reader = self._reader
        decoder = self._decoder
        try:
            while True:
                data = await reader.read(262144)
                if not data:
                    self.close_reason = "connection closed by peer"
                    break
                now = time.time()
                self.last_rx = time.monotonic()
                msgs = decoder.feed(data)
                if decoder.banner is not None and self.banner is None:
                    self.banner = decoder.banner
                if decoder.malformed:
                    for bad in decoder.take_malformed():
                        self.on_malformed(bad)
                events: list[Message] = []
                for msg in msgs:
                    aid = msg.get("ActionID")
                    if aid is not None:
                        if aid in self._lists and "Event" in msg:
                            if msg.get("EventList") == "Complete":
                                fut = self._list_done.get(aid)
                                if fut and not fut.done():
                                    fut.set_result(None)
                            else:
                                self._lists[aid].append(msg)
                            continue
                        fut2 = self._pending.pop(aid, None)
                        if fut2 is not None and "Response" in msg:
                            if not fut2.done():
                                fut2.set_result(msg)
                            continue
                    if "Event" in msg:
                        events.append(msg)
                    elif "Response" not in msg:
                        self.on_malformed(MalformedMessage("neither Event nor Response", repr(msg)[:200].encode()))
                if events:
                    try:
                        self.on_events(events, now)
                    except Exception:  # one bad event must not kill the connection
                        log.exception("error while handling %d AMI events", len(events))
        except (ConnectionError, OSError) as exc:
            self.close_reason = f"connection error: {exc}"
        except asyncio.CancelledError:
            self.close_reason = "closed"
            raise
        finally:
            self.closed.set()
            waiting: list[asyncio.Future[Message] | asyncio.Future[None]] = [
                *self._pending.values(),
                *self._list_done.values(),
            ]
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_exception(ConnectionError(self.close_reason or "connection closed"))
            self._pending.clear()

    def send(self, data: bytes) -> None:
        if self._writer is None or self.closed.is_set():
            raise ConnectionError("not connected")
        self._writer.write(data)

    async def action(
        self, name: str, headers: Mapping[str, object] | None = None, *, timeout: float = 10.0, check: bool = True
    ) -> Message:
        aid = self.next_id()
        fut: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[aid] = fut
        self.send(encode_action(name, aid, headers))
        try:
            resp = await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(aid, None)
        if check and resp.get("Response") not in ("Success", "Goodbye"):
            raise AMIActionError(name, resp.get("Message", "error"))
        return resp

    async def list_action(
        self, name: str, headers: Mapping[str, object] | None = None, *, timeout: float = 30.0
    ) -> tuple[Message, list[Message]]:
        aid = self.next_id()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Message] = loop.create_future()
        done: asyncio.Future[None] = loop.create_future()
        self._pending[aid] = fut
        self._lists[aid] = []
        self._list_done[aid] = done
        try:
            self.send(encode_action(name, aid, headers))
            resp = await asyncio.wait_for(fut, timeout)
            if resp.get("Response") != "Success":
                raise AMIActionError(name, resp.get("Message", "error"))
            if resp.get("EventList", "").lower() == "start":
                await asyncio.wait_for(done, timeout)
            return resp, self._lists[aid]
        finally:
            self._pending.pop(aid, None)
            self._lists.pop(aid, None)
            self._list_done.pop(aid, None)

    async def close(self) -> None:
        if self._writer is not None and not self.closed.is_set():
            with contextlib.suppress(Exception):
                self._writer.write(encode_action("Logoff", self.next_id()))
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.transport.abort()


def run_actions(
    target: AMITarget, actions: list[tuple[str, Mapping[str, object]]], *, timeout: float = 10.0
) -> list[Message]:
    """Log in (events off), send the actions one by one, return their responses, log off."""
    with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        decoder = Decoder(expect_banner=True)
        buffered: list[Message] = []

        def wait_for(aid: str) -> Message:
            while True:
                for i, msg in enumerate(buffered):
                    if msg.get("ActionID") == aid and "Response" in msg:
                        return buffered.pop(i)
                buffered.clear()
                data = sock.recv(65536)
                if not data:
                    raise AMIError("connection closed by Asterisk")
                buffered.extend(decoder.feed(data))

        base = f"sync-{next(_ids)}"
        sock.sendall(
            encode(
                [
                    ("Action", "Login"),
                    ("ActionID", f"{base}-login"),
                    ("Username", target.username),
                    ("Secret", target.secret),
                    ("Events", "off"),
                ]
            )
        )
        resp = wait_for(f"{base}-login")
        if resp.get("Response") != "Success":
            raise AMILoginError(resp.get("Message", "login refused"))
        out = []
        for n, (name, headers) in enumerate(actions):
            aid = f"{base}-{n}"
            sock.sendall(
                encode_action(
                    name, str(headers.get("ActionID", aid)), {k: v for k, v in headers.items() if k != "ActionID"}
                )
            )
            out.append(wait_for(str(headers.get("ActionID", aid))))
        with contextlib.suppress(OSError):
            sock.sendall(encode_action("Logoff", f"{base}-logoff"))
        return out
