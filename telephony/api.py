"""Telephony HTTP API: call records, 一键转接, 示忙/示闲, the live view, 漏接回拨, 来电弹屏 (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse

from hotline.auth import get_stream_user, require_roles
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import Role
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from hotline.models import User
from hotline.streams import while_signed_in
from telephony import schemas, screenpop, service
from telephony.config import get_telephony_settings
from telephony.models import CallbackTask, CallRecord, SurveyCall
from telephony.state import interface_key

router = APIRouter(prefix="/api/v1", tags=["telephony"])

STAFF = (Role.agent, Role.callback_agent, Role.supervisor, Role.admin)
SUPERVISORS = (Role.supervisor, Role.admin)


def _call_out(call: CallRecord, ticket_ids: list[int]) -> schemas.CallOut:
    data = {c: getattr(call, c) for c in schemas.CallOut.model_fields if hasattr(call, c)}
    data["caller"] = call.caller_e164 or call.caller_number
    data["ticket_ids"] = ticket_ids
    return schemas.CallOut(**data)


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(f"电话系统不可用: {exc}")


def _calls_page(session: Session, user: User, filters: schemas.CallFilter, caller: str | None) -> schemas.CallPage:
    agent_id = user.id if Role(user.role) == Role.agent else filters.agent_id  # an agent: own calls
    query = service.call_query(
        date_from=filters.date_from,
        date_to=filters.date_to,
        agent_user_id=agent_id,
        agent_interface=filters.agent,
        abandoned=filters.abandoned,
        caller=caller,
    )
    page, size = filters.page, filters.page_size
    rows, total, tickets = service.list_calls(session, query, page=page, page_size=size)
    items = [_call_out(r, tickets.get(r.linkedid, [])) for r in rows]
    return schemas.CallPage(items=items, total=total, page=page, page_size=size)


@router.get("/calls", response_model=schemas.CallPage)
def list_calls(
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(*STAFF))],
    filters: Annotated[schemas.CallFilter, Query()],
) -> schemas.CallPage:
    """Call records, newest first. To find a number's calls, ``POST /calls/search``."""
    return _calls_page(session, user, filters, None)


@router.post("/calls/search", response_model=schemas.CallPage)
def search_calls(
    body: schemas.CallSearchIn,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(*STAFF))],
) -> schemas.CallPage:
    """The calls of one caller (with the list's filters): the number travels in the body."""
    return _calls_page(session, user, body, body.caller)


def _get_call(session: Session, linkedid: str) -> CallRecord:
    call = session.scalar(select(CallRecord).where(CallRecord.linkedid == linkedid))
    if call is None:
        raise NotFound("通话记录不存在")
    return call


@router.get("/calls/{linkedid}", response_model=schemas.CallOut)
def get_call(
    linkedid: str,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(*STAFF))],
) -> schemas.CallOut:
    call = _get_call(session, linkedid)
    if Role(user.role) == Role.agent and call.agent_user_id not in (None, user.id):
        raise Forbidden("无权查看该通话")
    return _call_out(call, service.tickets_for_calls(session, [linkedid]).get(linkedid, []))


@router.post("/calls/{linkedid}/transfer", response_model=schemas.CallOut)
def transfer_call(
    linkedid: str,
    body: schemas.TransferIn,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
) -> schemas.CallOut:
    """一键转接 to 110/119/120/122 (AMI Redirect of the citizen's channel)."""
    cfg = get_telephony_settings()
    if body.target not in cfg.transfer_targets:
        raise InvalidInput("不支持的转接号码", field="target", allowed=list(cfg.transfer_targets))
    call = _get_call(session, linkedid)
    if call.ended_at is not None or call.status == "ended":
        raise Conflict("通话已结束, 无法转接", code="call_ended")
    if not call.caller_channel:
        raise Conflict("未知的来电通道, 无法转接", code="unknown_channel")
    if Role(user.role) == Role.agent and call.agent_user_id not in (None, user.id):
        raise Forbidden("只能转接自己接听的通话")
    try:
        service.transfer_call(session, call, body.target, user)
    except service.TelephonyUnavailable as exc:
        raise _unavailable(exc) from exc
    return _call_out(call, service.tickets_for_calls(session, [linkedid]).get(linkedid, []))


@router.get("/telephony/live", response_model=schemas.LiveOut)
def live(
    session: Annotated[Session, Depends(get_db)],
    _user: Annotated[User, Depends(require_roles(*SUPERVISORS))],
) -> dict[str, Any]:
    """Agents (示忙/示闲, ringing, on call, wrap-up) and queues (waiting callers, longest wait)."""
    return service.live_view(session, utcnow())


@router.post("/telephony/agents/pause")
def pause(
    body: schemas.PauseIn,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
) -> dict[str, Any]:
    """示忙 (paused=true, with a reason) / 示闲 (paused=false) through AMI QueuePause."""
    if Role(user.role) == Role.agent or not body.interface:
        own = service.seat_interfaces(session, user)
        if not own:
            raise InvalidInput("当前用户未绑定分机")
        if body.interface and interface_key(body.interface) not in {interface_key(i) for i in own}:
            raise Forbidden("只能设置自己的分机")
        interface = body.interface or own[0]
    else:
        interface = body.interface
    try:
        message = service.pause_agent(interface, body.paused, body.reason, body.queue)
    except service.TelephonyUnavailable as exc:
        raise _unavailable(exc) from exc
    return {"interface": interface, "paused": body.paused, "message": message}


@router.get("/telephony/agents/me", response_model=schemas.AgentStateOut)
def my_state(
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
) -> dict[str, Any]:
    """The caller's own seat: 示闲 (idle), 示忙 (paused, with its reason), ringing, on a call, 话后 (wrapup)."""
    return service.own_state(session, user, utcnow())


@router.get("/telephony/callbacks", response_model=list[schemas.CallbackTaskOut])
def list_callbacks(
    session: Annotated[Session, Depends(get_db)],
    _user: Annotated[User, Depends(require_roles(*STAFF))],
    status: str | None = Query(default="open"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[schemas.CallbackTaskOut]:
    """漏接回拨: abandoned calls waiting for a call back (oldest first)."""
    query = select(CallbackTask).order_by(CallbackTask.abandoned_at, CallbackTask.id).limit(limit)
    if status:
        query = query.where(CallbackTask.status == status)
    return [_task_out(t) for t in session.scalars(query)]


def _task_out(task: CallbackTask) -> schemas.CallbackTaskOut:
    fields = {c: getattr(task, c) for c in schemas.CallbackTaskOut.model_fields if hasattr(task, c)}
    return schemas.CallbackTaskOut.model_validate({**fields, "caller": task.caller_e164 or task.caller_number})


@router.post("/telephony/callbacks/{task_id}", response_model=schemas.CallbackTaskOut)
def update_callback(
    task_id: int,
    body: schemas.CallbackTaskUpdate,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(*STAFF))],
) -> schemas.CallbackTaskOut:
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFound("回拨任务不存在")
    task.status = body.status
    task.note = body.note
    task.handled_by_id = user.id
    task.handled_at = utcnow()
    session.commit()
    return _task_out(task)


@router.post("/telephony/callbacks/{task_id}/dial", response_model=schemas.CallbackTaskOut)
def dial_callback(
    task_id: int,
    session: Annotated[Session, Depends(get_db)],
    user: Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
) -> schemas.CallbackTaskOut:
    """回拨: ring the agent's own seat and dial the citizen who hung up waiting (AMI Originate)."""
    task = session.get(CallbackTask, task_id)
    if task is None:
        raise NotFound("回拨任务不存在")
    if task.status != "open":
        raise Conflict("该回拨任务已处理", code="callback_handled")
    own = service.seat_interfaces(session, user)
    if not own:
        raise InvalidInput("当前用户未绑定分机")
    try:
        service.call_back(session, task, own[0], user)
    except ValueError as exc:
        raise Conflict("来电号码未知，无法回拨", code="no_number") from exc
    except service.TelephonyUnavailable as exc:
        raise _unavailable(exc) from exc
    return _task_out(task)


@router.get("/telephony/surveys", response_model=list[schemas.SurveyCallOut])
def list_surveys(
    session: Annotated[Session, Depends(get_db)],
    _user: Annotated[User, Depends(require_roles(Role.callback_agent, Role.supervisor, Role.admin))],
    ticket_id: int | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[SurveyCall]:
    query = select(SurveyCall).order_by(SurveyCall.id.desc()).limit(limit)
    if ticket_id is not None:
        query = query.where(SurveyCall.ticket_id == ticket_id)
    return list(session.scalars(query))


@router.get("/telephony/screen-pop/stream")
async def screen_pop_stream(
    request: Request,
    user: Annotated[User, Depends(get_stream_user)],
    session: Annotated[Session, Depends(get_db)],
) -> EventSourceResponse:
    """来电弹屏 over Server-Sent Events: the bearer token in the header, or ``?token=`` for EventSource.

    Events: ``ready`` once subscribed, then ``screen_pop`` with the caller's number, prior
    calls and open/recent tickets (保密 rules applied for this user) each time a call rings
    at this user's extension.
    """
    if Role(user.role) not in STAFF:
        raise Forbidden("无权订阅来电弹屏")
    user_id, extension = user.id, user.extension
    # The stream lives for hours: give the request's database connection back now.
    session.close()
    await screenpop.ensure_listener()
    queue = screenpop.hub.subscribe(user_id)

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": json.dumps({"user_id": user_id, "extension": extension})}
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    continue
                yield {"event": "screen_pop", "data": json.dumps(message, ensure_ascii=False, default=str)}
        finally:
            screenpop.hub.unsubscribe(user_id, queue)

    return EventSourceResponse(while_signed_in(user, events()), ping=15)
