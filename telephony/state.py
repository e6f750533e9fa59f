"""Call and agent state from the AMI event stream: pure, no I/O, no database.

``Tracker.handle(msg, ts)`` folds one event into the state of its call (keyed by Asterisk's
``Linkedid``, the same on every leg of one call) and of the queue members (agents). What
changed is left for the bridge to persist: ``dirty_calls``/``dirty_agents`` hold keys of
changed states, and ``outbox`` the things to act on (screen pop, survey results).

Durations come from Asterisk's own headers (``HoldTime`` in ``AgentConnect`` and
``QueueCallerAbandon``, ``TalkTime`` in ``AgentComplete``), not from when we happened to
receive the events; times come from the ``Timestamp`` header when the server sends it
(``timestampevents = yes`` in our manager.conf) and else from the receive time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

UNKNOWN = ("", "<unknown>", "anonymous", "unknown")


def dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def interface_key(interface: str) -> str:
    """``Local/8001@hotline-agents/n`` and ``PJSIP/agent9001`` as compared across events."""
    return interface[:-2] if interface.endswith("/n") else interface


def member_interface(key: str) -> str:
    """The queue member interface Asterisk knows for a stored key (Local members end in ``/n``)."""
    return key + "/n" if key.startswith("Local/") and not key.endswith("/n") else key


def interface_extension(interface: str) -> str:
    """The agent's extension in a queue member interface: ``Local/8001@ctx/n`` → ``8001``."""
    body = interface.split("/", 1)[1] if "/" in interface else interface
    return body.split("@", 1)[0].split("/", 1)[0]


@dataclass
class CallState:
    linkedid: str
    inbound: bool = False
    status: str = "new"  # new | queued | ringing | connected | ended
    caller_number: str | None = None
    dialled_number: str | None = None
    caller_channel: str | None = None
    caller_uniqueid: str | None = None
    queue: str | None = None
    started_at: datetime | None = None
    enter_queue_at: datetime | None = None
    ring_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    agent_interface: str | None = None
    agent_name: str | None = None
    ring_attempts: int = 0
    hangup_cause: int | None = None
    hangup_cause_text: str | None = None
    hangup_by: str | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    answered: bool = False
    abandoned: bool = False
    transfer_target: str | None = None
    recording_file: str | None = None
    reconciled: bool = False
    reconciled_from: str | None = None  # resync | cdr
    channels: set[str] = field(default_factory=set)
    ringing_agents: set[str] = field(default_factory=set)

    COLUMNS = (
        "linkedid",
        "status",
        "caller_number",
        "dialled_number",
        "caller_channel",
        "caller_uniqueid",
        "queue",
        "started_at",
        "enter_queue_at",
        "ring_at",
        "answered_at",
        "ended_at",
        "agent_interface",
        "agent_name",
        "ring_attempts",
        "hangup_cause",
        "hangup_cause_text",
        "hangup_by",
        "wait_seconds",
        "talk_seconds",
        "answered",
        "abandoned",
        "transfer_target",
        "recording_file",
        "reconciled",
        "reconciled_from",
    )

    def snapshot(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}

    @classmethod
    def from_snapshot(cls, row: dict[str, Any]) -> CallState:
        state = cls(linkedid=row["linkedid"], inbound=True)
        for name in cls.COLUMNS:
            if name in row and row[name] is not None:
                setattr(state, name, row[name])
        return state


@dataclass
class AgentState:
    interface: str
    name: str = ""
    queues: set[str] = field(default_factory=set)
    logged_in: bool = True
    paused: bool = False
    pause_reason: str = ""
    device_status: int = 1
    activity: str | None = None  # ringing | on_call | None
    linkedid: str | None = None
    wrapup_seconds: int = 0
    wrapup_until: datetime | None = None
    since: datetime | None = None

    @property
    def state(self) -> str:
        if not self.logged_in:
            return "logged_out"
        if self.activity in ("ringing", "on_call"):
            return self.activity
        if self.paused:
            return "paused"
        if self.wrapup_until is not None:
            return "wrapup"
        if self.device_status == 5:
            return "unavailable"
        return "idle"

    def snapshot(self) -> dict[str, Any]:
        return {
            "interface": self.interface,
            "member_name": self.name,
            "queues": ",".join(sorted(self.queues)),
            "state": self.state,
            "paused": self.paused,
            "pause_reason": self.pause_reason or None,
            "linkedid": self.linkedid,
            "wrapup_until": self.wrapup_until,
            "state_since": self.since,
        }


