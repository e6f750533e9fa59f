"""并单 candidates: open tickets of the window that look like the same matter, and the decisions on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dispatch.config import DISPATCH_ROLES, require_role, settings
from dispatch.gazetteer import Place
from dispatch.models import (
    DispatchRepeatCandidate,
)
from dispatch.places import gazetteer
from dispatch.similarity import profile, profile_cosine
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import OPEN_STATUSES, Role
from hotline.errors import Conflict, NotFound
from hotline.models import TICKET_SEARCH, Ticket, User

# How many of the newest open tickets of the window each link looks at (same caller, same place,
# same category): bounded, so the cost of a check does not grow with the city's backlog.
LINK_LIMITS = {"citizen": 20, "place": 60, "category": 40}


def _candidates(session: Session, ticket: Ticket, place: Place, since: datetime) -> list[Ticket]:
    """Open tickets of the window linked to ``ticket``, each link through an index: the caller
    (``citizen_id``), the place named in the address (the search document's words) and the
    category (newest first); a few dozen at most."""
    base = select(Ticket).where(
        Ticket.id != ticket.id,
        Ticket.created_at >= since,
        Ticket.status.in_([s.value for s in OPEN_STATUSES]),
    )
    newest = (Ticket.created_at.desc(), Ticket.id.desc())
    queries = []
    if ticket.citizen_id is not None:
        queries.append(
            base.where(Ticket.citizen_id == ticket.citizen_id).order_by(*newest).limit(LINK_LIMITS["citizen"])
        )
    if place.matched:
        dialect = session.get_bind().dialect.name
        found = TICKET_SEARCH.search(dialect, base, Ticket.id, Ticket.search_document, max(place.matched, key=len))
        if found is not None:
            queries.append(found[0].order_by(*newest).limit(LINK_LIMITS["place"]))
    if ticket.category:
        queries.append(base.where(Ticket.category == ticket.category).order_by(*newest).limit(LINK_LIMITS["category"]))
    seen: dict[int, Ticket] = {}
    for query in queries:
        for other in session.scalars(query):
            seen.setdefault(other.id, other)
    return list(seen.values())


@dataclass(frozen=True)
class Similar:
    """An open ticket that looks like the same matter as another (or as an appeal being typed)."""

    ticket: Ticket
    score: float
    similarity: float
    same_citizen: bool
    same_place: bool


def similar_open(session: Session, ticket: Ticket, place: Place | None = None) -> list[Similar]:
    """Open tickets of the window that look like the same matter: same citizen or same place, similar
    text. ``ticket`` may be transient (an appeal still being typed: no id yet), best first."""
    cfg = settings(session)
    threshold = float(cfg["repeat_threshold"])
    since = utcnow() - timedelta(days=int(cfg["repeat_window_days"]))
    places = gazetteer(session)
    place = place if place is not None else places.resolve(ticket.address)
    mine = profile(f"{ticket.title}。{ticket.content}")
    fine = place.community or place.street
    found: list[Similar] = []
    for other in _candidates(session, ticket, place, since):
        sim = profile_cosine(mine, profile(f"{other.title}。{other.content}"))
        same_citizen = ticket.citizen_id is not None and other.citizen_id == ticket.citizen_id
        other_place = places.resolve(other.address)
        other_fine = other_place.community or other_place.street
        same_place = bool(fine) and other_fine == fine
        # Alike words about two known, different places are two matters (路灯不亮 on two streets).
        elsewhere = bool(fine) and bool(other_fine) and not same_place
        score = min(1.0, sim + (0.2 if same_citizen else 0.0) + (0.15 if same_place else 0.0))
        if sim >= 0.25 and score >= threshold and (same_citizen or same_place or (sim >= 0.6 and not elsewhere)):
            found.append(Similar(other, round(score, 4), round(sim, 4), same_citizen, same_place))
    return sorted(found, key=lambda f: (-f.score, -f.ticket.id))


def detect_repeats(session: Session, ticket: Ticket, place: Place | None = None) -> list[DispatchRepeatCandidate]:
    """Record the 并单 candidates of a registered ticket (:func:`similar_open`)."""
    found: list[DispatchRepeatCandidate] = []
    for hit in sorted(similar_open(session, ticket, place), key=lambda f: f.ticket.id):
        row = DispatchRepeatCandidate(
            ticket_id=ticket.id,
            candidate_id=hit.ticket.id,
            score=hit.score,
            similarity=hit.similarity,
            same_citizen=hit.same_citizen,
            same_place=hit.same_place,
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
