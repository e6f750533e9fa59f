"""The dispatchers' queue: tickets waiting with their top three proposals and 并单 candidates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from dispatch.models import DispatchCoordination, DispatchDecision, DispatchRepeatCandidate
from hotline.enums import TicketStatus, Urgency
from hotline.models import Ticket

URGENCY_RANK = case((Ticket.urgency == Urgency.critical.value, 0), (Ticket.urgency == Urgency.urgent.value, 1), else_=2)


def queue(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Tickets waiting for a dispatcher (registered, or returned and not in coordination), urgent first,
    then oldest first,
    each with the top three proposals of its latest decision and its 并单 candidates."""
    in_coordination = select(DispatchCoordination.ticket_id).where(DispatchCoordination.status == "open")
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_([TicketStatus.registered.value, TicketStatus.returned.value]),
            Ticket.id.not_in(in_coordination),
        )
        # urgent tickets first (特急, then 紧急), then oldest first
        .order_by(URGENCY_RANK, Ticket.created_at, Ticket.id)
        .limit(limit)
    ).all()
    ids = [t.id for t in tickets]
    # the page's decisions and candidates in two queries, whatever its length
    latest = (
        select(func.max(DispatchDecision.id))
        .where(DispatchDecision.ticket_id.in_(ids))
        .group_by(DispatchDecision.ticket_id)
    )
    decisions = {
        d.ticket_id: d for d in session.scalars(select(DispatchDecision).where(DispatchDecision.id.in_(latest)))
    }
    candidates: dict[int, list[DispatchRepeatCandidate]] = {}
    for row in session.scalars(
        select(DispatchRepeatCandidate)
        .where(DispatchRepeatCandidate.ticket_id.in_(ids), DispatchRepeatCandidate.status == "flagged")
        .order_by(DispatchRepeatCandidate.score.desc())
    ):
        candidates.setdefault(row.ticket_id, []).append(row)
    items = []
    for t in tickets:
        decision = decisions.get(t.id)
        items.append(
            {
                "ticket": t,
                "decision_id": decision.id if decision else None,
                # not routed yet: the worker's round is a second away (dispatch.route_pending)
                "outcome": decision.outcome if decision else "pending",
                "reason": (decision.reason or "") if decision else "正在分析派单建议",
                "confidence": decision.confidence if decision else 0.0,
                "proposals": decision.proposals[:3] if decision else [],
                "repeat_candidates": candidates.get(t.id, []),
            }
        )
    return items