class Tracker:
    def __init__(self, inbound_contexts: Iterable[str] = ("hotline-inbound", "from-trunk")) -> None:
        self.inbound_contexts = frozenset(inbound_contexts)
        self.calls: dict[str, CallState] = {}
        self.agents: dict[str, AgentState] = {}
        self.dirty_calls: set[str] = set()
        self.dirty_agents: set[str] = set()
        self.outbox: list[tuple[str, dict[str, Any]]] = []
        self.events_seen = 0
        # A failed Originate is reported with its channel's hang-up cause: held here (by the
        # ChannelId we gave the Originate) until that channel's Hangup arrives.
        self.failed_originates: dict[str, dict[str, str]] = {}
        self.recent_causes: dict[str, tuple[str, str]] = {}
        self._handlers: dict[str, Callable[[dict[str, str], float], None]] = {
            "Newchannel": self._newchannel,
            "NewCallerid": self._newcallerid,
            "Hangup": self._hangup,
            "QueueCallerJoin": self._queue_join,
            "QueueCallerLeave": self._queue_leave,
            "QueueCallerAbandon": self._queue_abandon,
            "AgentCalled": self._agent_called,
            "AgentRingNoAnswer": self._agent_rna,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "AgentDump": self._agent_rna,
            "QueueMemberStatus": self._member,
            "QueueMemberAdded": self._member,
            "QueueMemberPause": self._member,
            "QueueMemberPaused": self._member,
            "QueueMemberPenalty": self._member,
            "QueueMemberRemoved": self._member_removed,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "UserEvent": self._user_event,
            "OriginateResponse": self._originate_response,
        }

    # -- entry points ------------------------------------------------------------------
    def handle(self, msg: dict[str, str], ts: float) -> None:
        self.events_seen += 1
        handler = self._handlers.get(msg.get("Event", ""))
        if handler is not None:
            handler(msg, ts)

    def take_dirty(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
        """Snapshots of changed inbound calls and agents, and the outbox; ended calls are forgotten."""
        calls = []
        for lid in self.dirty_calls:
            call = self.calls.get(lid)
            if call is None:
                continue
            if call.inbound:
                calls.append(call.snapshot())
            if call.status == "ended":
                del self.calls[lid]
        agents = [self.agents[i].snapshot() for i in self.dirty_agents if i in self.agents]
        outbox = self.outbox
        self.dirty_calls, self.dirty_agents, self.outbox = set(), set(), []
        return calls, agents, outbox

    def restore(self, rows: Iterable[dict[str, Any]]) -> None:
        """Load calls that were still open when a previous bridge process stopped."""
        for row in rows:
            if row["linkedid"] not in self.calls:
                self.calls[row["linkedid"]] = CallState.from_snapshot(row)

    # -- calls -------------------------------------------------------------------------
    def _call(self, linkedid: str, ts: float) -> CallState:
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = CallState(linkedid=linkedid, started_at=dt(ts))
        return call

    def _newchannel(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("Linkedid", "")
        uid = m.get("Uniqueid", "")
        if not lid:
            return
        if uid == lid:
            call = self._call(lid, ts)
            if m.get("Context") in self.inbound_contexts:
                call.inbound = True
                call.dialled_number = call.dialled_number or m.get("Exten") or None
                self.dirty_calls.add(lid)
            num = m.get("CallerIDNum", "")
            if num not in UNKNOWN and call.caller_number is None:
                call.caller_number = num
        else:
            existing = self.calls.get(lid)
            if existing is None:
                return
            call = existing
        call.channels.add(uid)

    def _newcallerid(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("Linkedid", ""))
        if call is None or call.caller_number is not None:
            return
        if m.get("Uniqueid") in (call.linkedid, call.caller_uniqueid):
            num = m.get("CallerIDNum", "")
            if num not in UNKNOWN:
                call.caller_number = num

    def _hangup(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("Linkedid", ""))
        if call is None:
            return
        uid = m.get("Uniqueid", "")
        call.channels.discard(uid)
        if uid == call.caller_uniqueid or (call.caller_uniqueid is None and uid == call.linkedid):
            try:
                call.hangup_cause = int(m.get("Cause", ""))
            except ValueError:
                call.hangup_cause = None
            call.hangup_cause_text = m.get("Cause-txt") or None
        if not call.channels:
            self._end_call(call, ts)

    def _end_call(self, call: CallState, ts: float, *, reconciled: bool = False) -> None:
        if call.status == "ended":
            return
        call.status = "ended"
        call.ended_at = call.ended_at or dt(ts)
        call.reconciled = call.reconciled or reconciled
        if reconciled:
            call.reconciled_from = "resync"
        if not call.answered:
            call.abandoned = True
            if call.wait_seconds is None and call.enter_queue_at is not None:
                call.wait_seconds = max(0, int((call.ended_at - call.enter_queue_at).total_seconds()))
        elif call.talk_seconds is None and call.answered_at is not None:
            call.talk_seconds = max(0, int((call.ended_at - call.answered_at).total_seconds()))
        for iface in list(call.ringing_agents) + ([call.agent_interface] if call.agent_interface else []):
            agent = self.agents.get(interface_key(iface))
            if agent and agent.linkedid == call.linkedid and agent.activity is not None:
                agent.activity, agent.linkedid, agent.since = None, None, dt(ts)
                self.dirty_agents.add(agent.interface)
        call.ringing_agents.clear()
        self.dirty_calls.add(call.linkedid)
        if call.inbound and call.abandoned:
            # Ended by a resync, its end unseen: Asterisk's records may know better (telephony.reconcile).
            self.outbox.append(("vanished" if reconciled else "abandoned", call.snapshot()))
        if not call.inbound:
            cause = (str(call.hangup_cause) if call.hangup_cause is not None else "", call.hangup_cause_text or "")
            failed = self.failed_originates.pop(call.linkedid, None)
            if failed is not None:
                self.outbox.append(("originate", _with_cause(failed, cause)))
            else:
                self.recent_causes[call.linkedid] = cause
                while len(self.recent_causes) > 1000:  # only the last few matter (response and hang-up are ms apart)
                    del self.recent_causes[next(iter(self.recent_causes))]

    def _queue_join(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("Linkedid", "")
        call = self._call(lid, ts)
        call.inbound = True
        call.queue = m.get("Queue") or call.queue
        call.enter_queue_at = call.enter_queue_at or dt(ts)
        call.caller_channel = m.get("Channel") or call.caller_channel
        call.caller_uniqueid = m.get("Uniqueid") or call.caller_uniqueid
        if call.caller_uniqueid:
            call.channels.add(call.caller_uniqueid)
        num = m.get("CallerIDNum", "")
        if num not in UNKNOWN:
            call.caller_number = num
        if call.status in ("new",):
            call.status = "queued"
        self.dirty_calls.add(lid)

    def _queue_leave(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("Linkedid", ""))
        if call is not None and call.status in ("queued", "ringing") and not call.answered:
            call.status = "left_queue"
            self.dirty_calls.add(call.linkedid)

    def _queue_abandon(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("Linkedid", ""))
        if call is None:
            return
        call.abandoned = True
        call.wait_seconds = _int(m.get("HoldTime"), call.wait_seconds)
        self.dirty_calls.add(call.linkedid)

    def _agent_called(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("Linkedid", "")
        call = self._call(lid, ts)
        call.inbound = True
        call.queue = m.get("Queue") or call.queue
        call.ring_at = call.ring_at or dt(ts)
        call.ring_attempts += 1
        if not call.answered:
            call.status = "ringing"
        if call.caller_uniqueid is None and m.get("Uniqueid"):
            call.caller_uniqueid = m["Uniqueid"]
            call.caller_channel = m.get("Channel")
        num = m.get("CallerIDNum", "")
        if num not in UNKNOWN and call.caller_number is None:
            call.caller_number = num
        iface = m.get("Interface", "")
        call.ringing_agents.add(iface)
        agent = self._agent(iface, m.get("MemberName", ""), m.get("Queue"))
        agent.activity, agent.linkedid, agent.since = "ringing", lid, dt(ts)
        self.dirty_calls.add(lid)
        self.dirty_agents.add(agent.interface)
        self.outbox.append(
            (
                "pop",
                {
                    "interface": iface,
                    "member_name": m.get("MemberName", ""),
                    "linkedid": lid,
                    "caller_number": call.caller_number,
                    "queue": call.queue,
                    "ts": ts,
                },
            )
        )

    def _agent_rna(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("Linkedid", ""))
        iface = m.get("Interface", "")
        if call is not None:
            call.ringing_agents.discard(iface)
        agent = self.agents.get(interface_key(iface))
        if agent is not None and agent.activity == "ringing":
            agent.activity, agent.linkedid, agent.since = None, None, dt(ts)
            self.dirty_agents.add(agent.interface)

    def _agent_connect(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("Linkedid", "")
        call = self._call(lid, ts)
        call.inbound = True
        call.answered = True
        call.abandoned = False
        call.status = "connected"
        call.answered_at = dt(ts)
        call.agent_interface = m.get("Interface") or call.agent_interface
        call.agent_name = m.get("MemberName") or call.agent_name
        call.wait_seconds = _int(m.get("HoldTime"), call.wait_seconds)
        call.ringing_agents.discard(m.get("Interface", ""))
        agent = self._agent(m.get("Interface", ""), m.get("MemberName", ""), m.get("Queue"))
        agent.activity, agent.linkedid, agent.since, agent.wrapup_until = "on_call", lid, dt(ts), None
        self.dirty_calls.add(lid)
        self.dirty_agents.add(agent.interface)

    def _agent_complete(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("Linkedid", "")
        call = self.calls.get(lid)
        if call is not None:
            call.talk_seconds = _int(m.get("TalkTime"), call.talk_seconds)
            call.wait_seconds = _int(m.get("HoldTime"), call.wait_seconds)
            call.hangup_by = m.get("Reason") or call.hangup_by
            if call.hangup_by == "transfer" and call.transfer_target is None:
                call.transfer_target = m.get("TransferExten") or None
            self.dirty_calls.add(lid)
        agent = self.agents.get(interface_key(m.get("Interface", "")))
        if agent is not None:
            agent.activity, agent.linkedid, agent.since = None, None, dt(ts)
            if agent.wrapup_seconds > 0:
                agent.wrapup_until = dt(ts + agent.wrapup_seconds)
            self.dirty_agents.add(agent.interface)

    def _blind_transfer(self, m: dict[str, str], ts: float) -> None:
        lid = m.get("TransfererLinkedid") or m.get("TransfereeLinkedid") or m.get("Linkedid", "")
        call = self.calls.get(lid)
        if call is not None:
            call.transfer_target = m.get("Extension") or call.transfer_target
            self.dirty_calls.add(lid)

    def _attended_transfer(self, m: dict[str, str], ts: float) -> None:
        call = self.calls.get(m.get("OrigTransfererLinkedid", ""))
        if call is not None:
            call.transfer_target = m.get("SecondTransfererExten") or m.get("TransferTargetExten") or "attended"
            self.dirty_calls.add(call.linkedid)

    def _user_event(self, m: dict[str, str], ts: float) -> None:
        name = m.get("UserEvent", "")
        if name.startswith("Survey"):
            self.outbox.append(("survey", dict(m, _ts=str(ts))))
            return
        call = self.calls.get(m.get("Linkedid", ""))
        if call is None:
            return
        if name == "HotlineRecording":
            call.recording_file = m.get("File") or call.recording_file
        elif name == "HotlineTransfer":
            call.transfer_target = m.get("Target") or call.transfer_target
        elif name == "HotlineCallStart":
            call.dialled_number = m.get("DNIS") or call.dialled_number
            num = m.get("CallerNumber", "")
            if num not in UNKNOWN and call.caller_number is None:
                call.caller_number = num
        else:
            return
        self.dirty_calls.add(call.linkedid)

    def _originate_response(self, m: dict[str, str], ts: float) -> None:
        """Success goes out at once; a failure waits for the hang-up cause of its channel.

        Asterisk reports a failed Originate with ``Uniqueid: <unknown>`` and the reason code
        only (trace 04d); the cause ("user busy", "no route") is on the ``Hangup`` of the
        channel, which may come before or after. The channel carries the ``ChannelId`` we gave
        the Originate, which is also the response's ``ActionID``.
        """
        msg = dict(m, _ts=str(ts))
        channel_id = m.get("ActionID", "")
        if m.get("Response") == "Success" or not channel_id:
            self.outbox.append(("originate", msg))
            return
        live = self.calls.get(channel_id)
        if live is not None and live.status != "ended":
            self.failed_originates[channel_id] = msg
            return
        cause = self.recent_causes.pop(channel_id, None)
        if cause is None and live is not None:
            cause = (str(live.hangup_cause) if live.hangup_cause is not None else "", live.hangup_cause_text or "")
        self.outbox.append(("originate", _with_cause(msg, cause) if cause else msg))

    # -- agents ------------------------------------------------------------------------
    def _agent(self, interface: str, name: str, queue: str | None) -> AgentState:
        key = interface_key(interface)
        agent = self.agents.get(key)
        if agent is None:
            agent = self.agents[key] = AgentState(interface=key, name=name)
        if name:
            agent.name = name
        if queue:
            agent.queues.add(queue)
        return agent

    def _member(self, m: dict[str, str], ts: float) -> None:
        # The snapshot before the event, taken before _agent creates the member or adds its queue:
        # a member that joins idle (QueueMemberAdded) is a change to write like any other.
        known = self.agents.get(interface_key(m.get("Interface", "")))
        before = known.snapshot() if known is not None else None
        agent = self._agent(m.get("Interface", ""), m.get("MemberName", ""), m.get("Queue"))
        agent.logged_in = True
        self._apply_member_fields(
            agent, m.get("Paused"), m.get("PausedReason"), m.get("Status"), m.get("InCall"), m.get("Wrapuptime"), ts
        )
        if agent.snapshot() != before:
            agent.since = dt(ts)
            self.dirty_agents.add(agent.interface)

    def _apply_member_fields(
        self,
        agent: AgentState,
        paused: str | None,
        reason: str | None,
        status: str | None,
        in_call: str | None,
        wrapup: str | None,
        ts: float,
    ) -> None:
        if paused is not None:
            agent.paused = paused == "1"
            agent.pause_reason = (reason or "") if agent.paused else ""
        if wrapup is not None:
            agent.wrapup_seconds = _int(wrapup, 0) or 0
        if agent.wrapup_until is not None and agent.wrapup_until <= dt(ts):
            agent.wrapup_until = None
        if status is not None:
            agent.device_status = _int(status, 1) or 1
            if agent.device_status == 1 and agent.activity == "ringing":
                agent.activity, agent.linkedid = None, None
            if agent.device_status in (1, 5) and in_call == "0" and agent.activity == "on_call":
                agent.activity, agent.linkedid = None, None

    def _member_removed(self, m: dict[str, str], ts: float) -> None:
        agent = self._agent(m.get("Interface", ""), m.get("MemberName", ""), None)
        agent.queues.discard(m.get("Queue", ""))
        if not agent.queues:
            agent.logged_in = False
            agent.activity = None
        agent.since = dt(ts)
        self.dirty_agents.add(agent.interface)

    # -- resynchronisation after (re)connecting ----------------------------------------
    def resync(self, channels: list[dict[str, str]], queue_items: list[dict[str, str]], now: float) -> None:
        """Reconcile with ``CoreShowChannels`` and ``QueueStatus`` answers taken at ``now``.

        Calls we believe live but Asterisk no longer has ended while we were away: they are
        closed with ``reconciled`` set (their end time is when we noticed). Calls Asterisk has
        that we never saw are created from the channel list; agents from the member list.
        """
        by_call: dict[str, list[dict[str, str]]] = {}
        for ch in channels:
            by_call.setdefault(ch.get("Linkedid", ""), []).append(ch)
        for lid, call in list(self.calls.items()):
            if lid not in by_call:
                self._end_call(call, now, reconciled=True)
        known_agents = {a.interface for a in self.agents.values()}
        for lid, chans in by_call.items():
            if not lid:
                continue
            existing = self.calls.get(lid)
            longest = max((_duration(c.get("Duration", "")) for c in chans), default=0)
            if existing is None:
                call = self.calls[lid] = CallState(
                    linkedid=lid, started_at=dt(now - longest), reconciled=True, reconciled_from="resync"
                )
            else:
                call = existing
            call.channels = {c.get("Uniqueid", "") for c in chans}
            for c in chans:
                if c.get("Context") in self.inbound_contexts and c.get("Uniqueid") == lid:
                    call.inbound = True
                    call.dialled_number = call.dialled_number or c.get("Exten") or None
                num = c.get("CallerIDNum", "")
                if (
                    call.caller_number is None
                    and num not in UNKNOWN
                    and c.get("Uniqueid") in (lid, call.caller_uniqueid)
                ):
                    call.caller_number = num
                if c.get("Application") == "Queue":
                    call.inbound = True
                    call.caller_uniqueid = c.get("Uniqueid")
                    call.caller_channel = c.get("Channel")
                    call.queue = call.queue or c.get("ApplicationData", "").split(",", 1)[0] or None
                    if call.caller_number is None and num not in UNKNOWN:
                        call.caller_number = num
                    if c.get("BridgeId"):
                        if not call.answered:
                            call.answered, call.status = True, "connected"
                            call.reconciled, call.reconciled_from = True, "resync"
                    elif call.status in ("new", "connected"):
                        call.status = "queued"
                if c.get("Application") == "AppQueue" and call.agent_interface is None and c.get("BridgeId"):
                    base = c.get("Channel", "").rsplit("-", 1)[0]
                    for iface in known_agents:
                        if iface == base:
                            call.agent_interface = member_interface(iface)
            if call.inbound:
                self.dirty_calls.add(lid)
        seen_agents: set[str] = set()
        for item in queue_items:
            ev = item.get("Event")
            if ev == "QueueMember":
                agent = self._agent(item.get("Location", ""), item.get("Name", ""), item.get("Queue"))
                seen_agents.add(agent.interface)
                agent.logged_in = True
                self._apply_member_fields(
                    agent,
                    item.get("Paused"),
                    item.get("PausedReason"),
                    item.get("Status"),
                    item.get("InCall"),
                    item.get("Wrapuptime"),
                    now,
                )
                if agent.device_status == 6 and agent.activity is None:
                    agent.activity = "ringing"
                elif agent.device_status == 2 and item.get("InCall") == "1" and agent.activity is None:
                    agent.activity = "on_call"
                if agent.activity == "on_call":
                    for call in self.calls.values():
                        if call.agent_interface and interface_key(call.agent_interface) == agent.interface:
                            agent.linkedid = call.linkedid
                self.dirty_agents.add(agent.interface)
            elif ev == "QueueEntry":
                uid = item.get("Uniqueid", "")
                for call in self.calls.values():
                    if uid and uid == call.caller_uniqueid and call.enter_queue_at is None:
                        call.enter_queue_at = dt(now - (_int(item.get("Wait"), 0) or 0))
                        call.queue = call.queue or item.get("Queue")
                        self.dirty_calls.add(call.linkedid)
        for iface, agent in self.agents.items():
            if iface not in seen_agents and agent.logged_in:
                agent.logged_in = False
                agent.activity = None
                self.dirty_agents.add(iface)


def _with_cause(msg: dict[str, str], cause: tuple[str, str]) -> dict[str, str]:
    """The OriginateResponse with the ``Cause``/``Cause-txt`` of its channel's Hangup."""
    number, text = cause
    return {**msg, "Cause": number, "Cause-txt": text} if number else msg


def _int(value: str | None, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _duration(text: str) -> int:
    try:
        h, m, s = (int(x) for x in text.split(":"))
    except ValueError:
        return 0
    return h * 3600 + m * 60 + s
