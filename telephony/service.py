"""Telephony rules on the database: idempotent call upserts, agent states, 漏接回拨 tasks,
call lists and the supervisors' live view. Plain functions taking a session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hotline.db import utcnow
from hotline.models import Ticket, User
from hotline.phone import normalize_phone
from telephony.models import AgentStatus, CallbackTask, CallRecord
from telephony.state import interface_extension, interface_key, member_interface

# Columns the bridge owns; a NULL in a snapshot never erases what a row already has
# (a restarted bridge knows less than the row; the API sets transfer fields).
_COALESCED = (
    "caller_number",
    "caller_e164",
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
    "agent_user_id",
    "hangup_cause",
    "hangup_cause_text",
    "hangup_by",
    "wait_seconds",
    "talk_seconds",
    "transfer_target",
    "recording_file",
    "reconciled_from",
)


def _insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def interface_candidates(interface: str) -> list[str]:
    """Values of ``users.extension`` that name this queue member (full interface or extension)."""
    key = interface_key(interface)
    return list(dict.fromkeys([interface, key, key + "/n", interface_extension(interface)]))


def users_by_interface(session: Session, interfaces: set[str]) -> dict[str, int]:
    """Map queue member interfaces to product user ids through ``users.extension``."""
    wanted: dict[str, list[str]] = {}  # a seat number ("8001") names several interfaces
    for iface in interfaces:
        for cand in interface_candidates(iface):
            wanted.setdefault(cand, []).append(iface)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.extension).where(User.extension.in_(list(wanted)))).all()
    out: dict[str, int] = {}
    for uid, ext in rows:
        for matched in wanted.get(ext or "", []):
            out.setdefault(matched, uid)
    return out


def upsert_calls(session: Session, snapshots: list[dict[str, Any]]) -> None:
    """Insert or update call records by Linkedid: running twice gives the same row.

    One ``INSERT … ON CONFLICT (linkedid) DO UPDATE`` executed for the whole batch; a NULL
    in a snapshot never erases a value the row has, and an ended call stays ended.
    """
    if not snapshots:
        return
    users = users_by_interface(session, {s["agent_interface"] for s in snapshots if s.get("agent_interface")})
    table = CallRecord.__table__
    now = utcnow()
    rows = []
    for snap in snapshots:
        row = dict(snap)
        number = row.get("caller_number")
        row["caller_e164"] = normalize_phone(number) if number else None
        row["agent_user_id"] = users.get(row.get("agent_interface") or "")
        row["updated_at"] = now
        row["created_at"] = now
        rows.append(row)
    stmt = _insert(session, table)
    excluded = stmt.excluded
    update: dict[str, Any] = {}
    for col in rows[0]:
        if col in ("linkedid", "created_at"):
            continue
        if col in _COALESCED:
            update[col] = func.coalesce(getattr(excluded, col), getattr(table.c, col))
        elif col == "status":
            update[col] = case((table.c.status == "ended", table.c.status), else_=excluded.status)
        else:
            update[col] = getattr(excluded, col)
    session.execute(stmt.on_conflict_do_update(index_elements=["linkedid"], set_=update), rows)


def upsert_agents(session: Session, snapshots: list[dict[str, Any]]) -> None:
    if not snapshots:
        return
    users = users_by_interface(session, {s["interface"] for s in snapshots})
    now = utcnow()
    rows = [dict(snap, user_id=users.get(snap["interface"]), updated_at=now) for snap in snapshots]
    stmt = _insert(session, AgentStatus.__table__)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["interface"], set_={k: getattr(stmt.excluded, k) for k in rows[0] if k != "interface"}
        ),
        rows,
    )


def create_callback_tasks(session: Session, snapshots: list[dict[str, Any]]) -> None:
    """One 漏接回拨 task per abandoned call; a replayed abandon never makes a second one."""
    table = CallbackTask.__table__
    for snap in snapshots:
        number = snap.get("caller_number")
        stmt = _insert(session, table).values(
            linkedid=snap["linkedid"],
            caller_number=number,
            caller_e164=normalize_phone(number) if number else None,
            queue=snap.get("queue"),
            called_at=snap.get("enter_queue_at") or snap.get("started_at"),
            abandoned_at=snap.get("ended_at"),
            wait_seconds=snap.get("wait_seconds"),
            status="open",
            created_at=utcnow(),
        )
        session.execute(stmt.on_conflict_do_nothing(index_elements=["linkedid"]))


def load_open_calls(session: Session) -> list[dict[str, Any]]:
    from telephony.state import CallState

    rows = session.scalars(select(CallRecord).where(CallRecord.ended_at.is_(None))).all()
    return [{c: getattr(r, c) for c in CallState.COLUMNS} for r in rows]


def prior_call_count(session: Session, phone_e164: str, exclude_linkedid: str | None = None) -> int:
    query = select(func.count()).select_from(CallRecord).where(CallRecord.caller_e164 == phone_e164)
    if exclude_linkedid:
        query = query.where(CallRecord.linkedid != exclude_linkedid)
    return session.scalar(query) or 0


# -- reading -------------------------------------------------------------------------------
def call_query(
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    agent_user_id: int | None = None,
    agent_interface: str | None = None,
    abandoned: bool | None = None,
    caller: str | None = None,
) -> Select[CallRecord]:
    query = select(CallRecord)
    if date_from is not None:
        query = query.where(CallRecord.started_at >= date_from)
    if date_to is not None:
        query = query.where(CallRecord.started_at < date_to)
    if agent_user_id is not None:
        query = query.where(CallRecord.agent_user_id == agent_user_id)
    if agent_interface:
        query = query.where(CallRecord.agent_interface.in_(interface_candidates(agent_interface)))
    if abandoned is not None:
        query = query.where(CallRecord.abandoned.is_(abandoned))
    if caller:
        e164 = normalize_phone(caller)
        query = query.where(or_(CallRecord.caller_e164 == e164, CallRecord.caller_number == caller))
    return query


def list_calls(
    session: Session,
    query: Select[CallRecord],
    *,
    page: int,
    page_size: int,
) -> tuple[list[CallRecord], int, dict[str, list[int]]]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(
            query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        ).all()
    )
    return rows, total, tickets_for_calls(session, [r.linkedid for r in rows])


def tickets_for_calls(session: Session, linkedids: list[str]) -> dict[str, list[int]]:
    """Tickets registered from these calls (``tickets.source_call_id`` holds the Linkedid)."""
    if not linkedids:
        return {}
    out: dict[str, list[int]] = {}
    for lid, tid in session.execute(
        select(Ticket.source_call_id, Ticket.id).where(Ticket.source_call_id.in_(linkedids)).order_by(Ticket.id)
    ):
        if lid is None:  # cannot happen: NULL never matches IN
            continue
        out.setdefault(lid, []).append(tid)
    return out


def live_view(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Agents and queues right now, for supervisors (from the rows the bridge keeps current)."""
    now = now or utcnow()
    agents = session.scalars(select(AgentStatus).order_by(AgentStatus.interface)).all()
    names = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_([a.user_id for a in agents if a.user_id]))
        ).all()
    )
    agent_out = []
    counts: dict[str, int] = {}
    for a in agents:
        state = a.state
        if state == "wrapup" and a.wrapup_until is not None and a.wrapup_until <= now:
            state = "idle"
        counts[state] = counts.get(state, 0) + 1
        agent_out.append(
            {
                "interface": a.interface,
                "member_name": a.member_name,
                "user_id": a.user_id,
                "user_name": names.get(a.user_id) if a.user_id else None,
                "queues": [q for q in a.queues.split(",") if q],
                "state": state,
                "paused": a.paused,
                "pause_reason": a.pause_reason,
                "linkedid": a.linkedid,
                "state_since": a.state_since,
                "state_seconds": int((now - a.state_since).total_seconds()) if a.state_since else None,
            }
        )
    waiting = session.scalars(
        select(CallRecord)
        .where(
            CallRecord.ended_at.is_(None),
            CallRecord.answered.is_(False),
            CallRecord.enter_queue_at.is_not(None),
        )
        .order_by(CallRecord.enter_queue_at)
    ).all()
    queues: dict[str, dict[str, Any]] = {}
    for c in waiting:
        q = queues.setdefault(c.queue or "", {"queue": c.queue, "waiting": 0, "longest_wait_seconds": 0, "callers": []})
        wait = int((now - c.enter_queue_at).total_seconds()) if c.enter_queue_at else 0
        q["waiting"] += 1
        q["longest_wait_seconds"] = max(q["longest_wait_seconds"], wait)
        q["callers"].append(
            {
                "linkedid": c.linkedid,
                "caller": c.caller_e164 or c.caller_number,
                "wait_seconds": wait,
                "status": c.status,
            }
        )
    in_progress = session.scalar(select(func.count()).select_from(CallRecord).where(CallRecord.ended_at.is_(None))) or 0
    return {
        "at": now,
        "agents": agent_out,
        "agent_counts": counts,
        "queues": list(queues.values()),
        "calls_in_progress": in_progress,
    }


