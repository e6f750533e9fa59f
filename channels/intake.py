"""Filing an appeal from a channel: once per client reference, through the phone agents' path.

The claim is a row: ``INSERT … ON CONFLICT (client_id, client_ref) DO NOTHING RETURNING id`` is the
first write of the transaction. A second post with the same reference at the same moment waits on
that unique key until the first commits (PostgreSQL), then finds the row and answers the same
ticket; if the first rolled back, the second files it. The ticket itself is registered by
``hotline.lifecycle.register_ticket`` as the client's own user, so it is classified like an agent's,
routed by the same worker after the commit (proposals, repeats, 直派: ``dispatch.route_registered``;
no 90 s hold, which is for agents still on the call), and its timeline names the client.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.models import ChannelClient, ChannelIntake
from escalation.notify import insert_for
from hotline import attachments, lifecycle
from hotline.db import utcnow
from hotline.enums import Channel
from hotline.errors import Conflict
from hotline.models import Attachment, Ticket, User


@dataclass
class IntakeRequest:
    client_ref: str
    appeal: lifecycle.NewAppeal
    request_hash: str
    uploads: Sequence[attachments.Upload] = ()
    protocol: str = "api"
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


@dataclass
class IntakeResult:
    ticket: Ticket
    intake: ChannelIntake
    created: bool
    attachments: list[Attachment] = field(default_factory=list)


def request_hash(payload: dict[str, Any]) -> str:
    """The body's fingerprint: the same reference posted with another body is a client's bug (409)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def file_appeal(session: Session, client: ChannelClient, req: IntakeRequest) -> IntakeResult:
    """Register the appeal once per (client, reference); the caller commits."""
    now = utcnow()
    claim = (
        insert_for(session)(ChannelIntake)
        .values(
            client_id=client.id,
            client_ref=req.client_ref,
            request_hash=req.request_hash,
            token=secrets.token_hex(16),
            protocol=req.protocol,
            lat=req.lat,
            long=req.long,
            media_url=req.media_url,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["client_id", "client_ref"])
        .returning(ChannelIntake.id)
    )
    intake_id = session.execute(claim).scalar()
    if intake_id is None:
        return _existing(session, client, req)
    actor = session.get(User, client.user_id)
    assert actor is not None
    req.appeal.channel = Channel(client.channel)
    ticket = lifecycle.register_ticket(session, actor, req.appeal)
    session.execute(update(ChannelIntake).where(ChannelIntake.id == intake_id).values(ticket_id=ticket.id))
    files = attachments.add_attachments(session, ticket, actor, req.uploads, source="channel") if req.uploads else []
    intake = session.get(ChannelIntake, intake_id)
    assert intake is not None
    return IntakeResult(ticket, intake, True, files)


def _existing(session: Session, client: ChannelClient, req: IntakeRequest) -> IntakeResult:
    intake = session.scalar(
        select(ChannelIntake).where(ChannelIntake.client_id == client.id, ChannelIntake.client_ref == req.client_ref)
    )
    assert intake is not None and intake.ticket_id is not None  # committed together with its ticket
    if intake.request_hash != req.request_hash:
        raise Conflict(
            f"编号 {req.client_ref} 已用于另一条不同内容的诉求，请换用新的编号",
            "client_ref",
            code="idempotency_mismatch",
        )
    ticket = session.get(Ticket, intake.ticket_id)
    assert ticket is not None
    return IntakeResult(ticket, intake, False, attachments.ticket_attachments(session, ticket.id))


def intake_of(session: Session, ticket_id: int) -> ChannelIntake | None:
    return session.scalar(select(ChannelIntake).where(ChannelIntake.ticket_id == ticket_id))
