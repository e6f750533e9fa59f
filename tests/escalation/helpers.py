"""Helpers of the escalation tests: limits in seconds, a ticket left alone, sweeping in-process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.config import save_overrides
from escalation.models import EscalationRecord, NotificationMessage
from hotline.enums import LimitKind, LimitUnit
from hotline.models import Ticket, TimeLimitPolicy, TimelineEvent


def limits_in_seconds(session: Session, **seconds: int) -> None:
    """sign=2, reply=4, callback=1 ...: every row of those kinds, all types and urgencies."""
    for kind, amount in seconds.items():
        rows = session.scalars(select(TimeLimitPolicy).where(TimeLimitPolicy.kind == LimitKind(kind).value)).all()
        for row in rows:
            row.amount, row.unit = amount, LimitUnit.seconds.value
    session.commit()


def ladder_seconds(session: Session, l3: int, l4: int, l5: int, **extra: Any) -> None:
    save_overrides(
        session,
        {"ladder": {3: {"after_seconds": l3}, 4: {"after_seconds": l4}, 5: {"after_seconds": l5}}, **extra},
    )
    session.commit()


def escalations(session: Session, ticket_id: int) -> list[EscalationRecord]:
    return list(
        session.scalars(
            select(EscalationRecord)
            .where(EscalationRecord.ticket_id == ticket_id, EscalationRecord.kind == "escalation")
            .order_by(EscalationRecord.id)
        )
    )


def escalate_events(session: Session, ticket_id: int) -> list[TimelineEvent]:
    return list(
        session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.ticket_id == ticket_id, TimelineEvent.action == "escalate")
            .order_by(TimelineEvent.id)
        )
    )


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def messages(session: Session, **eq: Any) -> list[NotificationMessage]:
    query = select(NotificationMessage).order_by(NotificationMessage.id)
    for key, value in eq.items():
        query = query.where(getattr(NotificationMessage, key) == value)
    return list(session.scalars(query))


def reload(session: Session, ticket: Ticket) -> Ticket:
    session.expire_all()
    fresh = session.get(Ticket, ticket.id)
    assert fresh is not None
    return fresh


def at(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment
