"""The bridge process: Asterisk's AMI event stream → call records, agent states, screen pops.

One asyncio loop holds the AMI connection and the pure ``Tracker``; everything that
touches the database runs on worker threads so a slow query never holds up the event
stream: one ordered writer thread (call/agent upserts, 漏接回拨 tasks, survey results)
and a small pool for screen pops (they must not queue behind writes).

Connection life: connect → Login (with an ``Events:`` class filter) → pause event
handling → ``CoreShowChannels`` + ``QueueStatus`` resync → handle the events that arrived
meanwhile → stream. After ``ping_interval`` seconds without traffic a ``Ping`` is sent; no
answer in ``ping_timeout`` means a dead link. Any loss → reconnect with exponential backoff
(with jitter) and resync again. Records are upserted by Linkedid, so a replayed or
resynchronised call never makes a second row; a fresh process first reloads the calls
that were still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.phone import mask_phone
from telephony import callback, reconcile, screenpop, service
from telephony.client import AMIConnection, AMIError, AMILoginError, AMITarget
from telephony.config import get_telephony_settings
from telephony.protocol import MalformedMessage, Message
from telephony.state import Tracker

log = logging.getLogger("telephony.bridge")


@dataclass
class BridgeConfig:
    target: AMITarget
    events: str | None = "system,call,agent,user"
    inbound_contexts: tuple[str, ...] = ("hotline-inbound", "from-trunk")
    ping_interval: float = 20.0
    ping_timeout: float = 10.0
    backoff_min: float = 0.5
    # While Asterisk is expected back (a restart, a network blip) the wait stays short: a call
    # that starts and ends while we wait is only recovered from the CDR, later.
    backoff_max: float = 2.0
    expect_back: float = 300.0  # seconds of outage after which the wait may grow
    backoff_max_long: float = 30.0
    connect_timeout: float = 10.0
    boot_timeout: float = 60.0  # longest wait for FullyBooted after login
    # After each (re)connect, calls that ended while we were away come from Asterisk's CDR and
    # queue log (telephony.reconcile): those that ended since we last heard Asterisk, minus a
    # margin; a fresh process looks back at most cdr_lookback seconds.
    reconcile_cdr: bool = True
    cdr_margin: float = 60.0
    cdr_lookback: float = 3600.0
    log_every: float = 30.0  # repeated connection failures are logged at most this often
    write_retry: float = 1.0  # seconds before a batch the database refused is written again


@dataclass
class BridgeStats:
    connects: int = 0
    login_failures: int = 0
    disconnects: int = 0
    pings: int = 0
    events: int = 0
    malformed: int = 0
    resyncs: int = 0
    pops: int = 0
    reconciled: int = 0  # call records made or corrected from Asterisk's CDR
    last_error: str = ""
    flushes: int = 0
    connected: bool = False
    since: float = field(default_factory=time.time)


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        make_session: sessionmaker[Session],
        *,
        publish: screenpop.Publisher | None = None,
        pop_workers: int = 4,
    ) -> None:
        self.config = config
        self.make_session = make_session
        self.publish = publish or screenpop.make_publisher()
        self.tracker = Tracker(config.inbound_contexts)
        self.stats = BridgeStats()
        self.conn: AMIConnection | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="bridge-db")
        self._pops = ThreadPoolExecutor(pop_workers, thread_name_prefix="bridge-pop")
        self._buffer: list[tuple[list[Message], float]] | None = None
        self._flush_scheduled = False
        self._restored = False
        self._stop = asyncio.Event()
        self._booted = asyncio.Event()
        # Work for the writer thread; snapshots of one call/agent coalesce while it is busy.
        self._calls_due: dict[str, dict[str, Any]] = {}
        self._agents_due: dict[str, dict[str, Any]] = {}
        self._abandoned_due: list[dict[str, Any]] = []
        self._surveys_due: list[tuple[str, dict[str, Any]]] = []
        self._vanished_due: list[dict[str, Any]] = []
        self._reconcile_due: tuple[float, set[str]] | None = None
        self._heard_until: float | None = None  # Asterisk time of the last event handled
        self._write_running: asyncio.Future[Any] | None = None
        self.on_flush: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self.conn is not None:
            self.conn.abort()

    async def run(self) -> None:
        cfg = self.config
        t = cfg.target
        backoff = cfg.backoff_min
        down_since: float | None = None  # monotonic time the outage began
        last_logged = -float("inf")
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            conn = AMIConnection(
                t, on_events=self._on_events, events=cfg.events, on_malformed=self._on_malformed, id_prefix="bridge"
            )
            self.conn = conn
            self._buffer = []  # hold events until the resync is applied
            self._booted.clear()
            try:
                await conn.connect(cfg.connect_timeout)
                self.stats.connects += 1
                self.stats.connected = True
                log.info("AMI connected to %s:%s as %s (%s)", t.host, t.port, t.username, conn.banner)
                await self._wait_booted(conn)
                if not self._restored:
                    rows, heard = await loop.run_in_executor(self._writer, self._load_open_calls)
                    self.tracker.restore(rows)
                    self._heard_until = self._heard_until or heard
                    self._restored = True
                    if rows:
                        log.info("restored %d open call(s) from the database", len(rows))
                await self._resync(conn)
                backoff, down_since, last_logged = cfg.backoff_min, None, -float("inf")
                await self._keepalive(conn)
            except (TimeoutError, OSError, ConnectionError, AMIError) as exc:
                now = time.monotonic()
                down_since = now if down_since is None else down_since
                loud = now - last_logged >= cfg.log_every
                last_logged = now if loud else last_logged
                if isinstance(exc, AMILoginError):
                    self.stats.login_failures += 1
                    self.stats.last_error = f"login failed: {exc}"
                    log.log(
                        logging.ERROR if loud else logging.DEBUG,
                        "AMI login failed for user %r at %s:%s: %s (check HOTLINE_AMI_USERNAME/SECRET "
                        "and manager.conf); retrying in %.1fs",
                        t.username,
                        t.host,
                        t.port,
                        exc,
                        backoff,
                    )
                else:
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.log(
                        logging.WARNING if loud else logging.DEBUG,
                        "AMI connection to %s:%s failed: %s; retrying in %.1fs (down for %.0fs)",
                        t.host,
                        t.port,
                        exc or type(exc).__name__,
                        backoff,
                        now - down_since,
                    )
            finally:
                if self.stats.connected:
                    self.stats.disconnects += 1
                self.stats.connected = False
                self._buffer = None
                await conn.close()
                self._flush()
            if self._stop.is_set():
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), backoff * random.uniform(0.8, 1.2))
            backoff = next_backoff(cfg, backoff, time.monotonic() - down_since if down_since is not None else 0.0)
        await self.drain()
        self._writer.shutdown(wait=True)
        self._pops.shutdown(wait=True)

    async def _wait_booted(self, conn: AMIConnection) -> None:
        """Resynchronise only once Asterisk says ``FullyBooted``.

        Logged in to an Asterisk that is still starting, ``QueueStatus`` answers "Invalid/unknown
        command" until app_queue is loaded. A booted Asterisk sends ``FullyBooted`` right after
        the login response; a booting one sends it to every session when it is done.
        """
        if self._booted.is_set():
            return
        closed = asyncio.ensure_future(conn.closed.wait())
        booted = asyncio.ensure_future(self._booted.wait())
        try:
            await asyncio.wait({closed, booted}, timeout=self.config.boot_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            booted.cancel()
        if conn.closed.is_set():
            raise ConnectionError(conn.close_reason or "connection closed while Asterisk was booting")
        if not self._booted.is_set():
            log.warning(
                "AMI: no FullyBooted within %.0fs of login (is 'system' in HOTLINE_TELEPHONY_EVENTS?); "
                "resynchronising anyway",
                self.config.boot_timeout,
            )
        else:
            log.info("AMI: Asterisk is fully booted")

    async def _keepalive(self, conn: AMIConnection) -> None:
        cfg = self.config
        while not conn.closed.is_set() and not self._stop.is_set():
            idle = time.monotonic() - conn.last_rx
            wait = cfg.ping_interval - idle
            if wait > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(conn.closed.wait(), wait)
                continue
            self.stats.pings += 1
            try:
                await conn.action("Ping", timeout=cfg.ping_timeout)
            except TimeoutError:
                log.warning("AMI: no answer to Ping within %.1fs; reconnecting", cfg.ping_timeout)
                conn.abort()
                break
        if conn.closed.is_set() and not self._stop.is_set():
            raise ConnectionError(conn.close_reason or "connection closed")

    async def _resync(self, conn: AMIConnection) -> None:
        pong = await conn.action("Ping")
        _, channels = await conn.list_action("CoreShowChannels")
        _, queue_items = await conn.list_action("QueueStatus")
        try:
            now = float(pong.get("Timestamp", ""))
        except ValueError:
            now = time.time()
        heard = self._heard_until
        self.tracker.resync(channels, queue_items, now)
        self.stats.resyncs += 1
        if self.config.reconcile_cdr:
            floor = now - self.config.cdr_lookback
            since = floor if heard is None else max(floor, heard - self.config.cdr_margin)
            live = {lid for lid, call in self.tracker.calls.items() if call.status != "ended"}
            self._reconcile_due = (since, live)
        buffered, self._buffer = self._buffer or [], None
        for batch, ts in buffered:
            self._handle(batch, ts)
        log.info(
            "AMI resync: %d live channel(s), %d queue item(s), %d buffered event batch(es)",
            len(channels),
            len(queue_items),
            len(buffered),
        )
        self._flush()

    # -- events ------------------------------------------------------------------------
    def _on_malformed(self, bad: MalformedMessage) -> None:
        self.stats.malformed += 1
        t = self.config.target
        log.warning("malformed AMI message from %s:%s ignored (%s): %r", t.host, t.port, bad.reason, bad.raw[:120])

    def _on_events(self, batch: list[Message], recv_ts: float) -> None:
        if self._buffer is not None:
            if not self._booted.is_set() and any(m.get("Event") == "FullyBooted" for m in batch):
                self._booted.set()
            self._buffer.append((batch, recv_ts))
            return
        self._handle(batch, recv_ts)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _handle(self, batch: list[Message], recv_ts: float) -> None:
        handle = self.tracker.handle
        for msg in batch:
            stamp = msg.get("Timestamp")
            if stamp:
                try:
                    ts = float(stamp)
                except ValueError:
                    ts = recv_ts
            else:
                ts = recv_ts
            handle(msg, ts)
        if batch:
            self._heard_until = ts
        self.stats.events += len(batch)

    def _flush(self) -> None:
        self._flush_scheduled = False
        calls, agents, outbox = self.tracker.take_dirty()
        if not (calls or agents or outbox or self._reconcile_due):
            return
        self.stats.flushes += 1
        loop = asyncio.get_running_loop()
        for kind, item in outbox:
            if kind == "pop":
                self.stats.pops += 1
                loop.run_in_executor(self._pops, self._deliver_pop, item)
            elif kind == "abandoned" or (kind == "vanished" and not self.config.reconcile_cdr):
                self._abandoned_due.append(item)
            elif kind == "vanished":
                self._vanished_due.append(item)
            else:
                self._surveys_due.append((kind, item))
        for snap in calls:
            self._calls_due[snap["linkedid"]] = snap
        for snap in agents:
            self._agents_due[snap["interface"]] = snap
        self._start_write()
        if self.on_flush is not None:
            self.on_flush()

    def _start_write(self) -> None:
        if self._write_running is not None:
            return  # the running write restarts when it is done
        if not (self._calls_due or self._agents_due or self._abandoned_due or self._surveys_due or self._reconcile_due):
            return
        job = None
        if self._reconcile_due is not None:
            job = (*self._reconcile_due, self._vanished_due)
            self._reconcile_due, self._vanished_due = None, []
        batch = (
            list(self._calls_due.values()),
            list(self._agents_due.values()),
            self._abandoned_due,
            self._surveys_due,
            job,
        )
        self._calls_due, self._agents_due, self._abandoned_due, self._surveys_due = {}, {}, [], []
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._writer, self._write, *batch)
        self._write_running = fut

        def done(f: asyncio.Future[Any]) -> None:
            self._write_running = None
            failed = None if f.cancelled() or f.exception() is not None else f.result()
            if failed is None:
                self._start_write()
                return
            # The database did not take it (restarting, unreachable): nothing is dropped, the
            # batch waits with what comes meanwhile and is written again in a moment.
            self._requeue(*failed)
            loop.call_later(self.config.write_retry, self._start_write)

        fut.add_done_callback(done)

    def _requeue(
        self,
        calls: list[dict[str, Any]],
        agents: list[dict[str, Any]],
        abandoned: list[dict[str, Any]],
        surveys: list[tuple[str, dict[str, Any]]],
        job: tuple[float, set[str], list[dict[str, Any]]] | None,
    ) -> None:
        """A batch the writer could not write, back in front of what is due (newer snapshots win)."""
        for snap in calls:
            self._calls_due.setdefault(snap["linkedid"], snap)
        for snap in agents:
            self._agents_due.setdefault(snap["interface"], snap)
        self._abandoned_due[:0] = abandoned
        self._surveys_due[:0] = surveys
        if job is not None:
            since, live, vanished = job
            if self._reconcile_due is None:
                self._reconcile_due = (since, live)
            else:  # a reconnect meanwhile: look back from the earlier moment
                self._reconcile_due = (min(since, self._reconcile_due[0]), self._reconcile_due[1])
            self._vanished_due[:0] = vanished

    async def drain(self) -> None:
        """Wait until everything handed to the writer thread is in the database."""
        self._flush()
        while self._write_running is not None:
            await asyncio.gather(self._write_running, return_exceptions=True)
            await asyncio.sleep(0)

    # -- worker threads ----------------------------------------------------------------
    def _load_open_calls(self) -> tuple[list[dict[str, Any]], float | None]:
        with self.make_session() as session:
            return service.load_open_calls(session), reconcile.heard_until(session)

    def _write(
        self,
        calls: list[dict[str, Any]],
        agents: list[dict[str, Any]],
        abandoned: list[dict[str, Any]],
        surveys: list[tuple[str, dict[str, Any]]],
        reconcile_job: tuple[float, set[str], list[dict[str, Any]]] | None = None,
    ) -> tuple[Any, ...] | None:
        """Write a batch; the batch back when the database could not take it (to be written again)."""
        try:
            with self.make_session() as session:
                service.upsert_calls(session, calls)
                service.upsert_agents(session, agents)
                service.create_callback_tasks(session, abandoned)
                session.commit()
                for snap in abandoned:
                    log.info(
                        "abandoned call %s from %s: 漏接回拨 task",
                        snap["linkedid"],
                        mask_phone(snap.get("caller_number")),
                    )
        except OperationalError as exc:  # the database is restarting or unreachable
            log.warning(
                "could not write %d call(s) / %d agent(s), trying again in %.0fs: %s",
                len(calls),
                len(agents),
                self.config.write_retry,
                type(exc).__name__,
            )
            return (calls, agents, abandoned, surveys, reconcile_job)
        except Exception:
            log.exception("could not write %d call(s) / %d agent(s)", len(calls), len(agents))
        if reconcile_job is not None and not self._reconcile(*reconcile_job):
            return ([], [], [], surveys, reconcile_job)
        for kind, msg in surveys:
            try:
                with self.make_session() as session:
                    if kind == "originate":
                        callback.handle_originate_response(session, msg)
                    else:
                        callback.handle_survey_event(session, msg)
            except Exception:
                log.exception("could not apply survey event %s", msg.get("UserEvent") or msg.get("Event"))
        return None

    def _reconcile(self, since: float, live: set[str], vanished: list[dict[str, Any]]) -> bool:
        """Calls that ended while we were away, from Asterisk's CDR and queue log; False when the
        database could not be reached (the reconciliation is done again later)."""
        try:
            with self.make_session() as session:
                done = reconcile.reconcile(
                    session, since=since, live=live, vanished=vanished, inbound_contexts=self.config.inbound_contexts
                )
        except OperationalError as exc:
            log.warning("could not reconcile calls from Asterisk's CDR now (%s); trying again", type(exc).__name__)
            return False
        except Exception:
            log.exception(
                "could not reconcile calls from Asterisk's CDR; closing %d unseen call(s) as abandoned", len(vanished)
            )
            with self.make_session() as session:
                service.create_callback_tasks(session, vanished)
                session.commit()
            return True
        self.stats.reconciled += done.calls
        log.info(
            "reconciled %d call(s) from Asterisk's CDR since %s (%d 漏接回拨 task(s); %d already recorded)",
            done.calls,
            reconcile.naive_utc(since).isoformat(timespec="seconds"),
            done.callbacks,
            done.skipped,
        )
        return True

    def _deliver_pop(self, pop: dict[str, Any]) -> None:
        try:
            screenpop.deliver_pop(self.make_session, pop, self.publish)
        except Exception:
            log.exception("screen pop for call %s failed", pop.get("linkedid"))


def next_backoff(cfg: BridgeConfig, backoff: float, down_for: float) -> float:
    """The wait before the next attempt: doubling, capped low while Asterisk is expected back."""
    return min(cfg.backoff_max if down_for < cfg.expect_back else cfg.backoff_max_long, backoff * 2)


def config_from_settings(target: AMITarget) -> BridgeConfig:
    tcfg = get_telephony_settings()
    return BridgeConfig(
        target=target,
        events=tcfg.events or None,
        inbound_contexts=tuple(tcfg.inbound_contexts),
        ping_interval=tcfg.ping_interval,
        ping_timeout=tcfg.ping_timeout,
        backoff_min=tcfg.backoff_min,
        backoff_max=tcfg.backoff_max,
        expect_back=tcfg.expect_back,
        backoff_max_long=tcfg.backoff_max_long,
        boot_timeout=tcfg.boot_timeout,
        reconcile_cdr=tcfg.reconcile_cdr,
        cdr_margin=tcfg.cdr_margin,
        cdr_lookback=tcfg.cdr_lookback,
    )


def run_bridge() -> None:
    """Entry point of ``hotline bridge``: run until interrupted (SIGINT/SIGTERM)."""
    import signal

    from hotline.db import get_sessionmaker
    from telephony.config import ami_target

    target = ami_target()
    if target is None:
        raise SystemExit("HOTLINE_AMI_HOST is not set: no Asterisk to bridge (the embedded demo runs its own)")
    bridge = Bridge(config_from_settings(target), get_sessionmaker())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, bridge.stop)
        await bridge.run()

    asyncio.run(main())
