"""Demo data of dispatch: the 示范市 catalogue and gazetteer (dispatch/data/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatch.catalogue import import_catalogue
from dispatch.models import DispatchPending, DispatchPlace, DispatchRule
from dispatch.places import load_gazetteer
from dispatch.proposals import latest_decision
from dispatch.routing import redecide
from hotline.enums import TicketStatus
from hotline.models import Ticket
from hotline.orgs import get_system_user

DATA = Path(__file__).with_name("data")
CATALOGUE_FILE = DATA / "catalogue.yaml"
GAZETTEER_FILE = DATA / "gazetteer.yaml"


def load_demo_data(session: Session, *, source: str = "seed") -> dict[str, Any]:
    """Load the shipped catalogue and gazetteer (what is missing only: an edited catalogue is kept)."""
    out: dict[str, Any] = {}
    if session.scalar(select(DispatchPlace.id).limit(1)) is None:
        out["gazetteer_names"] = load_gazetteer(session, GAZETTEER_FILE.read_text(encoding="utf-8"), source=source)
    if session.scalar(select(DispatchRule.id).limit(1)) is None:
        result = import_catalogue(
            session, get_system_user(session), CATALOGUE_FILE.read_text(encoding="utf-8"), source=source
        )
        out["dispatch_rules"] = result["created"]
    return out


def seed_demo(session: Session) -> dict[str, Any]:
    out = load_demo_data(session)
    # Tickets the core seeded before the catalogue existed get a proposal now, and wait for a
    # dispatcher as the demo means them to (the worker would otherwise 直派 them at start).
    waiting = session.scalars(
        select(Ticket).where(Ticket.status.in_([TicketStatus.registered.value, TicketStatus.returned.value]))
    ).all()
    decided = []
    for ticket in waiting:
        latest = latest_decision(session, ticket.id)
        if latest is None or latest.catalogue_version == 0:
            redecide(session, ticket, None)
            decided.append(ticket.id)
    moved_on = select(Ticket.id).where(Ticket.status != TicketStatus.registered.value)
    session.execute(
        delete(DispatchPending).where(DispatchPending.ticket_id.in_(decided) | DispatchPending.ticket_id.in_(moved_on))
    )
    session.commit()
    return out
