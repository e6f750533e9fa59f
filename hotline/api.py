"""HTTP routes of the ticket core under /api/v1 (thin: the rules live in lifecycle.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import access, classification, lifecycle, orgs, schemas, workcalendar
from hotline.auth import authenticate, get_current_user, get_own_account_user, issue_token, require_roles
from hotline.clientaddr import client_address
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import HOTLINE_ROLES, ExtensionStatus, InboxTab, LimitKind, Role, TicketStatus
from hotline.errors import InvalidInput, NotFound, Unauthorized, Unavailable
from hotline.http_errors import documented
from hotline.models import CalendarOverride, Department, ExtensionRequest, Ticket, TimeLimitPolicy, User
from hotline.passwords import check_new_password
from hotline.phone import citizen_phone
from hotline.schemas import MAX_PAGE
from hotline.service import TicketFilter, citizen_history, list_tickets, tab_counts, ticket_detail, ticket_out
from hotline.settings import get_settings
from hotline.vocabulary import vocabulary as vocabulary_of_codes
from hotline.workcalendar import WorkCalendar

router = APIRouter(prefix="/api/v1")
CurrentUser = Annotated[User, Depends(get_current_user)]
# GET /me and POST /me/password only: also a user who must first change a password an admin reset.
OwnAccount = Annotated[User, Depends(get_own_account_user)]
DB = Annotated[Session, Depends(get_db)]
Admin = Annotated[User, Depends(require_roles(Role.admin))]
HotlineStaff = Annotated[User, Depends(require_roles(*HOTLINE_ROLES))]
Dispatcher = Annotated[User, Depends(require_roles(Role.dispatcher, Role.supervisor, Role.admin))]


# ---------------------------------------------------------------- auth


@router.post("/auth/token", response_model=schemas.TokenOut, tags=["auth"], responses=documented(401, 429))
def login(request: Request, session: DB, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
    """OAuth2 password login; answers a bearer token. After 5 wrong passwords for one name from one
    address, that pair waits (doubling, up to 15 minutes): 429 with ``Retry-After``. Other addresses
    are not slowed for that name."""
    user = authenticate(session, form.username, form.password, client_address(request.scope))
    if user is None:
        raise Unauthorized("用户名或密码错误", code="bad_credentials")
    return schemas.TokenOut(
        access_token=issue_token(user),
        expires_in=get_settings().token_ttl_seconds,
        user=schemas.UserOut.model_validate(user),
    )


@router.get("/me", response_model=schemas.UserOut, tags=["auth"])
def me(user: OwnAccount) -> Any:
    """Who is logged in; ``must_change_password``: an admin reset the password, and until the user
    changes it (POST /me/password) every other route answers 403 ``password_change_required``."""
    return user


@router.post("/me/password", response_model=schemas.TokenOut, tags=["auth"], responses=documented(429))
def change_password(request: Request, body: schemas.PasswordChangeIn, user: OwnAccount, session: DB) -> Any:
    """修改密码: the current password and a new one meeting the rules (at least 10 characters, three of
    upper case, lower case, digits and other characters, not containing the username, not the current
    one). Every token issued before stops working, on every device; the answer carries a new one.
    It clears ``must_change_password`` (an admin's 重置密码 sets it).
    Wrong current passwords count as failed logins (429 with ``Retry-After``)."""
    orgs.change_own_password(session, user, body.current_password, body.new_password, client_address(request.scope))
    session.commit()
    return schemas.TokenOut(
        access_token=issue_token(user),
        expires_in=get_settings().token_ttl_seconds,
        user=schemas.UserOut.model_validate(user),
    )


@router.get("/vocabulary", response_model=schemas.Vocabulary, tags=["auth"])
def vocabulary(user: CurrentUser) -> Any:
    """Every code the API speaks (statuses, types, reasons, roles, ...) with its Chinese label."""
    return vocabulary_of_codes()


# ---------------------------------------------------------------- tickets


@router.post(
    "/tickets",
    response_model=schemas.TicketDetail,
    status_code=status.HTTP_201_CREATED,
    tags=["tickets"],
    responses=documented(403),
)
def register(body: schemas.TicketCreate, user: CurrentUser, session: DB) -> Any:
    """登记: register an appeal (any channel)."""
    appeal = lifecycle.NewAppeal(**body.model_dump())
    ticket = lifecycle.register_ticket(session, user, appeal)
    session.commit()
    return ticket_detail(session, ticket, user)


@router.get("/tickets", response_model=schemas.Page[schemas.TicketOut], tags=["tickets"])
def tickets(
    user: CurrentUser,
    session: DB,
    status_: Annotated[list[TicketStatus] | None, Query(alias="status")] = None,
    department_id: int | None = None,
    category: str | None = None,
    appeal_type: str | None = None,
    urgency: str | None = None,
    overdue: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    tab: InboxTab | None = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    """Tickets the user may see, newest first, with filters and pagination. ``tab`` is one of the
    inbox's tabs (待签收, 办理中, 即将超期, 已超期, 已回复, 已办结); work to do comes nearest deadline first."""
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("时间须带时区（如 2026-11-22T00:00:00+08:00）", field=name, where="query")
    flt = TicketFilter(
        status=[s.value for s in status_] if status_ else None,
        department_id=department_id,
        category=category,
        appeal_type=appeal_type,
        urgency=urgency,
        overdue=overdue,
        created_from=created_from,
        created_to=created_to,
        q=q,
        tab=tab,
    )
    items, total, exact = list_tickets(session, user, flt, page, page_size)
    return schemas.Page(items=items, total=total, total_exact=exact, page=page, page_size=page_size)


@router.get("/tickets/tabs", response_model=list[schemas.TabCount], tags=["tickets"])
def ticket_tabs(user: CurrentUser, session: DB, department_id: int | None = None) -> Any:
    """The inbox tabs' counts of the tickets the user may see (a department's inbox polls it)."""
    return tab_counts(session, user, TicketFilter(department_id=department_id))


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketDetail, tags=["tickets"])
def get_ticket(ticket_id: int, user: CurrentUser, session: DB) -> Any:
    """One ticket with its assignments and whole timeline (全程留痕)."""
    return ticket_detail(session, access.get_visible_ticket(session, user, ticket_id), user)


