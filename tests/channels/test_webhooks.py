"""Outbound webhooks through escalation's outbox: signed, one per change, in order per ticket,
retried with backoff and visible while failing."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.webhooks import sign
from escalation.channels import deliver_due
from escalation.models import NotificationMessage
from hotline import lifecycle
from hotline.db import get_sessionmaker, utcnow
from hotline.models import Ticket
from tests.channels.conftest import APPEAL, Receiver, Registered, register_client
from tests.conftest import Org, login
from tests.core.factory import user


def walk(session: Session, org: Org, ticket_id: int, *steps: str) -> None:
    """Move the ticket through the lifecycle as staff would, one committed change per step."""
    for step in steps:
        session.expire_all()
        t = session.get(Ticket, ticket_id)
        assert t is not None
        if step == "dispatch":
            who = user(session, org, "dispatcher")
            lifecycle.dispatch_ticket(session, t, who, version=t.version, primary_department_id=org.dept["zjj"])
        elif step == "sign":
            lifecycle.sign_ticket(session, t, user(session, org, "zjj"), version=t.version)
        elif step == "reply":
            lifecycle.reply_ticket(
                session,
                t,
                user(session, org, "zjj"),
                version=t.version,
                handling="已修复",
                resolved=True,
                public_answer="路灯已于今日修复。",
            )
        session.commit()


def messages(session: Session) -> list[NotificationMessage]:
    session.expire_all()
    return list(
        session.scalars(
            select(NotificationMessage).where(NotificationMessage.channel == "webhook").order_by(NotificationMessage.id)
        )
    )


def due_now(session: Session) -> None:
    """The backoff has passed (the clock moved by hand)."""
    session.execute(
        update(NotificationMessage)
        .where(NotificationMessage.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()


def filed(client: TestClient, code: str, receiver: Receiver) -> tuple[Registered, int]:
    """A client with a webhook to ``receiver`` and the id of the ticket it filed."""
    app = register_client(client, code, "app", webhook_url=receiver.url)
    return app, client.post("/api/v1/intake/appeals", headers=app.headers, json=APPEAL).json()["ticket_id"]


def test_changes_are_posted_signed_in_order_once(
    client: TestClient, pg: tuple[Session, Org], receiver: Receiver
) -> None:
    session, org = pg
    app, ticket_id = filed(client, "app-1", receiver)
    walk(session, org, ticket_id, "dispatch", "sign", "reply")
    assert [m.subject for m in messages(session)] == ["ticket.dispatched", "ticket.signed", "ticket.replied"]

    sm = get_sessionmaker()
    deliver_due(sm)
    deliver_due(sm)  # nothing twice
    assert receiver.events() == ["dispatched", "signed", "replied"]
    ids = [r["json"]["event_id"] for r in receiver.received]
    assert ids == sorted(ids)
    for r in receiver.received:
        h = r["headers"]
        expected = sign(hashlib.sha256(app.key.encode()).hexdigest(), h["X-Hotline-Timestamp"], r["body"])
        assert h["X-Hotline-Signature"] == f"sha256={expected}"
        assert h["X-Hotline-Event"] == f"ticket.{r['json']['event']}" and r["json"]["client_ref"] == "wx-0001"
        # Only what the public may see of the ticket: no phone, no name, no text of the appeal.
        assert b"13800000001" not in r["body"] and "张先生".encode() not in r["body"]
        assert APPEAL["content"].encode() not in r["body"]
    assert receiver.received[0]["json"]["ticket"]["department"] == "市住建局"
    assert receiver.received[2]["json"]["ticket"]["notes"] is None  # the reply is not public before review
    # Another key, or a body changed on the way, does not verify.
    first = receiver.received[0]
    stamp = first["headers"]["X-Hotline-Timestamp"]
    assert (
        first["headers"]["X-Hotline-Signature"]
        != f"sha256={sign(hashlib.sha256(b'hk_x').hexdigest(), stamp, first['body'])}"
    )
    tampered = first["body"].replace(b"dispatched", b"closed")
    assert (
        first["headers"]["X-Hotline-Signature"]
        != f"sha256={sign(hashlib.sha256(app.key.encode()).hexdigest(), stamp, tampered)}"
    )


def test_a_failing_endpoint_is_retried_with_backoff_and_holds_the_order(
    client: TestClient, pg: tuple[Session, Org], receiver: Receiver
) -> None:
    session, org = pg
    app, ticket_id = filed(client, "app-2", receiver)
    walk(session, org, ticket_id, "dispatch", "sign")
    receiver.fail = 2
    sm = get_sessionmaker()

    deliver_due(sm)
    first, second = messages(session)
    assert (first.status, first.attempts, second.attempts) == ("pending", 1, 0)  # the second waits its turn
    assert "500" in (first.last_error or "") and first.next_attempt_at > utcnow() + timedelta(seconds=20)
    admin = login(client, "admin")
    failing: list[dict[str, Any]] = client.get(
        f"/api/v1/channel-clients/{app.id}/deliveries", headers=admin, params={"status": "pending"}
    ).json()
    assert [(d["subject"], d["attempts"]) for d in failing] == [("ticket.signed", 0), ("ticket.dispatched", 1)]
    assert "500" in failing[1]["last_error"]
    own = client.get("/api/v1/intake/deliveries", headers=app.headers).json()
    assert [d["id"] for d in own] == [d["id"] for d in failing]

    deliver_due(sm)  # not due yet: nothing
    assert receiver.received == [] and messages(session)[0].attempts == 1
    due_now(session)
    deliver_due(sm)  # second failure, longer backoff
    first = messages(session)[0]
    assert first.attempts == 2 and first.next_attempt_at > utcnow() + timedelta(seconds=50)
    due_now(session)
    deliver_due(sm)  # succeeds, then the one waiting behind it goes at once
    assert receiver.events() == ["dispatched", "signed"]
    assert [m.status for m in messages(session)] == ["sent", "sent"]


def test_no_webhook_no_message_and_revoked_client_is_silent(
    client: TestClient, pg: tuple[Session, Org], receiver: Receiver
) -> None:
    session, org = pg
    quiet = register_client(client, "grid-1", "grid")
    loud = register_client(client, "grid-2", "grid", webhook_url=receiver.url)
    a = client.post("/api/v1/intake/appeals", headers=quiet.headers, json=APPEAL).json()["ticket_id"]
    b = client.post("/api/v1/intake/appeals", headers=loud.headers, json=APPEAL).json()["ticket_id"]
    walk(session, org, a, "dispatch")
    assert messages(session) == []
    client.post(f"/api/v1/channel-clients/{loud.id}/revoke", headers=login(client, "admin"))
    walk(session, org, b, "dispatch")
    assert messages(session) == []
    # A client registers its own webhook with its key.
    client.put("/api/v1/intake/webhook", headers=quiet.headers, json={"url": receiver.url})
    walk(session, org, a, "sign")
    deliver_due(get_sessionmaker())
    assert receiver.events() == ["signed"]