# -- actions through AMI ---------------------------------------------------------------------
class TelephonyUnavailable(Exception):
    """No AMI configured, or Asterisk did not accept the action."""


def transfer_call(session: Session, call: CallRecord, target: str, by_user: User | None) -> CallRecord:
    """一键转接: send the live call's citizen leg to 110/119/120/122 (or a configured trunk).

    AMI ``Redirect`` of the caller's channel into the transfer context; the agent's leg is
    released by Asterisk. The target and who transferred are recorded on the call.
    """
    from telephony.client import AMIError, run_actions
    from telephony.config import ami_target, get_telephony_settings

    cfg = get_telephony_settings()
    amitarget = ami_target()
    if amitarget is None:
        raise TelephonyUnavailable("no Asterisk (AMI) configured")
    try:
        (resp,) = run_actions(
            amitarget,
            [
                (
                    "Redirect",
                    {"Channel": call.caller_channel, "Context": cfg.transfer_context, "Exten": target, "Priority": 1},
                )
            ],
        )
    except (OSError, AMIError) as exc:
        raise TelephonyUnavailable(f"AMI: {exc}") from exc
    if resp.get("Response") != "Success":
        raise TelephonyUnavailable(resp.get("Message", "Redirect failed"))
    call.transfer_target = target
    call.transferred_at = utcnow()
    call.transferred_by_id = by_user.id if by_user else None
    _record_transfer_on_tickets(session, call, target, by_user)
    session.commit()
    return call