# A transition refuses a role (403) inside the lifecycle, not in a route dependency.
LIFECYCLE_ERRORS = documented(403)


def _act(session: Session, user: User, ticket_id: int, change: Callable[[Ticket], object]) -> Any:
    ticket = access.get_visible_ticket(session, user, ticket_id)
    change(ticket)
    session.commit()
    session.refresh(ticket)
    return ticket_detail(session, ticket, user)


# One route per transition: the body's fields are the transition's keyword arguments. 派单, 改派
# and 驳回退单 are answered by dispatch (it records the decision), the 回访 answer by escalation
# (POST /escalation/callbacks/{id}/answer: one answer per caller; 不满意 for a reasonable cause reopens).
TRANSITIONS: list[tuple[str, type[BaseModel], Callable[..., object], str]] = [
    (
        "reject-intake",
        schemas.RejectIntakeIn,
        lifecycle.reject_intake,
        "不予受理, with a reason from the published list.",
    ),
    ("transfer", schemas.TransferIn, lifecycle.transfer_emergency, "即时转办 to 110/119/120/122."),
    ("answer", schemas.AnswerIn, lifecycle.answer_directly, "直办: answered on the call and closed."),
    ("sign", schemas.VersionOnly, lifecycle.sign_ticket, "签收 by the department."),
    ("return", schemas.ReturnIn, lifecycle.return_ticket, "退单 by the 主办 department, with a reason."),
    ("sub-assignments", schemas.SubAssignmentIn, lifecycle.add_sub_assignment, "加派 to a unit below."),
    ("extension", schemas.ExtensionIn, lifecycle.request_extension, "延期申请."),
    ("extension/approve", schemas.NoteOptionalIn, lifecycle.approve_extension, "延期 approved."),
    ("extension/refuse", schemas.NoteRequiredIn, lifecycle.refuse_extension, "延期 refused."),
    ("reply", schemas.ReplyIn, lifecycle.reply_ticket, "回复: 办理情况, 是否解决, public answer."),
    ("review", schemas.ReviewIn, lifecycle.review_reply, "审核 the reply: accept, or send back for 补办."),
    ("close", schemas.NoteOptionalIn, lifecycle.close_ticket, "办结."),
    ("reopen", schemas.ReopenIn, lifecycle.reopen_ticket, "重办."),
]


def _transition_route(path: str, body_model: type[BaseModel], change: Callable[..., object], doc: str) -> None:
    def endpoint(ticket_id: int, body: BaseModel, user: CurrentUser, session: DB) -> Any:
        return _act(session, user, ticket_id, lambda t: change(session, t, user, **dict(body)))

    endpoint.__annotations__ = {"ticket_id": int, "body": body_model, "user": CurrentUser, "session": DB, "return": Any}
    endpoint.__name__ = change.__name__
    endpoint.__doc__ = doc
    router.post(
        f"/tickets/{{ticket_id}}/{path}",
        response_model=schemas.TicketDetail,
        tags=["lifecycle"],
        responses=LIFECYCLE_ERRORS,
    )(endpoint)


for _route in TRANSITIONS:
    _transition_route(*_route)


@router.post(
    "/tickets/{ticket_id}/merge", response_model=schemas.TicketDetail, tags=["lifecycle"], responses=LIFECYCLE_ERRORS
)
def merge(ticket_id: int, body: schemas.MergeIn, user: CurrentUser, session: DB) -> Any:
    """并单 into another open ticket."""
    try:
        into = access.get_visible_ticket(session, user, body.into_ticket_id)
    except NotFound as exc:
        raise InvalidInput("目标工单不存在", field="into_ticket_id") from exc
    return _act(
        session,
        user,
        ticket_id,
        lambda t: lifecycle.merge_ticket(session, t, user, version=body.version, into=into, note=body.note),
    )


