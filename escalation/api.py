"""HTTP routes of escalation under /api/v1: the supervisor board, raising and settling 督办 by
hand, the callback agents' queue, the notification outbox, the inbox, the configuration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalation import callbacks, channels, schemas, service
from escalation.config import load_config, save_overrides
from escalation.models import CallbackAttempt, NotificationMessage, SmsOutbox
from escalation.rules import Context
from hotline import access
from hotline.auth import get_current_user, require_roles
from hotline.celery_app import enqueue_after_commit
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import HOTLINE_ROLES, Role
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.models import Ticket, User
from hotline.phone import mask_phone
from hotline.schemas import MAX_OFFSET, MONTH_PATTERN

router = APIRouter(prefix="/api/v1", tags=["escalation"])
DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(get_current_user)]
Staff = Annotated[User, Depends(require_roles(*HOTLINE_ROLES))]
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]
CallbackStaff = Annotated[User, Depends(require_roles(Role.callback_agent, Role.supervisor, Role.admin))]
Admin = Annotated[User, Depends(require_roles(Role.admin))]


def _deliver_soon(session: Session) -> None:
    from escalation.tasks import deliver

    enqueue_after_commit(session, deliver)


# ---------------------------------------------------------------- 督办


@router.get("/escalation/board", response_model=schemas.BoardOut)
def board(
    user: Staff,
    session: DB,
    min_level: Annotated[int, Query(ge=1, le=5)] = 1,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """督办看板: open tickets under escalation, highest level first."""
    cfg = load_config(session)
    rows, total = service.board(session, min_level=min_level, limit=limit, offset=offset)
    now = utcnow()
    items = [
        schemas.BoardItem(
            ticket_id=t.id,
            number=t.number,
            title=t.title,
            status=t.status,
            escalation_level=t.escalation_level,
            level_name=cfg.level_name(t.escalation_level),
            department_id=t.primary_department_id,
            department_name=dept_name,
            reply_due=t.reply_due,
            overdue=bool(t.reply_due and t.reply_due < now and t.status in ("dispatched", "in_progress")),
            last_escalation=schemas.RecordOut.model_validate(rec) if rec is not None else None,
        )
        for t, dept_name, rec in rows
    ]
    return schemas.BoardOut(items=items, total=total)


@router.get("/escalation/tickets/{ticket_id}/records", response_model=list[schemas.RecordOut])
def ticket_records(ticket_id: int, user: CurrentUser, session: DB) -> Any:
    """Every reminder and escalation of a ticket, with trigger, level and who was told."""
    ticket = access.get_visible_ticket(session, user, ticket_id)
    return service.records_of(session, ticket.id)


@router.post("/escalation/tickets/{ticket_id}/raise", response_model=schemas.RecordOut, status_code=201)
def raise_level(ticket_id: int, body: schemas.RaiseIn, user: Supervisor, session: DB) -> Any:
    """人工督办: raise the ticket to a level, with a reason; the level's people are told."""
    ticket = access.get_visible_ticket(session, user, ticket_id)
    record = service.raise_level(session, ticket, user, level=body.level, reason=body.reason)
    _deliver_soon(session)
    session.commit()
    return record


@router.post("/escalation/tickets/{ticket_id}/settle", response_model=schemas.RecordOut)
def settle(ticket_id: int, body: schemas.SettleIn, user: Supervisor, session: DB) -> Any:
    """Set the level by hand (e.g. lower it once the department acted), with a reason."""
    ticket = access.get_visible_ticket(session, user, ticket_id)
    record = service.settle(session, ticket, user, level=body.level, reason=body.reason)
    session.commit()
    return record


@router.get("/escalation/report", response_model=list[schemas.RecordOut])
def monthly_report(
    user: Staff, session: DB, month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
) -> Any:
    """通报 list of a month: the level-5 escalations."""
    return service.monthly_report(session, month, Context.load(session).calendar.tz)


# ---------------------------------------------------------------- 回访 queue


def _callback_out(cb: CallbackAttempt, ticket: Ticket, user: User) -> schemas.CallbackOut:
    phone = cb.phone_e164 if access.sees_personal_data(user, ticket) else mask_phone(cb.phone_e164)
    return schemas.CallbackOut(
        id=cb.id,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        ticket_title=ticket.title,
        status=cb.status,
        phone=phone,
        ivr_attempts=cb.ivr_attempts,
        satisfaction=cb.satisfaction,
        service_satisfaction=cb.service_satisfaction,
        resolved=cb.resolved,
        reason=cb.reason,
        method=cb.method,
        log=cb.log or [],
        created_at=cb.created_at,
    )


@router.get("/escalation/callback-queue", response_model=list[schemas.CallbackOut])
def callback_queue(user: CallbackStaff, session: DB) -> Any:
    """回访员 queue: callers not reached by IVR nor SMS, and 不满意 answers awaiting a judgement."""
    return [_callback_out(cb, t, user) for cb, t in callbacks.queue(session)]


@router.get("/escalation/tickets/{ticket_id}/callbacks", response_model=list[schemas.CallbackOut])
def ticket_callbacks(ticket_id: int, user: Staff, session: DB) -> Any:
    ticket = access.get_visible_ticket(session, user, ticket_id)
    rows = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == ticket.id)).all()
    return [_callback_out(cb, ticket, user) for cb in rows]


def _callback(session: Session, callback_id: int) -> CallbackAttempt:
    cb = session.get(CallbackAttempt, callback_id, with_for_update=True)
    if cb is None:
        raise NotFound("回访任务不存在")
    return cb


def _outcome(session: Session, cb: CallbackAttempt, outcome: str) -> schemas.OutcomeOut:
    ticket = session.get(Ticket, cb.ticket_id)
    assert ticket is not None
    return schemas.OutcomeOut(callback_id=cb.id, status=cb.status, outcome=outcome, ticket_status=ticket.status)