def _record_transfer_on_tickets(session: Session, call: CallRecord, target: str, by_user: User | None) -> None:
    """A ticket registered from this call and still waiting for its route becomes 即时转办;
    any other ticket of the call gets the transfer on its timeline."""
    from hotline import lifecycle
    from hotline.enums import EmergencyService, TicketStatus

    tickets = session.scalars(select(Ticket).where(Ticket.source_call_id == call.linkedid)).all()
    emergency = {e.value for e in EmergencyService}
    for ticket in tickets:
        if by_user is not None and ticket.status == TicketStatus.registered and target in emergency:
            lifecycle.transfer_emergency(
                session, ticket, by_user, version=None, target=EmergencyService(target), note="通话一键转接"
            )
        else:
            lifecycle.add_note(
                session,
                ticket,
                by_user,
                action="call_transferred",
                note=f"通话已转接至 {target}",
                data={"linkedid": call.linkedid, "target": target},
            )


def seat_interfaces(session: Session, user: User) -> list[str]:
    """The queue member interfaces of this user's seat, as Asterisk names them.

    ``users.extension`` may be a seat number ("8001") that names several interfaces
    (``PJSIP/8001`` on our Asterisk, ``Local/8001@hotline-agents/n`` in the replays); the
    members the bridge has mapped to this user are the ones Asterisk knows now.
    """
    if user.extension and "/" in user.extension:
        return [user.extension]
    known = session.scalars(
        select(AgentStatus.interface)
        .where(AgentStatus.user_id == user.id)
        .order_by(AgentStatus.state == "logged_out", AgentStatus.interface)
    ).all()
    return [member_interface(key) for key in known]