@router.get("/extension-requests", response_model=list[schemas.ExtensionRequestItem], tags=["lifecycle"])
def extension_requests(
    user: Dispatcher,
    session: DB,
    status_: Annotated[ExtensionStatus, Query(alias="status")] = ExtensionStatus.pending,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """延期申请 to rule on (or ruled on), oldest first, each with its ticket; the ruling is
    ``POST /tickets/{id}/extension/approve`` or ``/extension/refuse``."""
    rows = session.execute(
        select(ExtensionRequest, Ticket, User.display_name)
        .join(Ticket, Ticket.id == ExtensionRequest.ticket_id)
        .join(User, User.id == ExtensionRequest.requested_by_id)
        .where(ExtensionRequest.status == status_.value)
        .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
        .limit(limit)
    ).all()
    now = utcnow()
    return [
        {
            **schemas.ExtensionRequestOut.model_validate(request).model_dump(),
            "requested_by_name": name,
            "ticket": ticket_out(ticket, user, now),
        }
        for request, ticket, name in rows
    ]


# ---------------------------------------------------------------- classification


@router.post("/classify", tags=["tickets"])
def classify(body: schemas.ClassifyIn, user: HotlineStaff) -> Any:
    """Proposals for an appeal being typed: category, appeal type, urgency (with the safety rule that
    fired), department, each top-3 with calibrated scores; ``abstained`` when the model is unsure."""
    result = classification.predict(body.title, body.content)
    if result is None:
        raise Unavailable("分类模型暂不可用")
    return result


# ---------------------------------------------------------------- citizens


@router.post("/citizens/history", response_model=schemas.CitizenHistory, tags=["citizens"])
def history(body: schemas.PhoneLookupIn, user: HotlineStaff, session: DB) -> Any:
    """A caller's history (agents see it on the screen pop). A read, but a POST: the number stays
    out of the URL and so out of every access log on the way."""
    normalised = citizen_phone(body.phone)
    if normalised is None:
        raise InvalidInput("电话号码无效", field="phone")
    return citizen_history(session, normalised, user)


# ---------------------------------------------------------------- departments and users


@router.get("/departments", response_model=list[schemas.DepartmentOut], tags=["admin"])
def departments(user: CurrentUser, session: DB) -> Any:
    return session.scalars(select(Department).order_by(Department.path)).all()


@router.post("/departments", response_model=schemas.DepartmentOut, status_code=201, tags=["admin"])
def create_department(body: schemas.DepartmentCreate, user: Admin, session: DB) -> Any:
    from hotline.orgs import create_department as create

    dept = create(session, **body.model_dump())
    session.commit()
    return dept


@router.patch("/departments/{department_id}", response_model=schemas.DepartmentOut, tags=["admin"])
def update_department(department_id: int, body: schemas.DepartmentUpdate, user: Admin, session: DB) -> Any:
    """Rename a unit, change its liaison, or take it out of use."""
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound("部门不存在")
    orgs.update_department(session, dept, body.model_dump(exclude_unset=True))
    session.commit()
    return dept


@router.get("/users", response_model=list[schemas.UserOut], tags=["admin"])
def users(user: Admin, session: DB) -> Any:
    return session.scalars(select(User).where(User.username != "system").order_by(User.id)).all()


@router.post("/users", response_model=schemas.UserOut, status_code=201, tags=["admin"])
def create_user(body: schemas.UserCreate, user: Admin, session: DB) -> Any:
    """A new login; its password meets the rules of POST /me/password."""
    check_new_password(body.password, body.username)
    new = orgs.create_user(session, **body.model_dump())
    session.commit()
    return new


def _user(session: Session, user_id: int) -> User:
    target = session.get(User, user_id)
    if target is None or target.username == orgs.SYSTEM_USERNAME:
        raise NotFound("用户不存在")
    return target


@router.post("/users/{user_id}/password", response_model=schemas.UserOut, tags=["admin"])
def reset_password(user_id: int, body: schemas.PasswordResetIn, user: Admin, session: DB) -> Any:
    """重置密码: a new password (the rules of POST /me/password); the user's tokens stop working, and
    at the next login the user must choose a password of their own before anything else."""
    target = _user(session, user_id)
    orgs.reset_password(session, user, target, body.new_password)
    session.commit()
    return target


@router.post("/users/{user_id}/disable", response_model=schemas.UserOut, tags=["admin"])
def disable_user(user_id: int, user: Admin, session: DB) -> Any:
    """停用: the user cannot sign in; its tokens stop working and its open streams close."""
    target = _user(session, user_id)
    orgs.set_active(session, user, target, False)
    session.commit()
    return target


@router.post("/users/{user_id}/enable", response_model=schemas.UserOut, tags=["admin"])
def enable_user(user_id: int, user: Admin, session: DB) -> Any:
    """启用 a disabled user again (it signs in anew: its old tokens stay revoked)."""
    target = _user(session, user_id)
    orgs.set_active(session, user, target, True)
    session.commit()
    return target


@router.post("/users/{user_id}/sign-out", response_model=schemas.UserOut, tags=["admin"])
def sign_out_everywhere(user_id: int, user: Admin, session: DB) -> Any:
    """退出所有登录: every token issued to the user so far stops working, on every device."""
    target = _user(session, user_id)
    orgs.sign_out_everywhere(session, user, target)
    session.commit()
    return target


@router.patch("/users/{user_id}", response_model=schemas.UserOut, tags=["admin"])
def update_user(user_id: int, body: schemas.UserUpdate, user: Admin, session: DB) -> Any:
    """Change an account's name, role, department or seat (停用/启用 have routes of their own)."""
    target = _user(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    if target.id == user.id and changes.get("role", Role.admin) != Role.admin:
        raise InvalidInput("不能取消自己的管理员角色", field="role")
    orgs.update_user(session, target, changes)
    session.commit()
    return target


# ---------------------------------------------------------------- time limits and calendar


@router.get("/time-limits", response_model=list[schemas.TimeLimitOut], tags=["admin"])
def time_limits(user: CurrentUser, session: DB) -> Any:
    return session.scalars(select(TimeLimitPolicy).order_by(TimeLimitPolicy.kind, TimeLimitPolicy.id)).all()


@router.put("/time-limits", response_model=schemas.TimeLimitOut, tags=["admin"])
def set_time_limit(body: schemas.TimeLimitIn, user: Admin, session: DB) -> Any:
    """Create or change one limit (per kind, appeal type and urgency). Applies to later changes."""
    if body.kind == LimitKind.extension_max and body.unit.value != "working_days":
        raise InvalidInput("延期上限须以工作日计", field="unit")
    row = session.scalar(
        select(TimeLimitPolicy).where(
            TimeLimitPolicy.kind == body.kind.value,
            TimeLimitPolicy.appeal_type.is_(None)
            if body.appeal_type is None
            else TimeLimitPolicy.appeal_type == body.appeal_type.value,
            TimeLimitPolicy.urgency.is_(None)
            if body.urgency is None
            else TimeLimitPolicy.urgency == body.urgency.value,
        )
    )
    if row is None:
        row = TimeLimitPolicy(
            kind=body.kind.value,
            appeal_type=body.appeal_type.value if body.appeal_type else None,
            urgency=body.urgency.value if body.urgency else None,
        )
        session.add(row)
    row.amount = body.amount
    row.unit = body.unit.value
    row.updated_by_id = user.id
    session.commit()
    return row


@router.get("/calendar/overrides", response_model=list[schemas.CalendarOverrideOut], tags=["admin"])
def calendar_overrides(user: CurrentUser, session: DB) -> Any:
    return session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)).all()


