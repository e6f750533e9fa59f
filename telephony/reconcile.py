"""Call records from Asterisk's own records (CDR + queue log) for calls the bridge did not hear.

A call that starts and ends while the AMI connection is down leaves no event for the bridge,
but Asterisk still writes its CDRs (``cdr_pgsql``) and queue log (realtime ``queue_log``) into
our database. After every reconnect the bridge reads the records of the calls that ended in
the window it was away and makes each one a call record and, when abandoned, one 漏接回拨 task.
A call the bridge saw to its end is left alone; a call it saw in part (its end was missed, so
``Tracker.resync`` closed it with the time it noticed) gets Asterisk's exact facts. Records and
tasks are keyed by Linkedid, so a call reconciled twice, or seen live and reconciled, is one row.

What each queue log event says (app_queue): ENTERQUEUE (url|callerid|position), RINGNOANSWER
(ringtime ms), CONNECT (holdtime|bridged uniqueid|ringtime s), COMPLETEAGENT/COMPLETECALLER
(holdtime|calltime|origposition), TRANSFER (exten|context|holdtime|calltime|origposition), ABANDON
(position|origposition|waittime), EXITWITHTIMEOUT/EXITEMPTY (position|origposition|waittime).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from telephony import service
from telephony.models import AsteriskCdr, CallRecord, QueueLog
from telephony.state import UNKNOWN, CallState, member_interface

# A channel name's unique suffix: PJSIP/8001-0000000a, Local/8001@hotline-agents-0000000b;1
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")
INBOUND_MARK = "hotline"  # CDR(userfield) our hotline-inbound context sets


@dataclass
class Reconciled:
    calls: int = 0  # records created or corrected from Asterisk's records
    callbacks: int = 0  # 漏接回拨 tasks among them
    skipped: int = 0  # calls already recorded in full (heard live, or from these records before)


def naive_utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def member_of_channel(channel: str | None) -> str | None:
    """The queue member interface of an agent channel (``PJSIP/8001-0000000a`` → ``PJSIP/8001``)."""
    if not channel:
        return None
    base = _CHANNEL_SUFFIX.sub("", channel)
    return member_interface(base) if base != channel else None


def call_from_records(
    linkedid: str, cdrs: list[AsteriskCdr], events: list[QueueLog], inbound_contexts: Iterable[str]
) -> dict[str, Any] | None:
    """The call record (a ``CallState`` snapshot) Asterisk's records imply, None if not inbound."""
    contexts = set(inbound_contexts)
    cdrs = sorted(cdrs, key=lambda c: (c.start or datetime.min, c.sequence or 0))
    callers = [c for c in cdrs if c.userfield == INBOUND_MARK or c.dcontext in contexts]
    if not callers and not any(e.event == "ENTERQUEUE" for e in events):
        return None  # a survey call, an agent's outbound call: not ours to record here
    root = next((c for c in cdrs if c.uniqueid == linkedid), cdrs[0] if cdrs else None)
    caller = callers[0] if callers else root
    call = CallState(linkedid=linkedid, inbound=True, status="ended", reconciled=True, reconciled_from="cdr")
    if root is not None and root.src not in UNKNOWN:
        call.caller_number = root.src
    if caller is not None:
        call.caller_number = call.caller_number or (caller.src if caller.src not in UNKNOWN else None)
        call.dialled_number = caller.dst or None
        call.caller_channel = caller.channel
        call.caller_uniqueid = caller.uniqueid
    starts = [c.start for c in cdrs if c.start]
    ends = [c.end for c in cdrs if c.end]
    call.started_at = _utc(min(starts)) if starts else None
    call.ended_at = _utc(max(ends)) if ends else None
    for e in sorted(events, key=lambda e: (e.time or datetime.min, e.id or 0)):
        at = _utc(e.time)
        kind = e.event or ""
        if kind == "ENTERQUEUE":
            call.queue = e.queuename or call.queue
            call.enter_queue_at = call.enter_queue_at or at
        elif kind == "RINGNOANSWER":
            call.ring_attempts += 1
            ring_ms = _int(e.data1) or 0
            if at is not None:
                first = at - timedelta(milliseconds=ring_ms)
                call.ring_at = min(call.ring_at, first) if call.ring_at else first
        elif kind == "CONNECT":
            call.ring_attempts += 1
            call.answered, call.abandoned, call.answered_at = True, False, at
            call.wait_seconds = _int(e.data1)
            call.agent_interface, call.agent_name = _agent(e, cdrs, callers)
            ring_s = _int(e.data3) or 0
            if at is not None:
                first = at - timedelta(seconds=ring_s)
                call.ring_at = min(call.ring_at, first) if call.ring_at else first
        elif kind in ("COMPLETEAGENT", "COMPLETECALLER"):
            call.hangup_by = "agent" if kind == "COMPLETEAGENT" else "caller"
            call.wait_seconds = _int(e.data1) if _int(e.data1) is not None else call.wait_seconds
            call.talk_seconds = _int(e.data2)
        elif kind == "TRANSFER":
            call.hangup_by = "transfer"
            call.transfer_target = e.data1 or call.transfer_target
            call.talk_seconds = _int(e.data4)
        elif kind in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
            call.wait_seconds = _int(e.data3)
    if not events:
        # No queue log (not configured): the caller's CDR with an agent that answered.
        answered = [c for c in callers if c.disposition == "ANSWERED" and c.dstchannel]
        if answered:
            last = answered[-1]
            call.answered, call.answered_at = True, _utc(last.start)
            call.agent_interface = member_of_channel(last.dstchannel)
            call.talk_seconds = last.billsec
    call.abandoned = not call.answered
    if call.abandoned and call.wait_seconds is None and call.enter_queue_at and call.ended_at:
        call.wait_seconds = max(0, int((call.ended_at - call.enter_queue_at).total_seconds()))
    return call.snapshot()


