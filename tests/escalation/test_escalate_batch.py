"""``lifecycle.escalate_tickets``: the sweep's batched 督办 (one UPDATE for the batch)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.db import get_sessionmaker
from hotline.enums import TicketStatus
from hotline.errors import Conflict
from hotline.models import Ticket, TimelineEvent
from tests.conftest import Org
from tests.core.factory import ticket_in, user


def test_batch_raises_each_ticket_once_with_an_event_per_item(db: tuple[Session, Org]) -> None:
    session, org = db
    a = ticket_in(session, org, TicketStatus.in_progress)
    b = ticket_in(session, org, TicketStatus.dispatched)
    session.commit()
    va, vb = a.version, b.version
    items = [
        lifecycle.Escalation(a, 1, "deadline", note="一级"),
        lifecycle.Escalation(b, 2, "deadline", note="二级"),
        lifecycle.Escalation(a, 3, "deadline", note="三级"),
        lifecycle.Escalation(a, 2, "deadline", note="不降级"),
    ]
    events = lifecycle.escalate_tickets(session, items, None, flush=False)
    session.commit()
    assert [e.data["before"] for e in events] == [0, 0, 1, 3]
    assert [e.data["after"] for e in events] == [1, 2, 3, 3]
    assert all(e.id is not None and e.action == "escalate" and e.actor_name == "系统" for e in events)
    session.expire_all()
    fresh_a, fresh_b = session.get(Ticket, a.id), session.get(Ticket, b.id)
    assert fresh_a is not None and fresh_b is not None
    assert (fresh_a.escalation_level, fresh_a.version) == (3, va + 1)
    assert (fresh_b.escalation_level, fresh_b.version) == (2, vb + 1)
    notes = session.scalars(
        select(TimelineEvent.note).where(TimelineEvent.ticket_id == a.id, TimelineEvent.action == "escalate")
    ).all()
    assert sorted(n or "" for n in notes) == sorted(["一级", "三级", "不降级"])


def test_a_lost_race_is_a_conflict(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress)
    session.commit()
    first, second = get_sessionmaker()(), get_sessionmaker()()
    try:
        a, b = first.get(Ticket, t.id), second.get(Ticket, t.id)
        assert a is not None and b is not None
        lifecycle.escalate_ticket(first, a, user(first, org, "supervisor"), level=2, cause="manual", note="先")
        first.commit()
        with pytest.raises(Conflict) as info:
            lifecycle.escalate_ticket(second, b, user(second, org, "supervisor"), level=3, cause="manual", note="后")
        assert info.value.code == "stale_version"
        second.rollback()
    finally:
        first.close()
        second.close()
    session.expire_all()
    fresh = session.get(Ticket, t.id)
    assert fresh is not None and fresh.escalation_level == 2
