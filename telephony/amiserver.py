"""An AMI server that speaks the protocol as recorded from Asterisk 22, for the demo and tests.

It is not a PBX: calls are the recorded scenarios (``telephony/scenarios``) replayed with
fresh ids, on a clock that may run faster than real time (``time_scale``: 0.05 plays a
20-second call in one second, while every timestamp and ``HoldTime``/``TalkTime`` still says
what the recording says). What it does answer like Asterisk (see ../shared/ami-traces 05/06):

* banner ``Asterisk Call Manager/11.0.0``; ``Login`` → ``Response: Success`` then
  ``FullyBooted`` and ``SuccessfulAuth``; a wrong secret or user → about 1 s later
  ``Response: Error / Message: Authentication failed`` and the socket is closed;
* any action before login → ``Permission denied``; unknown action and a message without
  ``Action`` → the exact errors of trace 06b plus a ``RequestBadFormat`` event;
* ``Ping`` → ``Ping: Pong`` + ``Timestamp``; ``CoreShowChannels``, ``QueueStatus`` and
  ``QueueSummary`` list responses built from the live channels and queues of the calls
  being played; ``Originate`` (async) into ``callback-survey`` plays the recorded survey
  (answered with a digit, no answer = Failure Reason 3, busy = Reason 5);
  ``Redirect``/``BlindTransfer`` end the agent leg; ``QueuePause``/``QueueAdd``/
  ``QueueRemove`` emit the events of trace 08;
* events are sent only to sessions whose ``read`` classes (and ``Events:`` mask) include
  the event's class, with a ``Timestamp:`` header when ``timestampevents`` is on.

Test controls: ``drop_clients()`` (network drop), ``refuse_connections()``,
``inject_raw()`` (malformed bytes), ``actions`` (every action received).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephony import scenarios
from telephony.protocol import Decoder, encode
from telephony.records_writer import RecordWriter

log = logging.getLogger("telephony.amiserver")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
ALL_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
# Write class an action needs (any one of them), as registered in Asterisk's sources.
ACTION_CLASSES: dict[str, frozenset[str]] = {
    "coreshowchannels": frozenset({"system", "reporting"}),
    "originate": frozenset({"originate"}),
    "redirect": frozenset({"call"}),
    "blindtransfer": frozenset({"call"}),
    "hangup": frozenset({"system", "call"}),
    "queuepause": frozenset({"agent"}),
    "queueadd": frozenset({"agent"}),
    "queueremove": frozenset({"agent"}),
    "userevent": frozenset({"user"}),
}
STATUS_TEXT = {"0": "Down", "4": "Ring", "5": "Ringing", "6": "Up"}
# Manager actions registered by modules (app_queue), unknown until Asterisk has loaded them.
LOADED_AT_BOOT = frozenset({"queuestatus", "queuesummary", "queuepause", "queueadd", "queueremove"})


def parse_classes(value: str) -> frozenset[str]:
    parts = {p.strip().lower() for p in value.split(",") if p.strip()}
    if "all" in parts:
        return ALL_CLASSES
    return frozenset(parts & ALL_CLASSES)


@dataclass
class AMIUser:
    secret: str
    read: frozenset[str] = ALL_CLASSES
    write: frozenset[str] = ALL_CLASSES


@dataclass
class SurveyBehaviour:
    """What the simulated citizen phone does when the survey calls it."""

    outcome: str = "answer"  # answer | no_answer | busy | failed
    digit: str | None = "1"  # 满意 1 / 基本满意 2 / 不满意 3
    digit2: str | None = "1"  # 已解决 1 / 未解决 2
    cause: int = 3  # Q.850 cause of a failed dial (3: no route to destination)


CAUSE_TEXT = {3: "No route to destination", 17: "User busy", 21: "Call Rejected", 34: "Circuit/channel congestion"}


def default_survey_behaviour(number: str) -> SurveyBehaviour:
    """Deterministic by number, so a demo shows every outcome: last digit 0 → no answer, 9 → busy."""
    last = number[-1:] if number else "1"
    if last == "0":
        return SurveyBehaviour("no_answer", None, None)
    if last == "9":
        return SurveyBehaviour("busy", None, None)
    d = int(last) if last.isdigit() else 1
    return SurveyBehaviour("answer", str(1 + d % 3), "1" if d % 4 else "2")


@dataclass
class Session:
    writer: asyncio.StreamWriter
    peer: str
    username: str | None = None
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    events_on: bool = True
    event_mask: frozenset[str] = ALL_CLASSES
    pings: int = 0
    closed: bool = False
    session_id: str = field(default_factory=lambda: f"0x{random.getrandbits(44):x}")

    def wants(self, cls: str) -> bool:
        return self.username is not None and self.events_on and cls in self.read and cls in self.event_mask

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)


def _normal_hangup(ch: Channel) -> dict[str, str]:
    """The Hangup event Asterisk sends for a channel cleared normally (cause 16)."""
    keys = ("Channel", "CallerIDNum", "CallerIDName", "Context", "Exten", "Uniqueid", "Linkedid")
    return {
        "Event": "Hangup",
        "Privilege": "call,all",
        **{k: ch.headers.get(k, "") for k in keys},
        "Cause": "16",
        "Cause-txt": "Normal Clearing",
    }


@dataclass
class Channel:
    headers: dict[str, str]
    created_v: float
    bridge: str = ""
    application: str = ""
    app_data: str = ""


@dataclass
class Play:
    name: str
    events: list[scenarios.RenderedEvent]
    vstart: float
    recorded_at: float = 0.0  # the recording's clock at offset 0 (its Cdr times are on it)
    linkedids: set[str] = field(default_factory=set)
    linkedid_of: dict[str, str] = field(default_factory=dict)  # Uniqueid → Linkedid
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False


class AMIServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: dict[str, AMIUser] | None = None,
        time_scale: float = 1.0,
        timestampevents: bool = True,
        login_fail_delay: float = 1.0,
        survey_behaviour: Callable[[str], SurveyBehaviour] = default_survey_behaviour,
        booted: bool = True,
        records: RecordWriter | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.users = users if users is not None else {"hotline": AMIUser("secret")}
        self.time_scale = time_scale
        self.timestampevents = timestampevents
        self.login_fail_delay = login_fail_delay
        self.survey_behaviour = survey_behaviour
        self.callee_behaviour: dict[str, SurveyBehaviour] = {}
        self.ids = scenarios.IdAllocator()
        self.sessions: list[Session] = []
        self.actions: list[tuple[str | None, dict[str, str]]] = []
        self.unknown_actions: list[str] = []  # answered "Invalid/unknown command"
        self.channels: dict[str, Channel] = {}
        self.queue_entries: dict[str, dict[str, dict[str, Any]]] = {}
        self.members: dict[str, dict[str, dict[str, str]]] = {}
        self.plays: list[Play] = []
        self.events_sent = 0
        self.refusing = False
        self.booted = booted  # False: Asterisk still loading modules (no FullyBooted, no Queue* actions)
        # Asterisk's CDR and queue log, written into our database whether or not anyone listens.
        self.records = records
        self._server: asyncio.base_events.Server | None = None
        self._v0 = time.time()
        self._w0 = time.monotonic()
        self._uptime0 = time.monotonic()
        self._setup_static_members()

    # -- clock -------------------------------------------------------------------------
    def vnow(self) -> float:
        """The server's clock: real time when time_scale is 1, faster when it is below 1."""
        return self._v0 + (time.monotonic() - self._w0) / self.time_scale

    def set_time_scale(self, time_scale: float) -> None:
        """Change the speed of the clock from now on (the clock itself does not jump)."""
        self._v0, self._w0 = self.vnow(), time.monotonic()
        self.time_scale = time_scale

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=1 << 20)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("AMI server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        for play in list(self.plays):
            if play.task:
                play.task.cancel()
        self.drop_clients()
        if self._server:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def drop_clients(self) -> None:
        """Close every client connection at once, like a network drop (no Logoff)."""
        for s in list(self.sessions):
            s.closed = True
            with contextlib.suppress(Exception):
                s.writer.transport.abort()
        self.sessions.clear()

    def refuse_connections(self, refuse: bool = True) -> None:
        """While refusing, new connections are closed at once (Asterisk down)."""
        self.refusing = refuse

    def restart(self) -> None:
        """``core restart now``: Shutdown event, every connection and call gone, booting again.

        Constructed from Asterisk's documented behaviour (the recordings have no restart):
        ``Shutdown`` (class system) goes out first; after the restart logins are accepted
        before the modules are loaded, and ``FullyBooted`` comes when they are (``finish_boot``).
        """
        self.emit({"Event": "Shutdown", "Privilege": "system,all", "Shutdown": "Cleanly", "Restart": "True"})
        for play in list(self.plays):
            play.cancelled = True
        self.drop_clients()
        self.channels.clear()
        self.queue_entries.clear()
        self.booted = False
        self._uptime0 = time.monotonic()

    def finish_boot(self) -> None:
        """All modules loaded: ``FullyBooted`` to every logged-in session that reads ``system``."""
        self.booted = True
        uptime = str(int(time.monotonic() - self._uptime0))
        self.emit(
            {
                "Event": "FullyBooted",
                "Privilege": "system,all",
                "Uptime": uptime,
                "LastReload": uptime,
                "Status": "Fully Booted",
            }
        )

    def inject_raw(self, data: bytes) -> None:
        for s in self.sessions:
            if s.username:
                s.send(data)

    # -- static configuration (queues.conf of the lab) ---------------------------------
    def _setup_static_members(self) -> None:
        for ext in ("8001", "8002", "8003"):
            self._member("hotline", f"Local/{ext}@hotline-agents/n", f"Agent {ext}", membership="static")
        self._member("hotline-sip", "PJSIP/agent9001", "SIP Agent 9001", membership="static")

    def _member(self, queue: str, interface: str, name: str, membership: str = "dynamic") -> dict[str, str]:
        q = self.members.setdefault(queue, {})
        if interface not in q:
            q[interface] = {
                "Queue": queue,
                "MemberName": name,
                "Interface": interface,
                "StateInterface": interface,
                "Membership": membership,
                "Penalty": "0",
                "CallsTaken": "0",
                "LastCall": "0",
                "LastPause": "0",
                "LoginTime": str(int(self.vnow())),
                "InCall": "0",
                "Status": "1",
                "Paused": "0",
                "PausedReason": "",
                "Ringinuse": "0",
                "Wrapuptime": "0",
            }
        return q[interface]

    # -- events ------------------------------------------------------------------------
    def emit(self, headers: dict[str, str], vtime: float | None = None) -> None:
        """Send one event to every session that may read its class, and track live state."""
        self._track(headers, vtime)
        cls = headers.get("Privilege", "system,all").split(",", 1)[0]
        targets = [s for s in self.sessions if s.wants(cls)]
        if not targets:
            return
        if self.timestampevents:
            items: list[tuple[str, str]] = []
            for k, v in headers.items():
                items.append((k, v))
                if k == "Privilege":
                    items.append(("Timestamp", f"{vtime if vtime is not None else self.vnow():.6f}"))
            data = encode(items)
        else:
            data = encode(headers)
        self.events_sent += 1
        for s in targets:
            s.send(data)

    def _track(self, h: dict[str, str], vtime: float | None) -> None:
        ev = h.get("Event")
        uid = h.get("Uniqueid", "")
        if ev == "Newchannel":
            self.channels[uid] = Channel(dict(h), vtime if vtime is not None else self.vnow())
        elif ev == "Hangup":
            self.channels.pop(uid, None)
        elif uid in self.channels and ev in ("Newexten", "Newstate", "NewCallerid", "NewConnectedLine"):
            ch = self.channels[uid]
            for key in (
                "ChannelState",
                "ChannelStateDesc",
                "CallerIDNum",
                "CallerIDName",
                "ConnectedLineNum",
                "ConnectedLineName",
                "Context",
                "Exten",
                "Priority",
            ):
                if key in h:
                    ch.headers[key] = h[key]
            if ev == "Newexten":
                ch.application = h.get("Application", "")
                ch.app_data = h.get("AppData", "")
        elif ev == "BridgeEnter" and uid in self.channels:
            self.channels[uid].bridge = h.get("BridgeUniqueid", "")
        elif ev == "BridgeLeave" and uid in self.channels:
            self.channels[uid].bridge = ""
        elif ev == "QueueCallerJoin":
            self.queue_entries.setdefault(h.get("Queue", ""), {})[uid] = {
                "headers": dict(h),
                "joined": vtime if vtime is not None else self.vnow(),
            }
        elif ev in ("QueueCallerLeave", "QueueCallerAbandon"):
            self.queue_entries.get(h.get("Queue", ""), {}).pop(uid, None)
        elif ev in ("QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause", "QueueMemberPenalty"):
            m = self._member(h.get("Queue", ""), h.get("Interface", ""), h.get("MemberName", ""))
            for key in m:
                if key in h:
                    m[key] = h[key]
        elif ev == "QueueMemberRemoved":
            self.members.get(h.get("Queue", ""), {}).pop(h.get("Interface", ""), None)
        elif ev == "AgentCalled":
            self._member(h.get("Queue", ""), h.get("Interface", ""), h.get("MemberName", ""))

    # -- scenario playback -------------------------------------------------------------
    def play(
        self,
        name: str | scenarios.Scenario,
        *,
        numbers: list[str] | None = None,
        agents: list[str] | None = None,
        values: dict[str, str] | None = None,
        replace: dict[str, str] | None = None,
        events: list[scenarios.RenderedEvent] | None = None,
        delay: float = 0.0,
    ) -> Play:
        """Start replaying a recorded scenario now (call from the server's event loop)."""
        scen = scenarios.load(name) if isinstance(name, str) else name
        rendered = (
            events
            if events is not None
            else scen.render(self.ids, numbers=numbers, agents=agents, values=values, replace=replace)
        )
        play = Play(scen.name, rendered, self.vnow() + delay, scen.recorded_at)
        for e in rendered:
            if "Linkedid" in e.headers:
                play.linkedids.add(e.headers["Linkedid"])
                if e.headers.get("Event") == "Newchannel":
                    play.linkedid_of[e.headers.get("Uniqueid", "")] = e.headers["Linkedid"]
        play.task = asyncio.get_running_loop().create_task(self._run_play(play))
        self.plays.append(play)
        return play

    async def _run_play(self, play: Play) -> None:
        loop = asyncio.get_running_loop()
        w_start = loop.time() + (play.vstart - self.vnow()) * self.time_scale
        try:
            for ev in play.events:
                due = w_start + ev.offset * self.time_scale
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if play.cancelled:
                    break
                self.emit(ev.headers, play.vstart + ev.offset)
                if self.records is not None:
                    self.records.on_event(ev.headers, play.vstart + ev.offset, play)
        finally:
            play.done.set()
            with contextlib.suppress(ValueError):
                self.plays.remove(play)

    async def generate_load(
        self,
        calls: int,
        per_second: float,
        *,
        mix: tuple[str, ...] = scenarios.INBOUND,
        agents: int = 300,
        first_agent: int = 8001,
    ) -> list[Play]:
        """Play ``calls`` inbound calls at ``per_second`` (wall clock), each with its own agents."""
        plays = []
        for i in range(calls):
            scen = scenarios.load(mix[i % len(mix)])
            base = first_agent + (i * 2) % agents
            agent_list = [str(base + k) for k in range(scen.placeholders.get("a", 0))]
            plays.append(self.play(scen, numbers=[f"1380{(i % 10_000_000):07d}"], agents=agent_list))
            if per_second > 0:
                await asyncio.sleep(1.0 / per_second)
        return plays

    # -- connections -------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = "{}:{}".format(*writer.get_extra_info("peername")[:2])
        if self.refusing:
            writer.transport.abort()
            return
        session = Session(writer, peer)
        self.sessions.append(session)
        writer.write(BANNER)
        decoder = Decoder(expect_banner=False)
        try:
            while not session.closed:
                data = await reader.read(65536)
                if not data:
                    break
                buf = data
                # Keep repeated headers (Variable:) apart: parse each block as pairs.
                for msg in decoder.feed(buf):
                    raw_pairs = _pairs_from_dict(msg)
                    await self._action(session, msg, raw_pairs)
                    if session.closed:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            session.closed = True
            with contextlib.suppress(ValueError):
                self.sessions.remove(session)
            with contextlib.suppress(Exception):
                writer.close()

    def _respond(
        self, session: Session, action_id: str | None, response: str, message: str | None = None, **extra: str
    ) -> None:
        items: list[tuple[str, str]] = [("Response", response)]
        if action_id is not None:
            items.append(("ActionID", action_id))
        if message is not None:
            items.append(("Message", message))
        items.extend(extra.items())
        session.send(encode(items))

    def _security_event(
        self, name: str, session: Session, extra: dict[str, str], severity: str = "Error", to_others: bool = False
    ) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        h = {
            "Event": name,
            "Privilege": "security,all",
            "EventTV": now,
            "Severity": severity,
            "Service": "AMI",
            "EventVersion": "1",
            **extra,
            "SessionID": session.session_id,
            "LocalAddress": f"IPV4/TCP/{self.host}/{self.port}",
            "RemoteAddress": f"IPV4/TCP/{session.peer.replace(':', '/')}",
            "SessionTV": now,
        }
        data = encode(h)
        for s in self.sessions:
            if (s is not session or not to_others) and s.wants("security"):
                s.send(data)

    async def _action(self, session: Session, msg: dict[str, str], pairs: list[tuple[str, str]]) -> None:
        action = msg.get("Action")
        aid = msg.get("ActionID")
        self.actions.append((session.username, msg))
        if not action:
            if session.username is None:
                self._respond(session, aid, "Error", "Permission denied")
                return
            self._respond(session, aid, "Error", "Missing action in request")
            self._security_event(
                "RequestBadFormat", session, {"RequestType": "Action: NONE", "AccountID": session.username}
            )
            return
        name = action.lower()
        if name == "login":
            await self._login(session, msg)
            return
        if name == "logoff":
            self._respond(session, aid, "Goodbye", "Thanks for all the fish.")
            await session.writer.drain()
            session.closed = True
            session.writer.close()
            return
        if session.username is None:
            self._respond(session, aid, "Error", "Permission denied")
            return
        handler = getattr(self, f"_do_{name}", None)
        if not self.booted and name in LOADED_AT_BOOT:
            handler = None  # app_queue has not registered its actions yet
        if handler is None:
            self.unknown_actions.append(action)
            self._respond(
                session,
                aid,
                "Error",
                f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.",
            )
            self._security_event(
                "RequestBadFormat", session, {"RequestType": f"Action: {action}", "AccountID": session.username}
            )
            return
        needed = ACTION_CLASSES.get(name)
        if needed and not (needed & session.write):
            self._respond(session, aid, "Error", "Permission denied")
            return
        await handler(session, msg, pairs)

    async def _login(self, session: Session, msg: dict[str, str]) -> None:
        aid = msg.get("ActionID")
        username = msg.get("Username", "")
        user = self.users.get(username)
        if user is None or user.secret != msg.get("Secret", ""):
            event = "InvalidAccountID" if user is None else "InvalidPassword"
            extra = {"AccountID": username}
            if user is not None:
                extra["EventVersion"] = "2"
            self._security_event(event, session, extra, to_others=True)
            await asyncio.sleep(self.login_fail_delay)
            self._respond(session, aid, "Error", "Authentication failed")
            with contextlib.suppress(Exception):
                await session.writer.drain()
            session.closed = True
            session.writer.close()
            return
        session.username = username
        session.read = user.read
        session.write = user.write
        events = msg.get("Events")
        if events is not None:
            self._set_events(session, events)
        self._respond(session, aid, "Success", "Authentication accepted")
        uptime = str(int(time.monotonic() - self._uptime0))
        if self.booted and session.wants("system"):
            session.send(
                encode(
                    {
                        "Event": "FullyBooted",
                        "Privilege": "system,all",
                        "Uptime": uptime,
                        "LastReload": uptime,
                        "Status": "Fully Booted",
                    }
                )
            )
        self._security_event(
            "SuccessfulAuth", session, {"AccountID": username, "UsingPassword": "0"}, severity="Informational"
        )

    def _set_events(self, session: Session, value: str) -> str:
        v = value.strip().lower()
        if v in ("off", "no", "false", "0", "none"):
            session.events_on = False
            return "Off"
        session.events_on = True
        session.event_mask = ALL_CLASSES if v in ("on", "yes", "true", "1", "all") else parse_classes(v)
        return "On"

    async def _do_events(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        state = self._set_events(session, msg.get("EventMask", "on"))
        self._respond(session, msg.get("ActionID"), "Success", None, Events=state)

    async def _do_ping(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        session.pings += 1
        self._respond(session, msg.get("ActionID"), "Success", None, Ping="Pong", Timestamp=f"{self.vnow():.6f}")

    async def _do_coreshowchannels(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        self._respond(session, aid, "Success", None, EventList="start", Message="Channels will follow")
        now = self.vnow()
        count = 0
        for ch in list(self.channels.values()):
            h = ch.headers
            secs = max(0, int(now - ch.created_v))
            item = {"Event": "CoreShowChannel", "ActionID": aid}
            for key in (
                "Channel",
                "ChannelState",
                "ChannelStateDesc",
                "CallerIDNum",
                "CallerIDName",
                "ConnectedLineNum",
                "ConnectedLineName",
                "Language",
                "AccountCode",
                "Context",
                "Exten",
                "Priority",
                "Uniqueid",
                "Linkedid",
            ):
                item[key] = h.get(key, "")
            item["Application"] = ch.application
            item["ApplicationData"] = ch.app_data
            item["Duration"] = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
            item["BridgeId"] = ch.bridge
            session.send(encode(item))
            count += 1
        session.send(
            encode(
                {"Event": "CoreShowChannelsComplete", "ActionID": aid, "EventList": "Complete", "ListItems": str(count)}
            )
        )

    async def _do_queuestatus(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        want_q = msg.get("Queue")
        want_m = msg.get("Member")
        self._respond(session, aid, "Success", None, EventList="start", Message="Queue status will follow")
        now = self.vnow()
        count = 0
        for queue in sorted(self.members.keys() | self.queue_entries.keys()):
            if want_q and queue != want_q:
                continue
            entries = self.queue_entries.get(queue, {})
            session.send(
                encode(
                    {
                        "Event": "QueueParams",
                        "Queue": queue,
                        "Max": "10",
                        "Strategy": "linear",
                        "Calls": str(len(entries)),
                        "Holdtime": "0",
                        "TalkTime": "0",
                        "Completed": "0",
                        "Abandoned": "0",
                        "ServiceLevel": "20",
                        "ServicelevelPerf": "100.0",
                        "ServicelevelPerf2": "100.0",
                        "Weight": "0",
                        "ActionID": aid,
                    }
                )
            )
            count += 1
            for m in self.members.get(queue, {}).values():
                if want_m and want_m not in (m["MemberName"], m["Interface"]):
                    continue
                session.send(
                    encode(
                        {
                            "Event": "QueueMember",
                            "Queue": queue,
                            "Name": m["MemberName"],
                            "Location": m["Interface"],
                            "StateInterface": m["StateInterface"],
                            "Membership": m["Membership"],
                            "Penalty": m["Penalty"],
                            "CallsTaken": m["CallsTaken"],
                            "LastCall": m["LastCall"],
                            "LastPause": m["LastPause"],
                            "LoginTime": m["LoginTime"],
                            "InCall": m["InCall"],
                            "Status": m["Status"],
                            "Paused": m["Paused"],
                            "PausedReason": m["PausedReason"],
                            "Wrapuptime": m["Wrapuptime"],
                            "ActionID": aid,
                        }
                    )
                )
                count += 1
            if want_m:
                continue
            for pos, entry in enumerate(sorted(entries.values(), key=lambda e: e["joined"]), start=1):
                h = entry["headers"]
                session.send(
                    encode(
                        {
                            "Event": "QueueEntry",
                            "Queue": queue,
                            "Position": str(pos),
                            "Channel": h.get("Channel", ""),
                            "Uniqueid": h.get("Uniqueid", ""),
                            "CallerIDNum": h.get("CallerIDNum", ""),
                            "CallerIDName": h.get("CallerIDName", ""),
                            "ConnectedLineNum": h.get("ConnectedLineNum", ""),
                            "ConnectedLineName": h.get("ConnectedLineName", ""),
                            "Wait": str(int(now - entry["joined"])),
                            "Priority": "0",
                            "ActionID": aid,
                        }
                    )
                )
                count += 1
        session.send(
            encode({"Event": "QueueStatusComplete", "ActionID": aid, "EventList": "Complete", "ListItems": str(count)})
        )

    async def _do_queuesummary(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        self._respond(session, aid, "Success", None, EventList="start", Message="Queue summary will follow")
        count = 0
        now = self.vnow()
        for queue, members in sorted(self.members.items()):
            if msg.get("Queue") and queue != msg["Queue"]:
                continue
            entries = self.queue_entries.get(queue, {})
            longest = max((int(now - e["joined"]) for e in entries.values()), default=0)
            session.send(
                encode(
                    {
                        "Event": "QueueSummary",
                        "Queue": queue,
                        "LoggedIn": str(len(members)),
                        "Available": str(sum(1 for m in members.values() if m["Status"] == "1" and m["Paused"] == "0")),
                        "Callers": str(len(entries)),
                        "HoldTime": "0",
                        "TalkTime": "0",
                        "LongestHoldTime": str(longest),
                        "ActionID": aid,
                    }
                )
            )
            count += 1
        session.send(
            encode({"Event": "QueueSummaryComplete", "ActionID": aid, "EventList": "Complete", "ListItems": str(count)})
        )

    async def _do_originate(self, session: Session, msg: dict[str, str], pairs: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        channel = msg.get("Channel")
        if not channel:
            self._respond(session, aid, "Error", "Channel not specified")
            return
        tech = channel.split("/", 1)[0]
        if tech not in ("Local", "PJSIP", "SIP", "IAX2", "DAHDI") or "/" not in channel:
            self._respond(session, aid, "Error", "Originate failed")
            return
        variables: dict[str, str] = {}
        for key, value in pairs:
            if key.lower() == "variable":
                for item in value.split(","):
                    k, _, v = item.partition("=")
                    variables[k.lstrip("_")] = v
        if str(msg.get("Async", "")).lower() not in ("true", "yes", "1"):
            # Synchronous Originate blocks until the call is answered; we only do async ones.
            self._respond(session, aid, "Error", "Originate failed")
            return
        self._respond(session, aid, "Success", "Originate successfully queued")
        context = msg.get("Context", "")
        # ChannelId/OtherChannelId become the Uniqueids of the Local channel's two halves.
        ids = {k: v for k, v in (("u0", msg.get("ChannelId")), ("u1", msg.get("OtherChannelId"))) if v}
        if context.startswith("callback-survey") or "CASE_ID" in variables:
            self._play_survey(channel, aid, variables, ids)
        else:
            number = msg.get("CallerID", "").rsplit("<", 1)[-1].rstrip(">") or "13800000001"
            self.play("01_inbound_answered", numbers=[number])

    def _play_survey(self, channel: str, action_id: str, variables: dict[str, str], ids: dict[str, str]) -> None:
        target = channel.split("/", 1)[1]
        if target.endswith("/n"):
            target = target[:-2]
        number, _, context = target.partition("@")
        behaviour = self.callee_behaviour.get(number) or self.survey_behaviour(number)
        if "SURVEY_DIGIT" in variables:
            behaviour = SurveyBehaviour("answer", variables["SURVEY_DIGIT"], variables.get("SURVEY_DIGIT2"))
        values = {"n0": number, "case": variables.get("CASE_ID", ""), "action": action_id, **ids}
        replace = {"citizen-phone": context or "citizen-phone"}
        if behaviour.outcome == "answer":
            scen = scenarios.survey_scenario(behaviour.digit)
            events = scen.render(self.ids, values=values, replace=replace)
            if variables.get("SURVEY_QUESTIONS", "2") != "1":
                events = scenarios.add_second_question(events, behaviour.digit2)
        else:
            scen = scenarios.load("04d_callback_survey_no_answer")
            events = scen.render(self.ids, values=values, replace=replace)
            if behaviour.outcome == "busy":
                events = _as_failed(events, reason=5, cause=17, disposition="BUSY")
            elif behaviour.outcome == "failed":
                events = _as_failed(events, reason=0, cause=behaviour.cause, disposition="FAILED")
        call_id = variables.get("SURVEY_CALL_ID")
        if call_id:
            for e in events:
                if e.headers.get("UserEvent", "").startswith("Survey"):
                    e.headers["SurveyCallID"] = call_id
        self.play(scen, events=events)

    def _find_channel(self, name: str) -> Channel | None:
        for ch in self.channels.values():
            if ch.headers.get("Channel") == name:
                return ch
        return None

    async def _do_redirect(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        await self._transfer(session, msg, "Redirect successful")

    async def _do_blindtransfer(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        await self._transfer(session, msg, "Transfer succeeded")

    async def _transfer(self, session: Session, msg: dict[str, str], ok: str) -> None:
        aid = msg.get("ActionID", "")
        name = msg.get("Channel", "")
        if not name:
            self._respond(session, aid, "Error", "Channel not specified")
            return
        ch = self._find_channel(name)
        if ch is None:
            self._respond(session, aid, "Error", "No such channel")
            return
        if not msg.get("Exten"):
            self._respond(
                session,
                aid,
                "Error",
                "Exten not specified" if msg.get("Action", "").lower() == "redirect" else "No extension specified",
            )
            return
        self._respond(session, aid, "Success", ok)
        linkedid = ch.headers.get("Linkedid", "")
        for play in list(self.plays):
            if linkedid in play.linkedids:
                play.cancelled = True
        asyncio.get_running_loop().create_task(self._transferred(linkedid, ch, msg))

    async def _transferred(self, linkedid: str, caller: Channel, msg: dict[str, str]) -> None:
        """After a transfer the agent legs hang up; the caller talks to 110… then hangs up."""
        context, exten = msg.get("Context", ""), msg.get("Exten", "")
        vt = self.vnow()
        base = {
            k: caller.headers.get(k, "") for k in ("Channel", "CallerIDNum", "CallerIDName", "Uniqueid", "Linkedid")
        }
        self.emit(
            {
                "Event": "BlindTransfer" if msg.get("Action", "").lower() == "blindtransfer" else "Newexten",
                "Privilege": "call,all" if msg.get("Action", "").lower() == "blindtransfer" else "dialplan,all",
                **base,
                "Context": context,
                "Exten": exten,
                "Priority": "1",
                "Extension": exten,
                "Application": "Dial",
                "AppData": f"transfer,{exten}",
            },
            vt,
        )
        for _uid, ch in list(self.channels.items()):
            if (
                ch.headers.get("Linkedid") == linkedid
                and ch is not caller
                and not ch.headers.get("Channel", "").startswith(caller.headers.get("Channel", "")[:-2])
            ):
                self.emit(
                    _normal_hangup(ch),
                    vt,
                )
        await asyncio.sleep(2.0 * self.time_scale)
        for _uid, ch in list(self.channels.items()):
            if ch.headers.get("Linkedid") == linkedid:
                self.emit(
                    _normal_hangup(ch),
                    vt + 2.0,
                )

    async def _do_queuepause(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        iface = msg.get("Interface", "")
        paused = str(msg.get("Paused", "")).lower() in ("true", "yes", "1")
        found = [
            (q, m)
            for q, ms in self.members.items()
            for i, m in ms.items()
            if i == iface and (not msg.get("Queue") or q == msg["Queue"])
        ]
        if not iface or not found:
            self._respond(session, aid, "Error", "Interface not found")
            return
        self._respond(
            session, aid, "Success", "Interface paused successfully" if paused else "Interface unpaused successfully"
        )
        for _q, m in found:
            m["Paused"] = "1" if paused else "0"
            m["PausedReason"] = msg.get("Reason", "") if paused else ""
            if paused:
                m["LastPause"] = str(int(self.vnow()))
            self.emit({"Event": "QueueMemberPause", "Privilege": "agent,all", **m})

    async def _do_queueadd(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        queue, iface = msg.get("Queue", ""), msg.get("Interface", "")
        if not queue or not iface:
            self._respond(session, aid, "Error", "'Queue' or 'Interface' not set.")
            return
        if iface in self.members.get(queue, {}):
            self._respond(session, aid, "Error", "Unable to add interface: Already there")
            return
        m = self._member(queue, iface, msg.get("MemberName", iface))
        m["Paused"] = "1" if str(msg.get("Paused", "")).lower() in ("true", "yes", "1") else "0"
        self._respond(session, aid, "Success", "Added interface to queue")
        self.emit({"Event": "QueueMemberAdded", "Privilege": "agent,all", **m})

    async def _do_queueremove(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        aid = msg.get("ActionID", "")
        m = self.members.get(msg.get("Queue", ""), {}).get(msg.get("Interface", ""))
        if m is None:
            self._respond(session, aid, "Error", "Unable to remove interface: Not there")
            return
        self._respond(session, aid, "Success", "Removed interface from queue")
        self.emit({"Event": "QueueMemberRemoved", "Privilege": "agent,all", **m})

    async def _do_userevent(self, session: Session, msg: dict[str, str], _p: list[tuple[str, str]]) -> None:
        self._respond(session, msg.get("ActionID", ""), "Success", "Event Sent")
        h = {"Event": "UserEvent", "Privilege": "user,all"}
        h.update({k: v for k, v in msg.items() if k not in ("Action", "ActionID")})
        self.emit(h)


def _pairs_from_dict(msg: dict[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in msg.items():
        for part in value.split("\n"):
            out.append((key, part))
    return out


def _as_failed(
    events: list[scenarios.RenderedEvent], *, reason: int, cause: int, disposition: str
) -> list[scenarios.RenderedEvent]:
    """Constructed: the no-answer recording (04d) as the network's immediate refusal.

    Busy is Reason 5 with cause 17; a dial that fails (the trunk refuses, no route: what
    ``PJSIP/<endpoint>/<number>`` produced) is Reason 0 with the trunk's cause on the Hangup
    of both Local halves, the OriginateResponse still before them as in the recording.
    """
    end = max(e.offset for e in events)
    out = []
    for e in events:
        h = dict(e.headers)
        if h.get("Event") == "OriginateResponse":
            h["Reason"] = str(reason)
        elif h.get("Event") == "Hangup":
            h["Cause"], h["Cause-txt"] = str(cause), CAUSE_TEXT.get(cause, "Unknown")
        elif h.get("Event") == "Cdr":
            h["Disposition"] = disposition
        off = e.offset if e.offset < end - 1.0 else 0.5 + (e.offset - end)
        out.append(scenarios.RenderedEvent(max(off, e.offset if e.offset < 0.5 else 0.5), h))
    out.sort(key=lambda e: e.offset)
    return out


class AMIServerThread:
    """Run an ``AMIServer`` in a background thread with its own event loop."""

    def __init__(self, server: AMIServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ami-server", daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> AMIServerThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the server loop and return its result (coroutines are awaited)."""

        async def runner() -> Any:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(30)

    def stop(self) -> None:
        if self.loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def main() -> None:
    """``python -m telephony.amiserver --port 5038 --every 10`` : a demo AMI server."""
    import argparse

    parser = argparse.ArgumentParser(description="AMI server replaying recorded Asterisk scenarios")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="hotline")
    parser.add_argument("--secret", default="secret")
    parser.add_argument("--every", type=float, default=10.0, help="play one inbound call every N seconds (0: none)")
    parser.add_argument("--time-scale", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def run() -> None:
        server = AMIServer(
            args.host, args.port, users={args.username: AMIUser(args.secret)}, time_scale=args.time_scale
        )
        await server.start()
        i = 0
        while True:
            if args.every > 0:
                server.play(scenarios.INBOUND[i % 3], numbers=[f"1380000{i % 10000:04d}"])
                i += 1
                await asyncio.sleep(args.every)
            else:
                await asyncio.sleep(3600)

    asyncio.run(run())


if __name__ == "__main__":
    main()
