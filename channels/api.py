"""HTTP routes of the channels: admins manage clients (/api/v1/channel-clients), clients file and
follow appeals with their key (/api/v1/intake, header ``X-API-Key``)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import APIKeyHeader
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import clients, intake, public, schemas, webhooks
from channels.models import ChannelCall, ChannelClient, ChannelIntake
from hotline import attachments, lifecycle
from hotline.auth import require_roles
from hotline.bodylimit import body_limit
from hotline.deps import get_db
from hotline.enums import Role, TicketStatus
from hotline.errors import InvalidInput, NotFound, Unauthorized
from hotline.http_errors import documented
from hotline.lifecycle import STATUS_LABELS
from hotline.models import Ticket, User
from hotline.settings import get_settings

admin_router = APIRouter(prefix="/api/v1/channel-clients", tags=["channels"])
client_router = APIRouter(prefix="/api/v1/intake", tags=["channels"])
DB = Annotated[Session, Depends(get_db)]
Admin = Annotated[User, Depends(require_roles(Role.admin))]
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The channel client's key, hk_…")


def client_out(session: Session, client: ChannelClient) -> schemas.ClientOut:
    session.refresh(client)
    return schemas.ClientOut.model_validate(client)


# ---------------------------------------------------------------- admin


@admin_router.post("", response_model=schemas.IssuedKeyOut, status_code=status.HTTP_201_CREATED)
def register(body: schemas.ClientCreate, admin: Admin, session: DB) -> Any:
    """Register a client for a channel; its first key is in the answer, once."""
    client, issued = clients.register_client(
        session,
        admin,
        code=body.code,
        name=body.name,
        channel=body.channel,
        webhook_url=str(body.webhook_url) if body.webhook_url else None,
        note=body.note,
    )
    session.commit()
    assert issued is not None
    return schemas.IssuedKeyOut(client=client_out(session, client), key_id=issued.key.id, api_key=issued.raw)


@admin_router.get("", response_model=list[schemas.ClientOut])
def list_clients(admin: Admin, session: DB) -> Any:
    rows = session.scalars(select(ChannelClient).order_by(ChannelClient.id)).all()
    return [schemas.ClientOut.model_validate(c) for c in rows]


@admin_router.get("/{client_id}", response_model=schemas.ClientOut)
def get_client(client_id: int, admin: Admin, session: DB) -> Any:
    return schemas.ClientOut.model_validate(clients.get_client(session, client_id))


@admin_router.patch("/{client_id}", response_model=schemas.ClientOut)
def update_client(client_id: int, body: schemas.ClientUpdate, admin: Admin, session: DB) -> Any:
    """Rename, change the webhook (``clear_webhook`` to remove it), or the note."""
    client = clients.get_client(session, client_id)
    if body.name is not None:
        client.name = body.name
    if body.webhook_url is not None:
        client.webhook_url = str(body.webhook_url)
    if body.clear_webhook:
        client.webhook_url = None
    if body.note is not None:
        client.note = body.note
    session.commit()
    return client_out(session, client)


@admin_router.post("/{client_id}/keys/rotate", response_model=schemas.IssuedKeyOut)
def rotate(client_id: int, body: schemas.RotateIn, admin: Admin, session: DB) -> Any:
    """A new key (shown once); the keys in use stop after ``grace_seconds``."""
    client = clients.get_client(session, client_id)
    issued = clients.rotate_key(session, client, grace_seconds=body.grace_seconds)
    session.commit()
    return schemas.IssuedKeyOut(client=client_out(session, client), key_id=issued.key.id, api_key=issued.raw)


@admin_router.post("/{client_id}/keys/{key_id}/revoke", response_model=schemas.ClientOut)
def revoke_key(client_id: int, key_id: int, admin: Admin, session: DB) -> Any:
    client = clients.get_client(session, client_id)
    clients.revoke_key(session, client, key_id)
    session.commit()
    return client_out(session, client)


@admin_router.post("/{client_id}/revoke", response_model=schemas.ClientOut)
def revoke_client(client_id: int, admin: Admin, session: DB) -> Any:
    """Stop the client: all its keys refused, its webhook silent. Its tickets stay."""
    client = clients.get_client(session, client_id)
    clients.revoke_client(session, client)
    session.commit()
    return client_out(session, client)


@admin_router.get("/{client_id}/calls", response_model=list[schemas.CallOut])
def calls(client_id: int, admin: Admin, session: DB, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    """The client's latest calls (every authenticated call is recorded)."""
    clients.get_client(session, client_id)
    return session.scalars(
        select(ChannelCall).where(ChannelCall.client_id == client_id).order_by(ChannelCall.id.desc()).limit(limit)
    ).all()


