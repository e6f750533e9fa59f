"""An urgent ticket the system does not dispatch at once alerts the dispatchers at once (issue 18).

A 特急 or 紧急 ticket that is queued (the calibrated confidence is below the 直派 threshold, a likely
repeat, no department found) must not wait its turn: every active dispatcher gets an in-app notice
(the inbox of ``escalation``, delivered in the same transaction: an in-app message needs no
gateway), and the queue shows urgent tickets first (``dispatch.queue``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.models import DispatchDecision
from hotline.db import utcnow
from hotline.enums import Role, Urgency
from hotline.models import Ticket, User

URGENT = (Urgency.urgent.value, Urgency.critical.value)
URGENCY_WORDS = {Urgency.urgent.value: "紧急", Urgency.critical.value: "特急"}


def alert_dispatchers(session: Session, ticket: Ticket, decision: DispatchDecision) -> int:
    """Notify every active dispatcher of an urgent ticket left to them; answers the notices queued."""
    if ticket.urgency not in URGENT or decision.outcome not in ("queued", "not_routable"):
        return 0
    from escalation.notify import Recipient, insert_messages, message_rows

    dispatchers = session.scalars(
        select(User).where(User.role == Role.dispatcher.value, User.active.is_(True)).order_by(User.id)
    ).all()
    top = (decision.proposals or [{}])[0].get("primary", {}).get("name") if decision.proposals else None
    word = URGENCY_WORDS[ticket.urgency]
    subject = f"【{word}】工单 {ticket.number} 待人工派单"
    body = (
        f"{word}工单「{ticket.title}」未能自动派单（{decision.reason}）。"
        + (f"建议主办：{top}，" if top else "")
        + "请立即处理。"
    )
    now = utcnow()
    rows = message_rows(
        key=f"dispatch-urgent:{ticket.id}:{decision.id}",
        recipients=[Recipient(kind="dispatcher", name=u.display_name, user_id=u.id) for u in dispatchers],
        channels=["inbox"],
        subject=subject,
        body=body,
        ticket_id=ticket.id,
        now=now,
    )
    for row in rows:  # in-app: in the inbox as soon as the transaction commits
        row.update(status="sent", sent_at=now)
    insert_messages(session, rows)
    return len(rows)
