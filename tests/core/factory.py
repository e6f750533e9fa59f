"""Putting a ticket into any state through the real lifecycle functions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.enums import AppealType, Channel, EmergencyService, Satisfaction, TicketStatus, Urgency
from hotline.models import Ticket, User
from tests.conftest import Org


def user(session: Session, org: Org, name: str) -> User:
    found = session.get(User, org.users[name])
    assert found is not None
    return found


def register(
    session: Session,
    org: Org,
    *,
    phone: str = "13800000001",
    confidential: bool = False,
    appeal_type: AppealType = AppealType.complaint,
    urgency: Urgency = Urgency.normal,
    title: str = "楼下烧烤店夜间噪音扰民",
    address: str = "东城区和平街道和平路88号",
) -> Ticket:
    appeal = lifecycle.NewAppeal(
        title=title,
        content="每天营业到凌晨两点，油烟和噪音严重影响休息。",
        appeal_type=appeal_type,
        channel=Channel.phone,
        phone=phone,
        contact_name="张先生",
        address=address,
        urgency=urgency,
        confidential=confidential,
        category="环境保护",
    )
    ticket = lifecycle.register_ticket(session, user(session, org, "agent"), appeal)
    session.commit()
    return ticket


def ticket_in(
    session: Session,
    org: Org,
    status: TicketStatus,
    *,
    dept: str = "zjj",
    handler: str = "zjj",
    direct: bool = False,
    **kwargs: object,
) -> Ticket:
    """A fresh ticket walked to ``status`` the way people would (``direct``: closed by 直办)."""
    t = register(session, org, **kwargs)  # type: ignore[arg-type]
    agent, dispatcher = user(session, org, "agent"), user(session, org, "dispatcher")
    callback, dept_user = user(session, org, "callback"), user(session, org, handler)
    if status == TicketStatus.registered:
        return t
    if status == TicketStatus.not_accepted:
        lifecycle.reject_intake(session, t, agent, version=t.version, reason="in_litigation")
    elif status == TicketStatus.transferred:
        lifecycle.transfer_emergency(session, t, agent, version=t.version, target=EmergencyService.police)
    elif status == TicketStatus.merged:
        other = register(session, org, phone="13900000009")
        lifecycle.merge_ticket(session, t, agent, version=t.version, into=other)
    elif status == TicketStatus.closed and direct:
        lifecycle.answer_directly(session, t, agent, version=t.version, answer="已答复")
    else:
        lifecycle.dispatch_ticket(session, t, dispatcher, version=t.version, primary_department_id=org.dept[dept])
        if status == TicketStatus.returned:
            lifecycle.return_ticket(
                session, t, dept_user, version=t.version, reason="not_our_duty", note="非本单位职责"
            )
        elif status != TicketStatus.dispatched:
            lifecycle.sign_ticket(session, t, dept_user, version=t.version)
            if status != TicketStatus.in_progress:
                lifecycle.reply_ticket(
                    session,
                    t,
                    dept_user,
                    version=t.version,
                    handling="已处理",
                    resolved=True,
                    public_answer="已处理完毕",
                )
                if status != TicketStatus.replied:
                    lifecycle.review_reply(session, t, dispatcher, version=t.version, accept=True)
                    if status != TicketStatus.awaiting_callback:
                        lifecycle.record_callback(
                            session,
                            t,
                            callback,
                            version=t.version,
                            satisfaction=Satisfaction.satisfied,
                            resolved=True,
                            method="agent",
                        )
                        if status == TicketStatus.closed:
                            lifecycle.close_ticket(session, t, callback, version=t.version)
    session.commit()
    assert t.status == status, (t.status, status)
    return t
