"""The dispatchers' queue: tickets waiting with their top three proposals and 并单 candidates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.models import (
    DispatchCoordination,
)
from dispatch.proposals import Appeal, latest_decision, propose
from dispatch.repeats import repeats_of
from hotline.enums import TicketStatus
from hotline.models import Ticket


def queue(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Tickets waiting for a dispatcher (registered, or returned and not in coordination), oldest first,
    each with the top three proposals of its latest decision and its 并单 candidates."""
    in_coordination = select(DispatchCoordination.ticket_id).where(DispatchCoordination.status == "open")
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_([TicketStatus.registered.value, TicketStatus.returned.value]),
            Ticket.id.not_in(in_coordination),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
    ).all()
    items = []
    for t in tickets:
        decision = latest_decision(session, t.id)
        if decision is None:
            proposed = propose(session, Appeal.of(t))
            proposals, outcome, reason, confidence, decision_id = (
                [p.to_dict() for p in proposed.proposals],
                "undecided",
                proposed.reason,
                proposed.confidence,
                None,
            )
        else:
            proposals, outcome, reason, confidence, decision_id = (
                decision.proposals,
                decision.outcome,
                decision.reason or "",
                decision.confidence,
                decision.id,
            )
        items.append(
            {
                "ticket": t,
                "decision_id": decision_id,
                "outcome": outcome,
                "reason": reason,
                "confidence": confidence,
                "proposals": proposals[:3],
                "repeat_candidates": [
                    r for r in repeats_of(session, t.id) if r.ticket_id == t.id and r.status == "flagged"
                ],
            }
        )
    return items