@admin_router.get("/{client_id}/deliveries", response_model=list[schemas.DeliveryOut])
def admin_deliveries(
    client_id: int,
    admin: Admin,
    session: DB,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|sending|sent|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The client's webhook deliveries, newest first (failing ones with their last error)."""
    return webhooks.deliveries(session, clients.get_client(session, client_id), status=status_, limit=limit)


# ---------------------------------------------------------------- the client itself


def current_client(request: Request, session: DB, key: Annotated[str | None, Depends(api_key_header)]) -> ChannelClient:
    """The client behind ``X-API-Key`` (401 when missing, wrong, revoked or expired); the call is recorded."""
    found = clients.authenticate(session, key)
    if found is None:
        raise Unauthorized("API 密钥无效、已吊销或已过期", "X-API-Key", where="header", code="invalid_api_key")
    client, used = found
    clients.record_call(session, client, used, request.method, request.url.path)
    session.commit()
    return client


Client = Annotated[ChannelClient, Depends(current_client)]


def decode_attachments(items: list[schemas.AttachmentIn]) -> list[attachments.Upload]:
    uploads = []
    for i, item in enumerate(items):
        try:
            data = base64.b64decode(item.data_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("附件内容不是有效的 base64", field=f"attachments.{i}.data_base64") from exc
        uploads.append(attachments.Upload(item.filename, item.content_type, attachments.spool(data)))
    return uploads


def appeal_out(session: Session, result: intake.IntakeResult) -> schemas.AppealOut:
    from hotline.attachments_api import attachment_out

    ticket = result.ticket
    return schemas.AppealOut(
        ticket_id=ticket.id,
        number=ticket.number,
        client_ref=result.intake.client_ref,
        created=result.created,
        channel=ticket.channel,
        status=ticket.status,
        status_label=STATUS_LABELS[TicketStatus(ticket.status)],
        attachments=[attachment_out(a).model_dump(mode="json") for a in result.attachments],
        public=public.view(session, ticket, own=True).as_json(),
    )


@client_router.post(
    "/appeals",
    response_model=schemas.AppealOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": schemas.AppealOut, "description": "This client_ref was filed before: the same ticket."},
        **documented(401, 409, 415),
    },
)
@body_limit(lambda: get_settings().max_upload_bytes)  # attachments come inline, base64
def file_appeal(body: schemas.AppealIn, client: Client, session: DB, response: Response) -> Any:
    """File an appeal (classified and dispatched like a phone appeal). Idempotent on ``client_ref``:
    a retry answers 200 with the same ticket; the same reference with another body answers 409."""
    fingerprint = intake.request_hash(body.model_dump(mode="json"))
    appeal = lifecycle.NewAppeal(
        title=body.title,
        content=body.content,
        appeal_type=body.appeal_type,
        phone=body.phone,
        contact_name=body.contact_name,
        address=body.address,
        occurred_at=body.occurred_at,
        confidential=body.confidential,
        enterprise=body.enterprise,
    )
    req = intake.IntakeRequest(
        client_ref=body.client_ref,
        appeal=appeal,
        request_hash=fingerprint,
        uploads=decode_attachments(body.attachments),
        lat=body.lat,
        long=body.long,
    )
    result = intake.file_appeal(session, client, req)
    session.commit()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return appeal_out(session, result)


@client_router.get("/appeals/{client_ref}", response_model=schemas.AppealOut, responses=documented(401))
def appeal_status(client_ref: str, client: Client, session: DB) -> Any:
    """Where one of the client's appeals stands (what the public may see, and the ticket number)."""
    row = session.scalar(
        select(ChannelIntake).where(ChannelIntake.client_id == client.id, ChannelIntake.client_ref == client_ref)
    )
    ticket = session.get(Ticket, row.ticket_id) if row and row.ticket_id else None
    if row is None or ticket is None:
        raise NotFound("没有该编号的诉求", "client_ref", where="path")
    return appeal_out(
        session, intake.IntakeResult(ticket, row, False, attachments.ticket_attachments(session, ticket.id))
    )


@client_router.put("/webhook", response_model=schemas.ClientOut, responses=documented(401))
def set_webhook(body: schemas.WebhookIn, client: Client, session: DB) -> Any:
    """Register (or, with null, remove) the client's webhook."""
    client.webhook_url = str(body.url) if body.url else None
    session.commit()
    return client_out(session, client)


@client_router.get("/deliveries", response_model=list[schemas.DeliveryOut], responses=documented(401))
def own_deliveries(
    client: Client,
    session: DB,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|sending|sent|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The client's own webhook deliveries, newest first."""
    return webhooks.deliveries(session, client, status=status_, limit=limit)