@router.post("/escalation/callbacks/{callback_id}/answer", response_model=schemas.OutcomeOut)
def callback_answer(callback_id: int, body: schemas.CallbackAnswerIn, user: CallbackStaff, session: DB) -> Any:
    """A callback agent reached the citizen and records the answer."""
    cb = _callback(session, callback_id)
    outcome = callbacks.apply_answer(
        session,
        cb,
        satisfaction=body.satisfaction,
        resolved=body.resolved,
        service_satisfaction=body.service_satisfaction,
        reason=body.reason,
        method="agent",
        actor=user,
        reasonable=body.reasonable,
    )
    session.commit()
    return _outcome(session, cb, outcome)


@router.post("/escalation/callbacks/{callback_id}/decide", response_model=schemas.OutcomeOut)
def callback_decide(callback_id: int, body: schemas.DecideIn, user: CallbackStaff, session: DB) -> Any:
    """不满意: is the cause reasonable? Yes reopens the ticket (重办, 督办 follows), no closes it."""
    cb = _callback(session, callback_id)
    outcome = callbacks.decide(session, cb, user, reasonable=body.reasonable, note=body.note)
    session.commit()
    return _outcome(session, cb, outcome)


@router.post("/escalation/callbacks/{callback_id}/unreachable", response_model=schemas.OutcomeOut)
def callback_unreachable(callback_id: int, body: schemas.UnreachableIn, user: CallbackStaff, session: DB) -> Any:
    cb = _callback(session, callback_id)
    outcome = callbacks.mark_unreachable(session, cb, user, body.note)
    session.commit()
    return _outcome(session, cb, outcome)


# ---------------------------------------------------------------- notifications


def _message_out(m: NotificationMessage) -> schemas.MessageOut:
    out = schemas.MessageOut.model_validate(m)
    if m.channel == "sms":
        out.address = mask_phone(m.address)
    elif m.channel == "email" and m.address:
        local, _, domain = m.address.partition("@")
        out.address = f"{local[:1]}***@{domain}"
    return out


@router.get("/escalation/notifications", response_model=list[schemas.MessageOut])
def notifications(
    user: Supervisor,
    session: DB,
    status: str | None = None,
    ticket_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The outbox: every message with its status, attempts and last error."""
    query = select(NotificationMessage).order_by(NotificationMessage.id.desc()).limit(limit)
    if status:
        query = query.where(NotificationMessage.status == status)
    if ticket_id:
        query = query.where(NotificationMessage.ticket_id == ticket_id)
    return [_message_out(m) for m in session.scalars(query)]


@router.get("/escalation/sms-outbox", response_model=list[schemas.SmsOut])
def sms_outbox(
    user: Supervisor,
    session: DB,
    ticket_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """短信发件箱: the text messages as the SMS adapter wrote them (no gateway configured: the
    demo's survey links are read here), newest first; the numbers masked."""
    query = (
        select(SmsOutbox, NotificationMessage.ticket_id)
        .join(NotificationMessage, NotificationMessage.id == SmsOutbox.message_id)
        .order_by(SmsOutbox.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if ticket_id is not None:
        query = query.where(NotificationMessage.ticket_id == ticket_id)
    return [
        schemas.SmsOut(
            id=sms.id,
            message_id=sms.message_id,
            ticket_id=tid,
            phone=mask_phone(sms.phone_e164),
            body=sms.body,
            created_at=sms.created_at,
        )
        for sms, tid in session.execute(query)
    ]


@router.post("/escalation/notifications/{message_id}/retry", response_model=schemas.MessageOut)
def retry_notification(message_id: int, user: Supervisor, session: DB) -> Any:
    message = session.get(NotificationMessage, message_id)
    if message is None:
        raise NotFound("消息不存在")
    if message.status == "sent":
        raise Conflict("消息已发送，无需重试", code="already_sent")
    channels.retry(session, message)
    _deliver_soon(session)
    session.commit()
    return _message_out(message)


@router.get("/inbox", response_model=schemas.InboxOut, tags=["inbox"])
def inbox(
    user: CurrentUser,
    session: DB,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    """站内信: the user's messages, newest first, and the unread count."""
    where = service.inbox_where(user)
    if unread_only:
        where.append(NotificationMessage.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(NotificationMessage).where(*where)) or 0
    items = session.scalars(
        select(NotificationMessage).where(*where).order_by(NotificationMessage.id.desc()).limit(limit).offset(offset)
    ).all()
    return schemas.InboxOut(
        items=[schemas.InboxItem.model_validate(m) for m in items],
        unread=service.unread_count(session, user),
        total=int(total),
    )


@router.post("/inbox/{message_id}/read", response_model=schemas.InboxItem, tags=["inbox"])
def mark_read(message_id: int, user: CurrentUser, session: DB) -> Any:
    mine = select(NotificationMessage).where(NotificationMessage.id == message_id, *service.inbox_where(user))
    message = session.scalar(mine)
    if message is None:
        raise NotFound("消息不存在")
    if message.read_at is None:
        message.read_at = utcnow()
        session.commit()
    return message


# ---------------------------------------------------------------- configuration


@router.get("/escalation/config")
def get_config(user: Staff, session: DB) -> Any:
    """The effective configuration (defaults, file, overrides merged)."""
    return load_config(session).raw


@router.put("/escalation/config")
def put_config(body: schemas.ConfigIn, user: Admin, session: DB) -> Any:
    """Replace the admin overrides (merged over the defaults); refused if the result is invalid."""
    try:
        cfg = save_overrides(session, body.model_dump(mode="json", exclude_none=True))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"督办配置无效：{exc}", field="config") from exc
    session.commit()
    return cfg.raw