def own_state(session: Session, user: User, now: datetime | None = None) -> dict[str, Any]:
    """The agent's own seat as the bridge last saw it (示闲/示忙/振铃/通话/话后), for their screen.

    Several member interfaces of one seat (one per queue technology) report alike; the busiest
    one speaks for the seat (on a call beats wrap-up beats ringing beats paused beats idle)."""
    now = now or utcnow()
    rows = session.scalars(select(AgentStatus).where(AgentStatus.user_id == user.id)).all()
    order = ["on_call", "wrapup", "ringing", "paused", "idle", "logged_out"]

    def state_of(a: AgentStatus) -> str:
        if a.state == "wrapup" and a.wrapup_until is not None and a.wrapup_until <= now:
            return "paused" if a.paused else "idle"
        return a.state if a.state in order else "idle"

    if not rows:
        return {
            "extension": user.extension,
            "state": "logged_out",
            "paused": False,
            "pause_reason": None,
            "linkedid": None,
            "state_since": None,
            "wrapup_until": None,
            "interfaces": [],
        }
    seat = min(rows, key=lambda a: order.index(state_of(a)))
    return {
        "extension": user.extension,
        "state": state_of(seat),
        "paused": seat.paused,
        "pause_reason": seat.pause_reason,
        "linkedid": seat.linkedid,
        "state_since": seat.state_since,
        "wrapup_until": seat.wrapup_until if state_of(seat) == "wrapup" else None,
        "interfaces": sorted(a.interface for a in rows),
    }


def call_back(session: Session, task: CallbackTask, interface: str, by_user: User) -> str:
    """漏接回拨: ring the agent's seat, then dial the citizen through the outbound trunk (AMI
    ``Originate``, async); the task stays open until the agent records how it went."""
    from telephony.callback import dial_string
    from telephony.client import AMIError, run_actions
    from telephony.config import ami_target, get_telephony_settings

    number = task.caller_e164 or normalize_phone(task.caller_number or "")
    if not number:
        raise ValueError("no number to call back")
    amitarget = ami_target()
    if amitarget is None:
        raise TelephonyUnavailable("no Asterisk (AMI) configured")
    headers: dict[str, Any] = {
        "Channel": interface,
        "Context": get_telephony_settings().outbound_context,
        "Exten": dial_string(number),
        "Priority": 1,
        "CallerID": '"12345" <12345>',
        "Async": "true",
        "Variable": [f"CALLBACK_TASK_ID={task.id}"],
    }
    try:
        (resp,) = run_actions(amitarget, [("Originate", headers)])
    except (OSError, AMIError) as exc:
        raise TelephonyUnavailable(f"AMI: {exc}") from exc
    if resp.get("Response") != "Success":
        raise TelephonyUnavailable(resp.get("Message", "Originate failed"))
    task.handled_by_id = by_user.id
    task.handled_at = utcnow()
    session.commit()
    return resp.get("Message", "")


def pause_agent(interface: str, paused: bool, reason: str | None = None, queue: str | None = None) -> str:
    """示忙/示闲 through AMI ``QueuePause``; returns Asterisk's message."""
    from telephony.client import AMIError, run_actions
    from telephony.config import ami_target

    amitarget = ami_target()
    if amitarget is None:
        raise TelephonyUnavailable("no Asterisk (AMI) configured")
    headers: dict[str, Any] = {"Interface": interface, "Paused": "true" if paused else "false"}
    if paused and reason:
        headers["Reason"] = reason
    if queue:
        headers["Queue"] = queue
    try:
        (resp,) = run_actions(amitarget, [("QueuePause", headers)])
    except (OSError, AMIError) as exc:
        raise TelephonyUnavailable(f"AMI: {exc}") from exc
    if resp.get("Response") != "Success":
        raise TelephonyUnavailable(resp.get("Message", "QueuePause failed"))
    return resp.get("Message", "")
