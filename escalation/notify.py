"""Putting messages in the outbox: one per recipient and channel, idempotent by key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from escalation.channels import email_enabled
from escalation.models import NotificationMessage
from hotline.db import utcnow
from hotline.phone import mask_phone


def insert_for(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert



@dataclass
class Recipient:
    kind: str
    name: str
    user_id: int | None = None
    phone: str | None = None
    email: str | None = None

    def ident(self) -> str:
        return f"u{self.user_id}" if self.user_id else (self.phone or self.email or self.name)

    def public(self, channels: list[str]) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "user_id": self.user_id,
            "phone": mask_phone(self.phone) if self.phone else None,
            "channels": channels,
        }



def queue_messages(
    session: Session,
    *,
    key: str,
    recipients: list[Recipient],
    channels: list[str],
    subject: str,
    body: str,
    ticket_id: int | None,
    record_id: int | None = None,
    callback_id: int | None = None,
) -> list[dict[str, Any]]:
    """Put one message per recipient and channel in the outbox (idempotent by key)."""
    told = []
    insert = insert_for(session)
    for r in recipients:
        used = []
        for channel in channels:
            if channel == "inbox" and r.user_id:
                address = None
            elif channel == "sms" and r.phone:
                address = r.phone
            elif channel == "email" and r.email and email_enabled():
                address = r.email
            else:
                continue
            session.execute(
                insert(NotificationMessage)
                .values(
                    dedupe_key=f"{key}:{channel}:{r.ident()}"[:200],
                    record_id=record_id,
                    callback_id=callback_id,
                    ticket_id=ticket_id,
                    channel=channel,
                    recipient_user_id=r.user_id if channel == "inbox" else None,
                    address=address,
                    recipient_label=f"{r.name}"[:100],
                    subject=subject[:200],
                    body=body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            used.append(channel)
        told.append(r.public(used))
    return told
