"""Outbound updates: a client's appeal changed state → a signed POST to its webhook.

Each change is one row in escalation's outbox (``notification_messages``, channel ``webhook``),
written in the transaction of the change with the unique key ``wh:<client>:<timeline event>``: one
message per change, never two. The outbox delivers it (retries with backoff, ``failed`` after the
last attempt, all visible in ``GET /api/v1/escalation/notifications`` and the client's deliveries),
in order per ticket: the messages of one (client, ticket) share a ``sequence_key`` and one waits
while an earlier one is unsent. A worker that dies between the POST and marking it sent sends it
again with the same ``X-Hotline-Delivery`` id: receivers drop a delivery id they have seen.

Signature: ``X-Hotline-Signature: sha256=<hex HMAC-SHA256(key, "<X-Hotline-Timestamp>.<body>")>``
where ``key`` is the hex SHA-256 of the client's API key (what we store; the client computes it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import clients, public
from channels.models import ChannelClient, ChannelIntake
from escalation.channels import DeliveryError
from escalation.models import NotificationMessage
from escalation.notify import insert_messages
from hotline.celery_app import enqueue_after_commit
from hotline.db import utcnow
from hotline.enums import Channel
from hotline.models import Ticket, TimelineEvent

CHANNEL = "webhook"
# Timeline actions a client hears about, and the event name it gets.
EVENTS = {
    "dispatch": "dispatched",
    "accept_return": "dispatched",
    "sign": "signed",
    "reply": "replied",
    "review": "reviewed",
    "answer": "closed",
    "close": "closed",
    "reopen": "reopened",
    "reject_intake": "not_accepted",
    "transfer": "transferred",
    "merge": "merged",
}


def sign(key_hash: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key_hash.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(session: Session, ticket: Ticket, event: TimelineEvent, name: str, client_ref: str) -> dict[str, Any]:
    return {
        "event": name,
        "event_id": event.id,  # increases with every change of the ticket: the order
        "occurred_at": event.at.isoformat(),
        "client_ref": client_ref,
        "ticket": public.view(session, ticket, own=True).as_json(),
    }


def on_ticket_event(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """Hook (every timeline event): queue the webhook of the client that filed the ticket."""
    name = EVENTS.get(event.action)
    if name is None or ticket.channel == Channel.phone.value:
        return
    found = session.execute(
        select(ChannelClient.id, ChannelIntake.client_ref)
        .join(ChannelIntake, ChannelIntake.client_id == ChannelClient.id)
        .where(
            ChannelIntake.ticket_id == ticket.id,
            ChannelClient.active.is_(True),
            ChannelClient.webhook_url.is_not(None),
        )
    ).first()
    if found is None:
        return
    client_id, client_ref = found
    session.flush()  # the event's id is the message's key and the payload's order
    now = utcnow()
    body = json.dumps(payload(session, ticket, event, name, client_ref), ensure_ascii=False)
    insert_messages(
        session,
        [
            {
                "dedupe_key": f"wh:{client_id}:{event.id}",
                "record_id": None,
                "callback_id": None,
                "ticket_id": ticket.id,
                "channel": CHANNEL,
                "recipient_user_id": None,
                "address": f"client:{client_id}",
                "recipient_label": f"channel client {client_id}",
                "subject": f"ticket.{name}",
                "body": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "sequence_key": f"wh:{client_id}:{ticket.id}",
            }
        ],
    )
    from escalation.tasks import deliver

    enqueue_after_commit(session, deliver.si())


class WebhookChannel:
    """The outbox's ``webhook`` channel: POST the message body to the client's URL, signed."""

    name = CHANNEL
    in_transaction = False

    def send(self, session: Session, message: NotificationMessage) -> None:
        client = session.get(ChannelClient, int((message.address or "client:0").split(":", 1)[1]))
        if client is None or not client.active or not client.webhook_url:
            raise DeliveryError("the client is revoked or has no webhook any more")
        key = clients.signing_key(session, client)
        if key is None:
            raise DeliveryError("the client has no live key to sign with")
        body = message.body.encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "hotline-webhooks/1",
            "X-Hotline-Event": message.subject,
            "X-Hotline-Delivery": str(message.id),
            "X-Hotline-Timestamp": timestamp,
            "X-Hotline-Signature": f"sha256={sign(key, timestamp, body)}",
            "Idempotency-Key": f"hotline-webhook-{message.id}",
        }
        try:
            resp = httpx.post(client.webhook_url, content=body, headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise DeliveryError(f"webhook answered {resp.status_code}: {resp.text[:200]}")


def deliveries(session: Session, client: ChannelClient, *, status: str | None, limit: int) -> list[NotificationMessage]:
    query = select(NotificationMessage).where(
        NotificationMessage.channel == CHANNEL, NotificationMessage.address == f"client:{client.id}"
    )
    if status:
        query = query.where(NotificationMessage.status == status)
    return list(session.scalars(query.order_by(NotificationMessage.id.desc()).limit(limit)))
