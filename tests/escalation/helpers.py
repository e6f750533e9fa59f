"""Helpers of the escalation tests: limits in seconds, a ticket left alone, sweeping in-process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation.config import save_overrides
from escalation.models import EscalationRecord, NotificationMessage
from hotline.enums import AppealType, Channel, LimitKind, LimitUnit, Satisfaction, TicketStatus, Urgency
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


def ticket_in(session: Session, org: Any, status: TicketStatus, *, phone: str = "13800000001", **kw: Any) -> Ticket:
    """A fresh ticket walked to ``status`` through the lifecycle (the agent gives the
    classification, so no model is loaded: hundreds of tickets stay fast)."""
    from hotline import lifecycle
    from tests.core.factory import user

    appeal = lifecycle.NewAppeal(
        title=kw.pop("title", "楼下烧烤店夜间噪音扰民"),
        content="每天营业到凌晨两点，油烟和噪音严重影响休息。",
        appeal_type=kw.pop("appeal_type", AppealType.complaint),
        channel=Channel.phone,
        phone=phone,
        contact_name="张先生",
        address="东城区和平街道和平路88号",
        urgency=kw.pop("urgency", Urgency.normal),
        category="环境保护",
        classification={},
    )
    t = lifecycle.register_ticket(session, user(session, org, "agent"), appeal)
    session.commit()
    if status == TicketStatus.registered:
        return t
    handler, dispatcher = user(session, org, "zjj"), user(session, org, "dispatcher")
    lifecycle.dispatch_ticket(session, t, dispatcher, version=None, primary_department_id=org.dept["zjj"])
    if status != TicketStatus.dispatched:
        lifecycle.sign_ticket(session, t, handler, version=None)
    if status not in (TicketStatus.dispatched, TicketStatus.in_progress):
        lifecycle.reply_ticket(
            session,
            t,
            handler,
            version=None,
            handling="已现场处理",
            resolved=True,
            public_answer="经核实，已责令商户整改，夜间不再营业。",
        )
        lifecycle.review_reply(session, t, dispatcher, version=None, accept=True)
    if status == TicketStatus.closed:
        lifecycle.record_callback(
            session,
            t,
            user(session, org, "callback"),
            version=None,
            satisfaction=Satisfaction.satisfied,
            resolved=True,
            method="agent",
        )
        lifecycle.close_ticket(session, t, user(session, org, "callback"), version=None)
    session.commit()
    return t


def bulk_dispatched(session: Session, org: Any, n: int, *, sign_in: float, reply_in: float) -> list[int]:
    """``n`` tickets dispatched to 市住建局 a moment ago, loaded in bulk as a migration or a
    restore would (no lifecycle calls): the sweep finds them through ``escalation.resync``."""
    from datetime import timedelta

    from escalation import service
    from hotline.db import utcnow
    from hotline.models import TicketAssignment

    now = utcnow()
    tickets = [
        Ticket(
            number=f"BULK-{now:%H%M%S%f}-{i:05d}",
            channel="phone",
            status="dispatched",
            title=f"批量工单{i}",
            content="批量导入",
            appeal_type="complaint",
            urgency="normal",
            primary_department_id=org.dept["zjj"],
            dispatched_at=now,
            sign_due=now + timedelta(seconds=sign_in),
            reply_due=now + timedelta(seconds=reply_in),
            return_due=now + timedelta(days=2),
            created_at=now,
            updated_at=now,
        )
        for i in range(n)
    ]
    session.add_all(tickets)
    session.flush()
    session.add_all(
        [
            TicketAssignment(
                ticket_id=t.id, department_id=org.dept["zjj"], role="primary", status="dispatched", dispatched_at=now
            )
            for t in tickets
        ]
    )
    session.commit()
    service.resync(session)
    return [t.id for t in tickets]
