"""Telephony fixtures: a migrated database of our own, the AMI server on an ephemeral port,
and a bridge running in a background thread (its own event loop), all over real TCP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from hotline.db import make_engine
from hotline.migrate import upgrade
from telephony import scenarios
from telephony.amiserver import AMIServer, AMIServerThread, AMIUser
from telephony.bridge import Bridge, BridgeConfig
from telephony.client import AMITarget
from tests.conftest import clean_tables, create_pg_database, drop_pg_database, pg_url

TIME_SCALE = 0.02  # a 30-second recording plays in 0.6 s; timestamps still say 30 s


def _migrate(url: str) -> sessionmaker[Session]:
    upgrade(url)
    return sessionmaker(bind=make_engine(url), expire_on_commit=False)


@pytest.fixture(scope="session")
def sqlite_sm(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    path = tmp_path_factory.mktemp("telephony") / "telephony.sqlite3"
    return _migrate(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def pg_sm() -> Iterator[sessionmaker[Session]]:
    name = create_pg_database("hotline_telephony_test")
    sm = _migrate(pg_url(name))
    yield sm
    sm.kw["bind"].dispose()
    drop_pg_database(name)


def _clean(sm: sessionmaker[Session]) -> None:
    with sm() as s:
        # Tickets, timelines and every package's rows first: they may point at our users.
        clean_tables(s)
        s.execute(text("DELETE FROM users WHERE username LIKE 'tel-%'"))
        s.commit()


@pytest.fixture
def sm(sqlite_sm: sessionmaker[Session]) -> sessionmaker[Session]:
    _clean(sqlite_sm)
    return sqlite_sm


@pytest.fixture
def ami() -> Iterator[AMIServerThread]:
    server = AMIServerThread(AMIServer(time_scale=TIME_SCALE, login_fail_delay=0.05)).start()
    yield server
    server.stop()


class BridgeRunner:
    """A Bridge in its own thread and loop, driven from synchronous test code."""

    def __init__(
        self, config: BridgeConfig, sm: sessionmaker[Session], publish: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.bridge = Bridge(config, sm, publish=publish or (lambda m: None))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.bridge.run())

    def start(self) -> BridgeRunner:
        self.thread.start()
        return self

    def wait(self, cond: Callable[[], bool], timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise AssertionError(f"timed out; bridge stats {self.bridge.stats}")
            time.sleep(0.01)

    def wait_connected(self, resyncs: int = 1) -> None:
        self.wait(lambda: self.bridge.stats.connected and self.bridge.stats.resyncs >= resyncs)

    def drain(self) -> None:
        """Everything the server sent so far is handled and written (a Ping round trip first)."""

        async def sync() -> None:
            conn = self.bridge.conn
            if conn is not None and not conn.closed.is_set():
                await conn.action("Ping")
            await self.bridge.drain()

        asyncio.run_coroutine_threadsafe(sync(), self.loop).result(10)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.bridge.stop)
            self.thread.join(10)


@pytest.fixture
def start_bridge(ami: AMIServerThread, sm: sessionmaker[Session]) -> Iterator[Callable[..., BridgeRunner]]:
    runners: list[BridgeRunner] = []

    def start(
        *,
        secret: str = "secret",
        username: str = "hotline",
        session_maker: sessionmaker[Session] | None = None,
        **kw: Any,
    ) -> BridgeRunner:
        kw.setdefault("ping_interval", 30.0)
        kw.setdefault("backoff_min", 0.05)
        kw.setdefault("backoff_max", 0.2)
        publish = kw.pop("publish", None)
        cfg = BridgeConfig(AMITarget("127.0.0.1", ami.server.port, username, secret), **kw)
        runner = BridgeRunner(cfg, session_maker or sm, publish).start()
        runners.append(runner)
        return runner

    yield start
    for r in runners:
        r.stop()


def play(ami: AMIServerThread, name: str, **kw: Any) -> Any:
    return ami.call(ami.server.play, name, **kw)


def wait_play(ami: AMIServerThread, p: Any) -> None:
    ami.call(p.done.wait)


def recording_facts(name: str) -> dict[str, Any]:
    """What the recording says about its (first) call, read straight from the events."""
    scen = scenarios.load(name)
    facts: dict[str, Any] = {"hold": None, "talk": None, "abandon_hold": None, "agent": None, "reason": None}
    caller_uid = None
    last_hangup = 0.0
    for off, h in scen.events:
        ev = h.get("Event")
        if ev == "QueueCallerJoin" and caller_uid is None:
            caller_uid, facts["join"] = h["Uniqueid"], off
        elif ev == "AgentConnect" and facts["hold"] is None:
            facts["hold"], facts["answer"] = int(h["HoldTime"]), off
            facts["agent"] = scenarios.PLACEHOLDER.sub(lambda m: scen.defaults[m.group(1)], h["Interface"])
        elif ev == "AgentComplete" and facts["talk"] is None:
            facts["talk"], facts["reason"] = int(h["TalkTime"]), h["Reason"]
        elif ev == "QueueCallerAbandon":
            facts["abandon_hold"] = int(h["HoldTime"])
        elif ev == "Hangup" and h.get("Uniqueid") == caller_uid:
            facts["cause"] = int(h["Cause"])
        if ev == "Hangup" and h.get("Linkedid") == scen.events[0][1].get("Linkedid"):
            last_hangup = off
    facts["end"] = last_hangup
    return facts


def records(sm: sessionmaker[Session]) -> list[Any]:
    """The call records, oldest first."""
    from sqlalchemy import select

    from telephony.models import CallRecord

    with sm() as s:
        return list(s.scalars(select(CallRecord).order_by(CallRecord.started_at)))


def play_until_queued(ami: AMIServerThread, runner: BridgeRunner, sm: sessionmaker[Session], name: str) -> Any:
    """Start a recorded inbound call and return once the bridge has recorded it waiting in the queue."""
    p = play(ami, name)
    runner.wait(lambda: any(r.enter_queue_at for r in records(sm)), timeout=5)
    return p


def add_user(sm: sessionmaker[Session], username: str, role: str, extension: str | None) -> int:
    from hotline.models import User

    with sm() as s:
        u = User(username=username, display_name=username, password_hash="x", role=role, extension=extension)
        s.add(u)
        s.commit()
        return u.id


__all__ = [
    "AMIUser",
    "BridgeRunner",
    "Path",
    "TIME_SCALE",
    "add_user",
    "play",
    "play_until_queued",
    "recording_facts",
    "records",
    "wait_play",
]
