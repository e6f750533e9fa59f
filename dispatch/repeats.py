"""并单 candidates: open tickets of the window that look like the same matter, and the decisions on them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dispatch.config import DISPATCH_ROLES, require_role, setting
from dispatch.gazetteer import Place
from dispatch.models import (
    DispatchRepeatCandidate,
)
from dispatch.places import resolve_place
from dispatch.similarity import similarity
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import OPEN_STATUSES, Role
from hotline.errors import Conflict, NotFound
from hotline.models import Ticket, User


def detect_repeats(session: Session, ticket: Ticket, place: Place | None = None) -> list[DispatchRepeatCandidate]:
    """Open tickets of the window that look like the same matter: same citizen or same place, similar text."""
    days = int(setting(session, "repeat_window_days"))
    threshold = float(setting(session, "repeat_threshold"))
    since = utcnow() - timedelta(days=days)
    place = place if place is not None else resolve_place(session, ticket.address)
    filters = []
    if ticket.citizen_id is not None:
        filters.append(Ticket.citizen_id == ticket.citizen_id)
    if ticket.category:
        filters.append(Ticket.category == ticket.category)
    if place.matched:
        filters.append(Ticket.address.contains(max(place.matched, key=len), autoescape=True))
    if not filters:
        return []
    others = session.scalars(
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.created_at >= since,
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            or_(*filters),
        )
        .order_by(Ticket.id.desc())
        .limit(300)
    ).all()
    text = f"{ticket.title}。{ticket.content}"
    found: list[DispatchRepeatCandidate] = []
    for other in others:
        sim = similarity(text, f"{other.title}。{other.content}")
        same_citizen = ticket.citizen_id is not None and other.citizen_id == ticket.citizen_id
        other_place = resolve_place(session, other.address) if other.address else Place()
        fine = place.community or place.street
        other_fine = other_place.community or other_place.street
        same_place = bool(fine) and other_fine == fine
        # Alike words about two known, different places are two matters (路灯不亮 on two streets).
        elsewhere = bool(fine) and bool(other_fine) and not same_place
        score = min(1.0, sim + (0.2 if same_citizen else 0.0) + (0.15 if same_place else 0.0))
        if sim >= 0.25 and score >= threshold and (same_citizen or same_place or (sim >= 0.6 and not elsewhere)):
            row = DispatchRepeatCandidate(
                ticket_id=ticket.id,
                candidate_id=other.id,
                score=round(score, 4),
                similarity=round(sim, 4),
                same_citizen=same_citizen,
                same_place=same_place,
                status="flagged",
                created_at=utcnow(),
            )
            session.add(row)
            found.append(row)
    session.flush()
    return found


def repeats_of(session: Session, ticket_id: int) -> list[DispatchRepeatCandidate]:
    """Candidates both ways: this ticket looks like older open ones, or newer ones look like it."""
    return list(
        session.scalars(
            select(DispatchRepeatCandidate)
            .where(
                or_(DispatchRepeatCandidate.ticket_id == ticket_id, DispatchRepeatCandidate.candidate_id == ticket_id)
            )
            .order_by(DispatchRepeatCandidate.score.desc())
        )
    )


def flagged_repeat_count(session: Session, ticket_id: int) -> int:
    """New appeals flagged (not dismissed) as the same matter as this open ticket."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(DispatchRepeatCandidate)
            .where(DispatchRepeatCandidate.candidate_id == ticket_id, DispatchRepeatCandidate.status != "dismissed")
        )
        or 0
    )


def get_repeat(session: Session, candidate_id: int) -> DispatchRepeatCandidate:
    row = session.get(DispatchRepeatCandidate, candidate_id)
    if row is None:
        raise NotFound("并单候选不存在")
    return row


def merge_repeat(session: Session, row: DispatchRepeatCandidate, actor: User, *, note: str | None = None) -> Ticket:
    """并单: the new ticket joins the open one (the core raises its repeat count and keeps all callers)."""
    if row.status != "flagged":
        raise Conflict("该并单候选已处理", code="already_decided")
    ticket = session.get(Ticket, row.ticket_id)
    into = session.get(Ticket, row.candidate_id)
    assert ticket is not None and into is not None
    lifecycle.merge_ticket(
        session, ticket, actor, version=None, into=into, note=note or f"并单（相似度 {row.score:.2f}）"
    )
    row.status = "merged"
    row.decided_by_id = actor.id
    row.decided_at = utcnow()
    session.flush()
    return into


def dismiss_repeat(session: Session, row: DispatchRepeatCandidate, actor: User) -> DispatchRepeatCandidate:
    require_role(actor, frozenset({Role.agent, *DISPATCH_ROLES}), "处理并单候选")
    if row.status != "flagged":
        raise Conflict("该并单候选已处理", code="already_decided")
    row.status = "dismissed"
    row.decided_by_id = actor.id
    row.decided_at = utcnow()
    session.flush()
    return row