def _agent(connect: QueueLog, cdrs: list[AsteriskCdr], callers: list[AsteriskCdr]) -> tuple[str | None, str | None]:
    """(member interface, member name) of the agent a CONNECT names.

    app_queue logs the member's name as the agent ("Agent 8001", or the interface when the member
    has no name); the agent's channel is the CDR whose uniqueid CONNECT gives (Local members),
    else the caller's answered CDR's dstchannel (a PJSIP member has no CDR of its own).
    """
    agent = connect.agent if connect.agent and connect.agent != "NONE" else None
    if agent and "/" in agent:
        return member_interface(agent), None
    leg = next((c for c in cdrs if c.uniqueid and c.uniqueid == connect.data2), None)
    interface = member_of_channel(leg.channel) if leg is not None else None
    if interface is None:
        answered = [c for c in callers if c.disposition == "ANSWERED" and c.dstchannel]
        interface = member_of_channel(answered[-1].dstchannel) if answered else None
    return interface, agent


def reconcile(
    session: Session,
    *,
    since: float,
    live: set[str],
    vanished: list[dict[str, Any]],
    inbound_contexts: Iterable[str],
) -> Reconciled:
    """Record every inbound call that ended since ``since`` (Asterisk's clock) and is not live.

    ``vanished`` are the abandoned-looking calls the resync closed without seeing their end:
    Asterisk's records decide whether they were abandoned; without records the resync's
    judgement stands (one 漏接回拨 task each). Commits.
    """
    contexts = tuple(inbound_contexts)
    result = Reconciled()
    ended = session.scalars(
        select(AsteriskCdr.linkedid)
        .where(
            AsteriskCdr.end >= naive_utc(since),
            or_(AsteriskCdr.userfield == INBOUND_MARK, AsteriskCdr.dcontext.in_(contexts)),
        )
        .distinct()
    ).all()
    wanted = ({lid for lid in ended if lid} | {v["linkedid"] for v in vanished}) - live
    snapshots: list[dict[str, Any]] = []
    if wanted:
        complete = set(
            session.scalars(
                select(CallRecord.linkedid).where(
                    CallRecord.linkedid.in_(wanted),
                    CallRecord.status == "ended",
                    or_(CallRecord.reconciled.is_(False), CallRecord.reconciled_from == "cdr"),
                )
            )
        )
        result.skipped = len(complete)
        wanted -= complete
    if wanted:
        cdrs = session.scalars(select(AsteriskCdr).where(AsteriskCdr.linkedid.in_(wanted))).all()
        by_call: dict[str, list[AsteriskCdr]] = {}
        for cdr in cdrs:
            by_call.setdefault(cdr.linkedid or "", []).append(cdr)
        callids = {c.uniqueid for c in cdrs if c.uniqueid}
        events = session.scalars(select(QueueLog).where(QueueLog.callid.in_(callids))).all() if callids else []
        events_by_callid: dict[str, list[QueueLog]] = {}
        for event in events:
            events_by_callid.setdefault(event.callid or "", []).append(event)
        for lid, rows in by_call.items():
            own = [e for c in rows for e in events_by_callid.get(c.uniqueid or "", [])]
            snap = call_from_records(lid, rows, own, contexts)
            if snap is not None:
                snapshots.append(snap)
    found = {s["linkedid"] for s in snapshots}
    service.upsert_calls(session, snapshots)
    abandoned = [s for s in snapshots if s["abandoned"]]
    abandoned += [v for v in vanished if v["linkedid"] not in found and v["linkedid"] not in live]
    service.create_callback_tasks(session, abandoned)
    session.commit()
    result.calls, result.callbacks = len(snapshots), len(abandoned)
    return result


def heard_until(session: Session) -> float | None:
    """For a fresh bridge process: the newest moment our call records know of (Asterisk's clock)."""
    times = [
        _utc(session.scalar(select(func.max(CallRecord.ended_at)))),
        _utc(session.scalar(select(func.max(CallRecord.started_at)))),
    ]
    known = [t.timestamp() for t in times if t is not None]
    return max(known) if known else None
