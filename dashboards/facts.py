"""The handling facts of a ticket, folded from its timeline events (one function for both ways).

:func:`apply_event` folds one timeline event into the ticket's cases (one
:class:`~dashboards.models.DashboardCase` per 主办 department). The ticket-event hook calls it
inside the transition's transaction (:func:`on_ticket_event`); :func:`rebuild` replays whole
timelines with it (after a bulk load, or to recompute the table), and the benchmark's data
generator calls it on the events it writes. So there is one reading of the timeline, here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dashboards.models import DashboardCase
from hotline.models import Ticket, TimelineEvent

# Timeline actions that change a case; every other action (register, escalate, notes) does not.
ACTIONS = frozenset(
    {
        "dispatch",
        "accept_return",
        "reject_return",
        "sign",
        "return",
        "reopen",
        "approve_extension",
        "reply",
        "send_back_reply",
        "accept_reply",
        "record_callback",
        "close",
        "merge",
    }
)


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _due(data: Mapping[str, Any], name: str) -> datetime | None:
    return _when((data.get("deadlines") or {}).get(name))


@dataclass(slots=True)
class Case:
    """A row of ``dashboard_cases`` as plain data (what the fold works on; see the table's doc)."""

    ticket_id: int
    department_id: int
    registered_at: datetime
    received_at: datetime
    current: bool = True
    merged: bool = False
    respond_due: datetime | None = None
    responded_on_time: bool | None = None
    sign_due: datetime | None = None
    signs_on_time: int = 0
    signs_late: int = 0
    returns: int = 0
    reply_due: datetime | None = None
    reply_on_time: bool | None = None
    replies: int = 0
    extensions: int = 0
    reopens: int = 0
    callback_due: bool = False
    satisfaction: str | None = None
    service_satisfaction: str | None = None
    callback_resolved: bool | None = None
    closed_at: datetime | None = None


COLUMNS = tuple(f.name for f in fields(Case))


def as_row(case: Case) -> dict[str, Any]:
    """A case as a plain row (bulk INSERT, COPY)."""
    return {name: getattr(case, name) for name in COLUMNS}


def new_case(ticket_id: int, department_id: int, registered_at: datetime, at: datetime) -> Case:
    """A department's first hand-over of the ticket."""
    return Case(ticket_id=ticket_id, department_id=department_id, registered_at=registered_at, received_at=at)


def _current(cases: Mapping[int, Case]) -> Case | None:
    return next((c for c in cases.values() if c.current), None)


def _hand_over(
    cases: dict[int, Case],
    ticket_id: int,
    registered_at: datetime,
    department_id: Any,
    at: datetime,
    data: Mapping[str, Any],
) -> None:
    """派单 / 改派: the department becomes the 主办 with fresh 签收 and reply occasions."""
    if not isinstance(department_id, int):
        return
    for other in cases.values():
        other.current = False
    case = cases.get(department_id)
    if case is None:
        case = cases[department_id] = new_case(ticket_id, department_id, registered_at, at)
        case.respond_due = _due(data, "sign_due")
    case.current = True
    case.sign_due = _due(data, "sign_due")
    case.reply_due = _due(data, "reply_due")
    case.reply_on_time = None


def _answered(case: Case, at: datetime) -> None:
    """The first hand-over was answered (签收 or 退单): in time or not, once."""
    if case.responded_on_time is None:
        case.responded_on_time = case.respond_due is None or at <= case.respond_due
        case.respond_due = None


def apply_event(
    cases: dict[int, Case],
    *,
    ticket_id: int,
    registered_at: datetime,
    action: str,
    at: datetime,
    data: Mapping[str, Any] | None,
) -> None:
    """Fold one timeline event into ``cases`` (department id → case), in place."""
    data = data or {}
    if action in ("dispatch", "accept_return"):
        _hand_over(cases, ticket_id, registered_at, data.get("primary_department_id"), at, data)
        return
    if action == "merge":
        for each in cases.values():
            each.merged = True
        return
    if action in ("sign", "return", "reject_return"):
        held = data.get("department_id")
        case = cases.get(held) if isinstance(held, int) else None
        if case is None or (action == "sign" and data.get("role") != "primary"):
            return
        if action == "reject_return":  # forced back: a new 签收, the original reply deadline
            case.sign_due = _due(data, "sign_due")
            return
        _answered(case, at)
        if case.sign_due is not None and at > case.sign_due:
            case.signs_late += 1  # signed late, or sent back after the 签收 limit without signing
        elif action == "sign":
            case.signs_on_time += 1
        case.sign_due = None
        if action == "return":
            case.returns += 1
        return
    current = _current(cases)
    if current is None:
        return
    case = current
    if action == "reopen":
        case.reopens += 1
        case.sign_due = _due(data, "sign_due")
        case.reply_due = _due(data, "reply_due")
        case.reply_on_time = None
        case.closed_at = None
    elif action == "approve_extension":
        case.extensions += 1
        case.reply_due = _when((data.get("after") or {}).get("reply_due"))
    elif action == "reply":
        case.replies += 1
        case.reply_on_time = bool(data.get("on_time", True))
        case.reply_due = None
    elif action == "send_back_reply":  # 补办: the same reply deadline, open again
        case.reply_on_time = None
        case.reply_due = _due(data, "reply_due")
    elif action == "accept_reply":
        case.callback_due = True
    elif action == "record_callback":
        case.satisfaction = data.get("satisfaction")
        case.service_satisfaction = data.get("service_satisfaction")
        resolved = data.get("resolved")
        case.callback_resolved = resolved if isinstance(resolved, bool) else None
    elif action == "close":
        case.closed_at = at


def fold(ticket_id: int, registered_at: datetime, events: Iterable[tuple[str, datetime, Any]]) -> list[Case]:
    """The cases of one ticket from its whole timeline ((action, at, data) in order)."""
    cases: dict[int, Case] = {}
    for action, at, data in events:
        if action in ACTIONS:
            apply_event(cases, ticket_id=ticket_id, registered_at=registered_at, action=action, at=at, data=data)
    return list(cases.values())


def on_ticket_event(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """Hook (every timeline event, same transaction): keep the ticket's cases current."""
    if event.action not in ACTIONS:
        return
    rows = {
        r.department_id: r for r in session.scalars(select(DashboardCase).where(DashboardCase.ticket_id == ticket.id))
    }
    cases = {d: Case(**{name: getattr(r, name) for name in COLUMNS}) for d, r in rows.items()}
    apply_event(
        cases,
        ticket_id=ticket.id,
        registered_at=ticket.created_at,
        action=event.action,
        at=event.at,
        data=event.data,
    )
    for department_id, case in cases.items():
        row = rows.get(department_id)
        if row is None:
            session.add(DashboardCase(**as_row(case)))
            continue
        for name in COLUMNS:
            if getattr(row, name) != getattr(case, name):
                setattr(row, name, getattr(case, name))


def rebuild(session: Session, *, batch: int = 5000) -> int:
    """Derive the whole table again from the timeline; returns the number of cases written."""
    session.execute(delete(DashboardCase))
    written = 0
    last_id = 0
    while True:
        tickets = session.execute(
            select(Ticket.id, Ticket.created_at)
            .where(Ticket.id > last_id, Ticket.dispatched_at.is_not(None))
            .order_by(Ticket.id)
            .limit(batch)
        ).all()
        if not tickets:
            break
        last_id = tickets[-1].id
        ids = [t.id for t in tickets]
        events: dict[int, list[tuple[str, datetime, Any]]] = {i: [] for i in ids}
        rows = session.execute(
            select(TimelineEvent.ticket_id, TimelineEvent.action, TimelineEvent.at, TimelineEvent.data)
            .where(TimelineEvent.ticket_id.in_(ids), TimelineEvent.action.in_(ACTIONS))
            .order_by(TimelineEvent.ticket_id, TimelineEvent.id)
        )
        for ticket_id, action, at, data in rows:
            events[ticket_id].append((action, at, data))
        rows_out = [as_row(case) for t in tickets for case in fold(t.id, t.created_at, events[t.id])]
        if rows_out:
            session.execute(insert(DashboardCase), rows_out)
        written += len(rows_out)
    return written


def backfill_if_empty(session: Session) -> int:
    """Rebuild when the table is empty but dispatched tickets exist (an upgraded installation)."""
    if session.scalar(select(DashboardCase.ticket_id).limit(1)) is not None:
        return 0
    if session.scalar(select(Ticket.id).where(Ticket.dispatched_at.is_not(None)).limit(1)) is None:
        return 0
    return rebuild(session)
