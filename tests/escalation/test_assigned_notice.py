"""A department given a ticket (派单, 改派, 加派) is told at once: its handlers in the inbox, its
联络员 by SMS where a number is set; once per assignment, and nothing personal in the text."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.models import NotificationMessage
from hotline import lifecycle
from hotline.enums import ReturnReason
from tests.conftest import Org
from tests.core.factory import register, user
from tests.escalation.conftest import LIAISON_PHONE


def _messages(session: Session, ticket_id: int) -> list[NotificationMessage]:
    return list(
        session.scalars(
            select(NotificationMessage)
            .where(NotificationMessage.ticket_id == ticket_id, NotificationMessage.dedupe_key.like("assigned:%"))
            .order_by(NotificationMessage.id)
        )
    )


def test_dispatch_tells_the_departments_handlers_and_liaison(pg: tuple[Session, Org], liaison: None) -> None:
    session, org = pg
    t = register(session, org)
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    session.commit()
    sent = _messages(session, t.id)
    assert {(m.channel, m.recipient_user_id, m.address) for m in sent} == {
        ("inbox", org.users["zjj"], None),
        ("sms", None, "+86" + LIAISON_PHONE),
    }
    body = sent[0].body
    assert t.number in body and "市住建局" in body and "签收" in body
    assert "13800000001" not in body and "张先生" not in body
    # 退单 accepted and 改派 to 城管局: 城管局 is told; 住建局 is not told again.
    lifecycle.sign_ticket(session, t, user(session, org, "zjj"), version=t.version)
    lifecycle.return_ticket(
        session, t, user(session, org, "zjj"), version=t.version, reason=ReturnReason.not_our_duty, note="非本单位职责"
    )
    lifecycle.accept_return(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["cgj"]
    )
    session.commit()
    later = _messages(session, t.id)[len(sent) :]
    assert [(m.channel, m.recipient_user_id) for m in later] == [("inbox", org.users["cgj"])]
    # The inbox shows it once delivered (the sweep's delivery step).
    from escalation.channels import deliver_due
    from hotline.db import get_sessionmaker

    deliver_due(get_sessionmaker())
    session.expire_all()
    assert all(m.status == "sent" for m in _messages(session, t.id) if m.channel == "inbox")