@router.put("/calendar/overrides", response_model=schemas.CalendarOverrideOut, tags=["admin"])
def set_calendar_override(body: schemas.CalendarOverrideIn, user: Admin, session: DB) -> Any:
    """A center's own closure (or extra working day) on top of the official calendar."""
    before = WorkCalendar.load(session)
    row = session.get(CalendarOverride, body.day) or CalendarOverride(day=body.day)
    row.is_workday = body.is_workday
    row.note = body.note
    session.add(row)
    session.flush()
    lifecycle.recalendar_open_tickets(session, before)
    session.commit()
    return row


@router.delete("/calendar/overrides/{day}", status_code=204, tags=["admin"])
def delete_calendar_override(day: date, user: Admin, session: DB) -> None:
    row = session.get(CalendarOverride, day)
    if row is None:
        raise NotFound("该日期没有设置")
    before = WorkCalendar.load(session)
    session.delete(row)
    session.flush()
    lifecycle.recalendar_open_tickets(session, before)
    session.commit()


@router.get("/calendar/status", response_model=schemas.CalendarStatusOut, tags=["admin"])
def calendar_status(user: CurrentUser, session: DB) -> Any:
    """Where this year's (and the coming year's) working days come from; ``warnings`` while a
    year's official notice is not imported (the console shows them to admins as a banner)."""
    found = workcalendar.calendar_status(session, utcnow())
    return found if user.role == Role.admin else {**found, "warnings": []}


@router.put("/calendar/notices/{year}", response_model=schemas.CalendarNoticeOut, tags=["admin"])
def import_calendar_notice(
    year: Annotated[int, Path(ge=2000, le=2100)], body: schemas.CalendarNoticeIn, user: Admin, session: DB
) -> Any:
    """Import a year's 国务院 holiday notice in one step (its dates replace an earlier import);
    the open tickets' deadlines move with it."""
    before = WorkCalendar.load(session)
    imported = workcalendar.import_notice(session, year, body.holidays, body.workdays, utcnow())
    moved = lifecycle.recalendar_open_tickets(session, before)
    session.commit()
    return {"year": year, **imported, "tickets_moved": moved}
