"""Every state change of a ticket (工单), one function each.

Each function checks that the transition is allowed (state, role, department, the version the
caller saw), writes the change and its timeline event, and flushes. The caller's transaction
commits them together or not at all; a concurrent writer loses with :class:`Conflict` through
the row's version column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from hotline import access, classification, hooks
from hotline.db import utcnow
from hotline.enums import (
    APPEAL_TYPE_LABELS,
    OPEN_STATUSES,
    AppealType,
    AssignmentRole,
    AssignmentStatus,
    Channel,
    DepartmentKind,
    EmergencyService,
    ExtensionStatus,
    LimitKind,
    LimitUnit,
    ReturnReason,
    Role,
    Satisfaction,
    TicketStatus,
    Urgency,
)
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.models import (
    Citizen,
    Department,
    ExtensionRequest,
    Ticket,
    TicketAssignment,
    TicketCaller,
    TicketCounter,
    TimelineEvent,
    User,
)
from hotline.phone import citizen_phone
from hotline.runtime_settings import read_setting
from hotline.settings import get_settings
from hotline.timelimits import clear_deadlines, resolve_limit, set_callback_deadline, set_dispatch_deadlines
from hotline.workcalendar import WorkCalendar

P = ParamSpec("P")
R = TypeVar("R")

STATUS_LABELS = {
    TicketStatus.registered: "已登记",
    TicketStatus.not_accepted: "不予受理",
    TicketStatus.transferred: "已转办",
    TicketStatus.dispatched: "待签收",
    TicketStatus.in_progress: "办理中",
    TicketStatus.returned: "退单待审",
    TicketStatus.replied: "已回复待审核",
    TicketStatus.awaiting_callback: "待回访",
    TicketStatus.callback_done: "已回访",
    TicketStatus.closed: "已办结",
    TicketStatus.merged: "已并单",
}

# Timeline actions (全程留痕) as staff read them; other packages' notes are listed here too.
ACTION_LABELS = {
    "register": "登记",
    "reject_intake": "不予受理",
    "transfer_emergency": "即时转办",
    "answer_directly": "直办",
    "dispatch": "派单",
    "sign": "签收",
    "return": "退单",
    "accept_return": "退单通过（改派）",
    "reject_return": "驳回退单",
    "add_sub_assignment": "加派",
    "request_extension": "申请延期",
    "approve_extension": "同意延期",
    "refuse_extension": "不同意延期",
    "reply": "回复",
    "accept_reply": "回复审核通过",
    "send_back_reply": "回复退回补办",
    "record_callback": "回访",
    "close": "办结",
    "reopen": "重办",
    "merge": "并单",
    "merged_in": "并入工单",
    "escalate": "督办",
    "settle_escalation": "调整督办级别",
    "call_transferred": "通话转接",
}

# 不予受理 reasons (DOMAIN.md); "other" needs a note.
NOT_ACCEPTED_REASONS = {
    "out_of_jurisdiction": "不属于受理范围",
    "court_or_legislature": "涉及法院、人大、政协等",
    "in_litigation": "已进入诉讼、仲裁、信访等程序",
    "repeat_no_new_facts": "重复诉求且无新情况",
    "other": "其他",
}

RETURN_REASONS: dict[str, str] = {
    ReturnReason.not_our_duty: "不属于本单位职责",
    ReturnReason.wrong_place: "不属于本辖区",
    ReturnReason.incomplete_info: "诉求信息不全无法办理",
    ReturnReason.duplicate: "重复工单",
    ReturnReason.other: "其他",
}

HOTLINE_DISPATCH_ROLES = frozenset({Role.dispatcher, Role.supervisor, Role.admin})
INTAKE_ROLES = frozenset({Role.agent, Role.dispatcher, Role.supervisor, Role.admin, Role.channel})
DEPARTMENT_ROLES = frozenset({Role.dept_handler, Role.dept_head})
CALLBACK_ROLES = frozenset({Role.callback_agent, Role.supervisor, Role.admin})
CLOSE_ROLES = frozenset({Role.callback_agent, Role.dispatcher, Role.supervisor, Role.admin})
ESCALATION_ROLES = frozenset({Role.supervisor, Role.admin})


@dataclass
class NewAppeal:
    """What an agent (or another channel) registers: the 五要素 and the classification."""

    title: str
    content: str
    appeal_type: AppealType
    channel: Channel = Channel.phone
    phone: str | None = None
    contact_name: str | None = None
    address: str | None = None
    occurred_at: str | None = None
    category: str | None = None
    urgency: Urgency = Urgency.normal
    confidential: bool = False
    enterprise: bool = False
    source_call_id: str | None = None
    classification: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- shared steps


def _label(status: str) -> str:
    return STATUS_LABELS.get(TicketStatus(status), status)


def _check(
    ticket: Ticket,
    actor: User,
    *,
    action: str,
    version: int | None,
    statuses: Iterable[TicketStatus],
    roles: Iterable[Role],
) -> None:
    """Refuse a wrong role (403), then a stale version or a wrong state (409), saying which."""
    allowed_roles = set(roles)
    if Role(actor.role) not in allowed_roles:
        raise access.role_refusal(actor, allowed_roles, action)
    if version is not None and version != ticket.version:
        raise Conflict(
            f"工单已被他人修改（您看到的是第 {version} 版，当前为第 {ticket.version} 版），请刷新后重试",
            code="stale_version",
            current_version=ticket.version,
        )
    allowed = set(statuses)
    if TicketStatus(ticket.status) not in allowed:
        expected = "、".join(_label(s) for s in sorted(allowed, key=list(TicketStatus).index))
        raise Conflict(
            f"工单当前状态为「{_label(ticket.status)}」，不能{action}（需处于：{expected}）",
            code="invalid_state",
            status=ticket.status,
        )


def _record(
    session: Session,
    ticket: Ticket,
    actor: User | None,
    action: str,
    *,
    from_status: str | None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        ticket_id=ticket.id,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.display_name if actor else "系统",
        action=action,
        from_status=from_status,
        to_status=ticket.status,
        note=note,
        data=data or {},
    )
    session.add(event)
    hooks.emit(session, ticket, event)
    return event


def _touch(ticket: Ticket, now: datetime) -> None:
    # Always dirty the row so its version moves even when only child rows change.
    ticket.updated_at = now


def _flush(session: Session) -> None:
    session.flush()


def transition(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a state change: a concurrent writer's lost race (seen at any flush, autoflush
    included) becomes a :class:`Conflict` with the reason ``stale_version``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except StaleDataError as exc:
            raise Conflict("工单已被他人同时修改，请刷新后重试", code="stale_version") from exc

    return wrapper


def _require_text(value: str | None, what: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"请填写{what}", field=field)
    return text


def _department(session: Session, department_id: int, field: str = "department_id") -> Department:
    dept = session.get(Department, department_id)
    if dept is None or not dept.active:
        raise InvalidInput("部门不存在或已停用", field=field)
    return dept


def _actor_department_holds(session: Session, ticket: Ticket, actor: User, roles: set[str]) -> TicketAssignment:
    """The live assignment of the actor's department (or a unit it heads) on the ticket."""
    if actor.department_id is None:
        raise Forbidden("您不属于任何承办单位", code="no_department")
    for assignment in ticket.assignments:
        if assignment.status == AssignmentStatus.withdrawn or assignment.role not in roles:
            continue
        if access.is_within(session, assignment.department_id, actor.department_id):
            return assignment
    raise Forbidden("本单位不是该工单的承办单位，不能办理", code="not_assigned")


def _primary_assignment(ticket: Ticket) -> TicketAssignment | None:
    for assignment in ticket.assignments:
        if assignment.role == AssignmentRole.primary and assignment.status != AssignmentStatus.withdrawn:
            return assignment
    return None


def _calendar(session: Session) -> WorkCalendar:
    return WorkCalendar.load(session)


def next_ticket_number(session: Session, now: datetime) -> str:
    """20261122-000123: the local day and a per-day counter.

    On PostgreSQL the number is claimed in a transaction of its own, committed at once, so the
    counter's row is locked for a moment and not for the whole registration (registrations would
    otherwise queue on it). A registration that then fails leaves its number unused, as a sequence
    would. SQLite has one writer at a time anyway: there the claim is part of the registration.
    """
    day = now.astimezone(ZoneInfo(get_settings().timezone)).date()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        stmt = (
            postgresql.insert(TicketCounter)
            .values(day=day, last=1)
            .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1})
            .returning(TicketCounter.last)
        )
        with bind.engine.connect() as conn:  # type: ignore[union-attr]
            seq = conn.execute(stmt).scalar_one()
            conn.commit()
    else:
        stmt = (
            sqlite.insert(TicketCounter)
            .values(day=day, last=1)
            .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1})
            .returning(TicketCounter.last)
        )
        seq = session.execute(stmt).scalar_one()
    return f"{day:%Y%m%d}-{seq:06d}"


def find_or_create_citizen(session: Session, phone: str, name: str | None = None) -> Citizen:
    normalised = citizen_phone(phone)
    if normalised is None:
        raise InvalidInput("电话号码无效（不能是 110、12345 等服务号码）", field="phone")
    citizen = session.scalar(select(Citizen).where(Citizen.phone == normalised))
    if citizen is None:
        citizen = Citizen(phone=normalised, name=name)
        session.add(citizen)
        session.flush()
    elif name and not citizen.name:
        citizen.name = name
    return citizen


def _assign(
    session: Session,
    ticket: Ticket,
    department_id: int,
    role: AssignmentRole,
    actor: User,
    now: datetime,
    parent: TicketAssignment | None = None,
) -> TicketAssignment:
    assignable_department(session, department_id, role)
    assignment = TicketAssignment(
        ticket=ticket,
        department_id=department_id,
        role=role.value,
        status=AssignmentStatus.dispatched.value,
        parent_assignment_id=parent.id if parent else None,
        dispatched_by_id=actor.id,
        dispatched_at=now,
    )
    session.add(assignment)
    return assignment


# The request field that names the department of each kind of assignment (for the 422's loc).
ASSIGNMENT_FIELDS = {
    AssignmentRole.primary: "primary_department_id",
    AssignmentRole.assist: "assist_department_ids",
    AssignmentRole.sub: "department_id",
}


def assignable_department(session: Session, department_id: int, role: AssignmentRole) -> Department:
    """The department a ticket may be given to as ``role``, or 422 on the request's field."""
    field = ASSIGNMENT_FIELDS[role]
    dept = _department(session, department_id, field)
    if dept.kind == DepartmentKind.hotline:
        # The center itself has no one who signs or handles tickets: the ticket would stall.
        raise InvalidInput("不能派给热线中心本身，请选择承办单位", field=field)
    return dept


def _withdraw_all(ticket: Ticket) -> None:
    for assignment in ticket.assignments:
        assignment.status = AssignmentStatus.withdrawn.value


def _route_to(
    session: Session,
    ticket: Ticket,
    actor: User,
    primary_department_id: int,
    assist_department_ids: Sequence[int],
    now: datetime,
) -> None:
    if primary_department_id in assist_department_ids:
        raise InvalidInput("主办单位不能同时是协办单位", field="assist_department_ids")
    if len(set(assist_department_ids)) != len(assist_department_ids):
        raise InvalidInput("协办单位重复", field="assist_department_ids")
    _assign(session, ticket, primary_department_id, AssignmentRole.primary, actor, now)
    for dept_id in assist_department_ids:
        _assign(session, ticket, dept_id, AssignmentRole.assist, actor, now)
    ticket.primary_department_id = primary_department_id
    ticket.status = TicketStatus.dispatched.value
    ticket.dispatched_at = now
    ticket.signed_at = None
    set_dispatch_deadlines(session, ticket, now, _calendar(session))


def _deadlines(ticket: Ticket) -> dict[str, str | None]:
    return {
        name: (value.isoformat() if value else None)
        for name, value in (
            ("sign_due", ticket.sign_due),
            ("reply_due", ticket.reply_due),
            ("return_due", ticket.return_due),
            ("callback_due", ticket.callback_due),
        )
    }


# ---------------------------------------------------------------- intake


@transition
def register_ticket(session: Session, actor: User, appeal: NewAppeal) -> Ticket:
    """登记: record the appeal with its 五要素 and attach the caller."""
    if Role(actor.role) not in INTAKE_ROLES:
        raise access.role_refusal(actor, INTAKE_ROLES, "登记工单")
    title = _require_text(appeal.title, "诉求标题", "title")
    content = _require_text(appeal.content, "诉求内容", "content")
    if appeal.channel == Channel.phone and not appeal.phone:
        raise InvalidInput("电话渠道的工单必须有来电号码", field="phone")
    citizen = find_or_create_citizen(session, appeal.phone, appeal.contact_name) if appeal.phone else None
    # The model's proposals come from the agent's form (or a worker adds them after the commit);
    # a safety rule's urgency is applied now: it is a floor nobody lowers.
    rule = (
        classification.safety_rule(title, content)
        if appeal.classification is None
        else appeal.classification.get("urgency_rule")
    )
    category = appeal.category or classification.proposed(appeal.classification, "category")
    urgency = classification.at_least(appeal.urgency, classification.rule_urgency(rule))
    now = utcnow()
    ticket = Ticket(
        number=next_ticket_number(session, now),
        channel=appeal.channel.value,
        status=TicketStatus.registered.value,
        citizen_id=citizen.id if citizen else None,
        citizen=citizen,
        contact_name=appeal.contact_name,
        occurred_at=appeal.occurred_at,
        address=appeal.address,
        title=title,
        content=content,
        appeal_type=appeal.appeal_type.value,
        category=category,
        urgency=urgency.value,
        confidential=appeal.confidential or bool(citizen and citizen.confidential),
        enterprise=appeal.enterprise,
        source_call_id=appeal.source_call_id,
        classification=appeal.classification,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    _flush(session)
    set_committed_value(ticket, "assignments", [])  # a new ticket has none: no query to learn it
    if citizen:
        session.add(TicketCaller(ticket_id=ticket.id, citizen_id=citizen.id, added_at=now))
    classification.record_corrections(session, ticket, actor)
    note = f"{APPEAL_TYPE_LABELS[appeal.appeal_type]}，渠道 {appeal.channel.value}"
    if rule and urgency != appeal.urgency:
        note += f"；安全规则「{rule['name']}」定为{rule['urgency']}"
    _record(
        session,
        ticket,
        actor,
        "register",
        from_status=None,
        note=note,
        data={
            "after": {"appeal_type": ticket.appeal_type, "category": ticket.category, "urgency": ticket.urgency},
            "model_version": (appeal.classification or {}).get("model_version"),
            "urgency_rule": rule,
        },
    )
    _flush(session)
    return ticket


@transition
def reject_intake(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, reason: str, note: str | None = None
) -> Ticket:
    """不予受理, with one of the published reasons."""
    _check(ticket, actor, action="不予受理", version=version, statuses=[TicketStatus.registered], roles=INTAKE_ROLES)
    if reason not in NOT_ACCEPTED_REASONS:
        raise InvalidInput(f"不予受理原因无效：{reason}", field="reason")
    if reason == "other":
        note = _require_text(note, "不予受理说明", "note")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.not_accepted.value
    ticket.resolution = "not_accepted"
    ticket.answer_text = f"{NOT_ACCEPTED_REASONS[reason]}" + (f"：{note}" if note else "")
    ticket.closed_at = now
    _touch(ticket, now)
    _record(
        session, ticket, actor, "reject_intake", from_status=before, note=ticket.answer_text, data={"reason": reason}
    )
    _flush(session)
    return ticket


@transition
def transfer_emergency(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    target: EmergencyService,
    note: str | None = None,
) -> Ticket:
    """即时转办 to 110/119/120/122."""
    _check(ticket, actor, action="即时转办", version=version, statuses=[TicketStatus.registered], roles=INTAKE_ROLES)
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.transferred.value
    ticket.resolution = "transferred"
    ticket.transfer_target = target.value
    ticket.closed_at = now
    _touch(ticket, now)
    _record(session, ticket, actor, "transfer_emergency", from_status=before, note=note, data={"target": target.value})
    _flush(session)
    return ticket


@transition
def answer_directly(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, answer: str, article_id: int | None = None
) -> Ticket:
    """直办: answered on the call (知识库 or 三方通话) and closed at once. ``article_id``: the
    知识库 article that answered the citizen (the knowledge package checks it and counts the use)."""
    _check(ticket, actor, action="直办", version=version, statuses=[TicketStatus.registered], roles=INTAKE_ROLES)
    answer = _require_text(answer, "答复内容", "answer")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.closed.value
    ticket.resolution = "direct"
    ticket.answer_text = answer
    ticket.closed_at = now
    _touch(ticket, now)
    data = {"article_id": article_id} if article_id is not None else None
    _record(session, ticket, actor, "answer_directly", from_status=before, note=answer, data=data)
    _flush(session)
    return ticket


# ---------------------------------------------------------------- dispatch and 退单


@transition
def dispatch_ticket(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int,
    assist_department_ids: Sequence[int] = (),
    note: str | None = None,
    reasons: dict[str, Any] | None = None,
) -> Ticket:
    """派单 to one 主办 and optional 协办 departments; starts the sign, return and reply clocks."""
    _check(
        ticket, actor, action="派单", version=version, statuses=[TicketStatus.registered], roles=HOTLINE_DISPATCH_ROLES
    )
    before = ticket.status
    now = utcnow()
    _route_to(session, ticket, actor, primary_department_id, list(assist_department_ids), now)
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "dispatch",
        from_status=before,
        note=note,
        data={
            "primary_department_id": primary_department_id,
            "assist_department_ids": list(assist_department_ids),
            "deadlines": _deadlines(ticket),
            "reasons": reasons or {},
        },
    )
    _flush(session)
    return ticket


@transition
def sign_ticket(session: Session, ticket: Ticket, actor: User, *, version: int | None) -> Ticket:
    """签收 by the department holding the ticket (主办 moves the ticket; 协办/加派 sign their part)."""
    _check(
        ticket,
        actor,
        action="签收",
        version=version,
        statuses=[TicketStatus.dispatched, TicketStatus.in_progress],
        roles=DEPARTMENT_ROLES,
    )
    assignment = _actor_department_holds(
        session, ticket, actor, {AssignmentRole.primary, AssignmentRole.assist, AssignmentRole.sub}
    )
    if assignment.signed_at is not None:
        raise Conflict("本单位已签收该工单", code="already_signed")
    before = ticket.status
    now = utcnow()
    assignment.status = AssignmentStatus.signed.value
    assignment.signed_at = now
    assignment.signed_by_id = actor.id
    if assignment.role == AssignmentRole.primary:
        if ticket.status != TicketStatus.dispatched:
            raise Conflict("工单不在待签收状态", code="invalid_state")
        ticket.status = TicketStatus.in_progress.value
        ticket.signed_at = now
        ticket.sign_due = None
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "sign",
        from_status=before,
        data={"department_id": assignment.department_id, "role": assignment.role},
    )
    _flush(session)
    return ticket


@transition
def return_ticket(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, reason: str, note: str
) -> Ticket:
    """退单: the 主办 department sends the ticket back, with a reason, inside its window."""
    _check(
        ticket,
        actor,
        action="退单",
        version=version,
        statuses=[TicketStatus.dispatched, TicketStatus.in_progress],
        roles=DEPARTMENT_ROLES,
    )
    _actor_department_holds(session, ticket, actor, {AssignmentRole.primary})
    if reason not in RETURN_REASONS:
        raise InvalidInput(f"退单原因无效：{reason}", field="reason", allowed=[r.value for r in ReturnReason])
    note = _require_text(note, "退单说明", "note")
    now = utcnow()
    if ticket.return_due is not None and now > ticket.return_due:
        raise Conflict(f"已超过退单时限（{ticket.return_due.isoformat()}），不能退单", code="return_window_passed")
    before = ticket.status
    ticket.status = TicketStatus.returned.value
    ticket.return_count += 1
    # Nothing to sign while the hotline rules on it; the reply clock is kept for the record.
    ticket.sign_due = None
    ticket.return_due = None
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "return",
        from_status=before,
        note=note,
        data={"reason": reason, "department_id": ticket.primary_department_id, "return_count": ticket.return_count},
    )
    _flush(session)
    return ticket


@transition
def accept_return(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int,
    assist_department_ids: Sequence[int] = (),
    note: str | None = None,
    reasons: dict[str, Any] | None = None,
) -> Ticket:
    """退单 accepted: 改派 to another department, all clocks fresh."""
    _check(
        ticket, actor, action="改派", version=version, statuses=[TicketStatus.returned], roles=HOTLINE_DISPATCH_ROLES
    )
    if primary_department_id == ticket.primary_department_id:
        raise InvalidInput("改派须选择退单单位以外的主办单位", field="primary_department_id")
    before = ticket.status
    previous = ticket.primary_department_id
    now = utcnow()
    _withdraw_all(ticket)
    _route_to(session, ticket, actor, primary_department_id, list(assist_department_ids), now)
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "accept_return",
        from_status=before,
        note=note,
        data={
            "from_department_id": previous,
            "primary_department_id": primary_department_id,
            "assist_department_ids": list(assist_department_ids),
            "deadlines": _deadlines(ticket),
            "reasons": reasons or {},
        },
    )
    _flush(session)
    return ticket


@transition
def reject_return(session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str) -> Ticket:
    """退单 rejected: forced back to the same department.

    It must sign again (fresh sign and return windows), but the reply deadline is the original
    one: time spent on an unfounded 退单 is the department's.
    """
    _check(
        ticket,
        actor,
        action="驳回退单",
        version=version,
        statuses=[TicketStatus.returned],
        roles=HOTLINE_DISPATCH_ROLES,
    )
    note = _require_text(note, "驳回理由", "note")
    before = ticket.status
    now = utcnow()
    primary = _primary_assignment(ticket)
    if primary is None:
        raise Conflict("工单没有主办单位", code="no_primary")
    primary.status = AssignmentStatus.dispatched.value
    primary.signed_at = None
    primary.signed_by_id = None
    cal = _calendar(session)
    sign = resolve_limit(session, LimitKind.sign, ticket.appeal_type, ticket.urgency)
    back = resolve_limit(session, LimitKind.return_window, ticket.appeal_type, ticket.urgency)
    ticket.status = TicketStatus.dispatched.value
    ticket.signed_at = None
    ticket.sign_due = cal.add(now, sign.amount, sign.unit)
    ticket.return_due = cal.add(now, back.amount, back.unit)
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "reject_return",
        from_status=before,
        note=note,
        data={"department_id": primary.department_id, "deadlines": _deadlines(ticket)},
    )
    _flush(session)
    return ticket


@transition
def add_sub_assignment(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, department_id: int, note: str | None = None
) -> Ticket:
    """加派: the handling department passes part of the work to a unit below it (四级联动)."""
    _check(ticket, actor, action="加派", version=version, statuses=[TicketStatus.in_progress], roles=DEPARTMENT_ROLES)
    parent = _actor_department_holds(session, ticket, actor, {AssignmentRole.primary, AssignmentRole.sub})
    if department_id == parent.department_id or not access.is_within(session, department_id, parent.department_id):
        raise InvalidInput("只能加派给本单位的下级单位", field="department_id")
    if any(a.department_id == department_id and a.status != AssignmentStatus.withdrawn for a in ticket.assignments):
        raise Conflict("该单位已在办理此工单", code="already_assigned")
    before = ticket.status
    now = utcnow()
    _assign(session, ticket, department_id, AssignmentRole.sub, actor, now, parent=parent)
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "add_sub_assignment",
        from_status=before,
        note=note,
        data={"department_id": department_id, "parent_department_id": parent.department_id},
    )
    _flush(session)
    return ticket


# ---------------------------------------------------------------- extension


@transition
def request_extension(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, working_days: int, reason: str
) -> ExtensionRequest:
    """延期申请: before the reply deadline, within the longest extension and count allowed."""
    _check(
        ticket, actor, action="申请延期", version=version, statuses=[TicketStatus.in_progress], roles=DEPARTMENT_ROLES
    )
    _actor_department_holds(session, ticket, actor, {AssignmentRole.primary})
    reason = _require_text(reason, "延期理由", "reason")
    longest = resolve_limit(session, LimitKind.extension_max, ticket.appeal_type, ticket.urgency)
    if longest.unit != LimitUnit.working_days:
        raise Conflict("延期上限须以工作日计", code="policy")
    if not 1 <= working_days <= longest.amount:
        raise InvalidInput(f"延期天数须在 1 到 {longest.amount} 个工作日之间", field="working_days")
    max_count = int(read_setting(session, "extension_max_count", 1))
    if ticket.extension_count >= max_count:
        raise Conflict(f"该工单已延期 {ticket.extension_count} 次，不能再申请", code="extension_limit")
    pending = session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.ticket_id == ticket.id, ExtensionRequest.status == ExtensionStatus.pending.value
        )
    )
    if pending is not None:
        raise Conflict("已有待审批的延期申请", code="extension_pending")
    now = utcnow()
    if ticket.reply_due is not None and now > ticket.reply_due:
        raise Conflict("已超过办理时限，不能再申请延期", code="deadline_passed")
    request = ExtensionRequest(
        ticket_id=ticket.id, requested_by_id=actor.id, requested_at=now, working_days=working_days, reason=reason
    )
    session.add(request)
    _touch(ticket, now)
    _flush(session)
    _record(
        session,
        ticket,
        actor,
        "request_extension",
        from_status=ticket.status,
        note=reason,
        data={"extension_request_id": request.id, "working_days": working_days},
    )
    _flush(session)
    return request


def _pending_extension(session: Session, ticket: Ticket) -> ExtensionRequest:
    request = session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.ticket_id == ticket.id, ExtensionRequest.status == ExtensionStatus.pending.value
        )
    )
    if request is None:
        raise Conflict("没有待审批的延期申请", code="no_pending_extension")
    return request


@transition
def approve_extension(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str | None = None
) -> ExtensionRequest:
    """延期 approved: the reply deadline moves by the working days asked for."""
    _check(
        ticket,
        actor,
        action="审批延期",
        version=version,
        statuses=[TicketStatus.in_progress],
        roles=HOTLINE_DISPATCH_ROLES,
    )
    request = _pending_extension(session, ticket)
    now = utcnow()
    before_due = ticket.reply_due
    base = max(ticket.reply_due or now, now)
    ticket.reply_due = _calendar(session).add_working_days(base, request.working_days)
    ticket.extension_count += 1
    request.status = ExtensionStatus.approved.value
    request.decided_by_id = actor.id
    request.decided_at = now
    request.decision_note = note
    request.new_reply_due = ticket.reply_due
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "approve_extension",
        from_status=ticket.status,
        note=note,
        data={
            "extension_request_id": request.id,
            "before": {"reply_due": before_due.isoformat() if before_due else None},
            "after": {"reply_due": ticket.reply_due.isoformat()},
        },
    )
    _flush(session)
    return request


@transition
def refuse_extension(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str
) -> ExtensionRequest:
    _check(
        ticket,
        actor,
        action="审批延期",
        version=version,
        statuses=[TicketStatus.in_progress],
        roles=HOTLINE_DISPATCH_ROLES,
    )
    note = _require_text(note, "不同意延期的理由", "note")
    request = _pending_extension(session, ticket)
    now = utcnow()
    request.status = ExtensionStatus.refused.value
    request.decided_by_id = actor.id
    request.decided_at = now
    request.decision_note = note
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "refuse_extension",
        from_status=ticket.status,
        note=note,
        data={"extension_request_id": request.id},
    )
    _flush(session)
    return request


# ---------------------------------------------------------------- reply, review, callback, close


@transition
def reply_ticket(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    handling: str,
    resolved: bool,
    public_answer: str,
) -> Ticket:
    """回复: 办理情况, 是否解决 and the public answer, by the 主办 department."""
    _check(ticket, actor, action="回复", version=version, statuses=[TicketStatus.in_progress], roles=DEPARTMENT_ROLES)
    primary = _actor_department_holds(session, ticket, actor, {AssignmentRole.primary})
    handling = _require_text(handling, "办理情况", "handling")
    public_answer = _require_text(public_answer, "答复内容", "public_answer")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.replied.value
    ticket.handling_text = handling
    ticket.public_answer = public_answer
    ticket.resolved = resolved
    ticket.replied_at = now
    primary.status = AssignmentStatus.replied.value
    on_time = ticket.reply_due is None or now <= ticket.reply_due
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "reply",
        from_status=before,
        note=handling,
        data={"resolved": resolved, "on_time": on_time},
    )
    _flush(session)
    return ticket


@transition
def review_reply(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, accept: bool, note: str | None = None
) -> Ticket:
    """审核: accept the reply (the 回访 clock starts) or send it back for 补办."""
    _check(
        ticket, actor, action="审核回复", version=version, statuses=[TicketStatus.replied], roles=HOTLINE_DISPATCH_ROLES
    )
    before = ticket.status
    now = utcnow()
    if accept:
        ticket.status = TicketStatus.awaiting_callback.value
        set_callback_deadline(session, ticket, now, _calendar(session))
        ticket.sign_due = ticket.return_due = None
        action = "accept_reply"
    else:
        note = _require_text(note, "退回补办的理由", "note")
        ticket.status = TicketStatus.in_progress.value
        primary = _primary_assignment(ticket)
        if primary:
            primary.status = AssignmentStatus.signed.value
        action = "send_back_reply"
    _touch(ticket, now)
    _record(session, ticket, actor, action, from_status=before, note=note, data={"deadlines": _deadlines(ticket)})
    _flush(session)
    return ticket


@transition
def record_callback(
    session: Session,
    ticket: Ticket,
    actor: User | None,
    *,
    version: int | None,
    satisfaction: Satisfaction,
    resolved: bool,
    method: str,
    service_satisfaction: Satisfaction | None = None,
    note: str | None = None,
) -> Ticket:
    """回访 result: 满意/基本满意/不满意 and 已解决/未解决; ``actor`` None is the IVR or SMS survey."""
    if actor is not None:
        _check(
            ticket,
            actor,
            action="登记回访结果",
            version=version,
            statuses=[TicketStatus.awaiting_callback],
            roles=CALLBACK_ROLES,
        )
    elif ticket.status != TicketStatus.awaiting_callback:
        raise Conflict(f"工单当前状态为「{_label(ticket.status)}」，不能登记回访结果", code="invalid_state")
    if method not in {"agent", "ivr", "sms", "web"}:
        raise InvalidInput(f"回访方式无效：{method}", field="method")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.callback_done.value
    ticket.satisfaction = satisfaction.value
    ticket.callback_resolved = resolved
    ticket.service_satisfaction = service_satisfaction.value if service_satisfaction else None
    ticket.callback_due = None
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "record_callback",
        from_status=before,
        note=note,
        data={
            "satisfaction": satisfaction.value,
            "resolved": resolved,
            "service_satisfaction": ticket.service_satisfaction,
            "method": method,
        },
    )
    _flush(session)
    return ticket


@transition
def close_ticket(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str | None = None
) -> Ticket:
    """办结/归档 after the callback, or without one when the citizen could not be reached."""
    _check(
        ticket,
        actor,
        action="办结",
        version=version,
        statuses=[TicketStatus.callback_done, TicketStatus.awaiting_callback],
        roles=CLOSE_ROLES,
    )
    if ticket.status == TicketStatus.awaiting_callback:
        note = _require_text(note, "未回访即办结的原因（如多次联系不上）", "note")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.closed.value
    ticket.resolution = ticket.resolution or "handled"
    ticket.closed_at = now
    clear_deadlines(ticket)
    _touch(ticket, now)
    _record(session, ticket, actor, "close", from_status=before, note=note)
    _flush(session)
    return ticket


@transition
def reopen_ticket(session: Session, ticket: Ticket, actor: User | None, *, version: int | None, reason: str) -> Ticket:
    """重办: back to the same 主办 department with fresh clocks; counted."""
    reopenable = [TicketStatus.callback_done, TicketStatus.closed]
    if actor is not None:
        _check(
            ticket,
            actor,
            action="重办",
            version=version,
            statuses=reopenable,
            roles={Role.callback_agent, Role.dispatcher, Role.supervisor, Role.admin},
        )
    elif TicketStatus(ticket.status) not in reopenable:
        raise Conflict(f"工单当前状态为「{_label(ticket.status)}」，不能重办", code="invalid_state")
    reason = _require_text(reason, "重办原因", "reason")
    if ticket.resolution in {"direct", "not_accepted", "transferred"} or ticket.primary_department_id is None:
        raise Conflict("该工单未派单办理，不能重办", code="not_dispatched")
    before = ticket.status
    now = utcnow()
    primary = _primary_assignment(ticket)
    if primary is None:
        raise Conflict("工单没有主办单位", code="no_primary")
    ticket.reopen_count += 1
    ticket.closed_at = None
    ticket.resolution = None
    for assignment in ticket.assignments:
        if assignment.status != AssignmentStatus.withdrawn:
            assignment.status = AssignmentStatus.dispatched.value
            assignment.signed_at = None
            assignment.signed_by_id = None
    ticket.status = TicketStatus.dispatched.value
    ticket.dispatched_at = now
    ticket.signed_at = None
    set_dispatch_deadlines(session, ticket, now, _calendar(session))
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "reopen",
        from_status=before,
        note=reason,
        data={
            "reopen_count": ticket.reopen_count,
            "satisfaction": ticket.satisfaction,
            "deadlines": _deadlines(ticket),
        },
    )
    _flush(session)
    return ticket


# ---------------------------------------------------------------- notes


@transition
def add_note(
    session: Session,
    ticket: Ticket,
    actor: User | None,
    *,
    action: str,
    note: str,
    data: dict[str, Any] | None = None,
    touch: bool = True,
) -> TimelineEvent:
    """A timeline entry that changes no state (e.g. the live call was transferred, 催办 by phone).

    ``touch=False`` leaves the ticket's version alone: an entry about a child row (an attachment)
    must not make a colleague's pending reply stale."""
    note = _require_text(note, "备注", "note")
    if touch:
        _touch(ticket, utcnow())
    event = _record(session, ticket, actor, action, from_status=ticket.status, note=note, data=data)
    _flush(session)
    return event


# ---------------------------------------------------------------- 督办 (escalation level)


@dataclass(frozen=True)
class Escalation:
    """One raise of one ticket's escalation level (an item of :func:`escalate_tickets`)."""

    ticket: Ticket
    level: int
    cause: str
    note: str | None = None
    data: dict[str, Any] | None = None


@transition
def escalate_ticket(
    session: Session,
    ticket: Ticket,
    actor: User | None,
    *,
    level: int,
    cause: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    flush: bool = True,
) -> Ticket:
    """督办: raise the ticket's escalation level (never lowers it); ``actor`` None is the sweep.

    One item of :func:`escalate_tickets`, which writes the change and its timeline event.
    """
    escalate_tickets(session, [Escalation(ticket, level, cause, note, data)], actor, flush=flush)
    return ticket


def escalation_steps(items: Sequence[tuple[Ticket, int]]) -> list[tuple[int, int]]:
    """(level before, level after) of each (ticket, level) 督办 of a batch, in order: a ticket named
    twice starts its second step where the first left it; a level never goes down."""
    levels: dict[int, int] = {}  # id(ticket) -> its level after the items so far
    steps: list[tuple[int, int]] = []
    for ticket, level in items:
        before = levels.get(id(ticket), ticket.escalation_level)
        levels[id(ticket)] = max(before, level)
        steps.append((before, levels[id(ticket)]))
    return steps


@transition
def escalate_tickets(
    session: Session, items: Sequence[Escalation], actor: User | None, *, flush: bool = True
) -> list[TimelineEvent]:
    """督办 of many tickets at once (the sweep's batch): each item raises its ticket's level
    (never lowers it) and writes one timeline event, in order; returns the events, in order.

    The escalation package keeps its own exactly-once record per (ticket, level, cause); this
    writes the change on the tickets and their timeline events in the same transaction. The
    tickets' rows are written in one executemany UPDATE, each checked against its version (a
    lost race is a Conflict ``stale_version``), and their in-memory state set to what was
    written. The events are flushed at once with ``flush=True``; the sweep, which holds its
    tickets' rows locked, passes ``flush=False`` and flushes them with the rest of its batch.
    """
    if actor is not None and Role(actor.role) not in ESCALATION_ROLES:
        raise access.role_refusal(actor, ESCALATION_ROLES, "督办")
    for item in items:
        if not 1 <= item.level <= 5:
            raise InvalidInput("督办级别须在 1 到 5 之间", field="level")
        if TicketStatus(item.ticket.status) not in OPEN_STATUSES:
            raise Conflict(f"工单当前状态为「{_label(item.ticket.status)}」，不能督办", code="invalid_state")
    steps = escalation_steps([(item.ticket, item.level) for item in items])
    final = {id(item.ticket): (item.ticket, after) for item, (_before, after) in zip(items, steps, strict=True)}
    _write_levels(session, list(final.values()), utcnow())
    events = [
        _record(
            session,
            item.ticket,
            actor,
            "escalate",
            from_status=item.ticket.status,
            note=item.note,
            data={"level": item.level, "cause": item.cause, "before": before, "after": after, **(item.data or {})},
        )
        for item, (before, after) in zip(items, steps, strict=True)
    ]
    if flush:
        _flush(session)
    return events


def _write_levels(session: Session, changes: list[tuple[Ticket, int]], now: datetime) -> None:
    """UPDATE each ticket's level, ``updated_at`` and version in one executemany (version
    checked), then set the loaded objects to what was written (nothing left for the ORM)."""
    if not changes:
        return
    session.flush()  # pending changes of these tickets first, so that their versions are current
    table = Ticket.__table__
    stmt = (
        table.update()  # type: ignore[attr-defined]
        .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
        .values(escalation_level=bindparam("b_level"), updated_at=now, version=table.c.version + 1)
    )
    rows = [{"b_id": t.id, "b_version": t.version, "b_level": level} for t, level in changes]
    if session.get_bind().dialect.supports_sane_multi_rowcount:
        matched = session.execute(stmt, rows).rowcount  # type: ignore[attr-defined]
    else:
        matched = sum(session.execute(stmt, row).rowcount for row in rows)  # type: ignore[attr-defined]
    if matched != len(rows):
        raise StaleDataError(f"UPDATE of tickets matched {matched} of {len(rows)} rows at their versions")
    for ticket, level in changes:
        set_committed_value(ticket, "escalation_level", level)
        set_committed_value(ticket, "updated_at", now)
        set_committed_value(ticket, "version", ticket.version + 1)


@transition
def settle_escalation(session: Session, ticket: Ticket, actor: User, *, level: int, reason: str) -> Ticket:
    """A supervisor sets the level by hand (e.g. lowers it once the department has acted)."""
    if Role(actor.role) not in ESCALATION_ROLES:
        raise access.role_refusal(actor, ESCALATION_ROLES, "调整督办级别")
    if not 0 <= level <= 5:
        raise InvalidInput("督办级别须在 0 到 5 之间", field="level")
    reason = _require_text(reason, "调整督办级别的理由", "reason")
    before = ticket.escalation_level
    now = utcnow()
    ticket.escalation_level = level
    _touch(ticket, now)
    _record(
        session,
        ticket,
        actor,
        "settle_escalation",
        from_status=ticket.status,
        note=reason,
        data={"before": before, "after": level},
    )
    _flush(session)
    return ticket


# ---------------------------------------------------------------- 并单


MERGEABLE = frozenset(
    {TicketStatus.registered, TicketStatus.dispatched, TicketStatus.in_progress, TicketStatus.returned}
)


@transition
def merge_ticket(
    session: Session, ticket: Ticket, actor: User, *, version: int | None, into: Ticket, note: str | None = None
) -> Ticket:
    """并单: ``ticket`` joins ``into``; all its callers are kept (and called back) on ``into``."""
    _check(
        ticket,
        actor,
        action="并单",
        version=version,
        statuses=MERGEABLE,
        roles={Role.agent, Role.dispatcher, Role.supervisor, Role.admin},
    )
    if into.id == ticket.id:
        raise InvalidInput("不能与自身并单", field="into_ticket_id")
    if TicketStatus(into.status) not in OPEN_STATUSES:
        raise Conflict(f"目标工单状态为「{_label(into.status)}」，不能并入", code="target_not_open")
    before = ticket.status
    now = utcnow()
    ticket.status = TicketStatus.merged.value
    ticket.merged_into_id = into.id
    ticket.closed_at = now
    clear_deadlines(ticket)
    _withdraw_all(ticket)
    into.repeat_count += 1 + ticket.repeat_count
    known = set(session.scalars(select(TicketCaller.citizen_id).where(TicketCaller.ticket_id == into.id)))
    callers = session.scalars(select(TicketCaller.citizen_id).where(TicketCaller.ticket_id == ticket.id)).all()
    for citizen_id in callers:
        if citizen_id not in known:
            session.add(
                TicketCaller(ticket_id=into.id, citizen_id=citizen_id, source_ticket_id=ticket.id, added_at=now)
            )
            known.add(citizen_id)
    _touch(ticket, now)
    _touch(into, now)
    _record(
        session,
        ticket,
        actor,
        "merge",
        from_status=before,
        note=note,
        data={"into_ticket_id": into.id, "into_number": into.number},
    )
    _record(
        session,
        into,
        actor,
        "merged_in",
        from_status=into.status,
        note=note,
        data={"ticket_id": ticket.id, "number": ticket.number, "repeat_count": into.repeat_count},
    )
    _flush(session)
    return ticket


# ---------------------------------------------------------------- reading


# The deadlines a calendar change can move, with the limit each is counted by.
DEADLINE_LIMITS = {
    "sign_due": LimitKind.sign,
    "return_due": LimitKind.return_window,
    "reply_due": LimitKind.reply,
    "callback_due": LimitKind.callback,
}


@transition
def recalendar(session: Session, ticket: Ticket, before: WorkCalendar, after: WorkCalendar, now: datetime) -> bool:
    """The calendar changed (an override, a year's notice): the ticket's future deadlines
    counted in working days move to what the new calendar gives (the reminders and 督办 follow
    them at the next sweep). Recorded, with before and after, when anything moved."""
    moved: dict[str, tuple[datetime, datetime]] = {}
    for column, kind in DEADLINE_LIMITS.items():
        due = getattr(ticket, column)
        if due is None or due <= now:
            continue
        if resolve_limit(session, kind, ticket.appeal_type, ticket.urgency).unit is not LimitUnit.working_days:
            continue
        new_due = after.carry_over(due, now, before)
        if new_due != due:
            moved[column] = (due, new_due)
            setattr(ticket, column, new_due)
    if not moved:
        return False
    _touch(ticket, now)
    _record(
        session,
        ticket,
        None,
        "recalendar",
        from_status=ticket.status,
        note="工作日历调整，期限随之变更",
        data={
            "before": {k: v[0].isoformat() for k, v in moved.items()},
            "after": {k: v[1].isoformat() for k, v in moved.items()},
        },
    )
    _flush(session)
    return True


def recalendar_open_tickets(session: Session, before: WorkCalendar) -> int:
    """After a calendar change (call with the calendar as it was): move the open tickets'
    future deadlines; returns how many tickets moved."""
    now = utcnow()
    after = WorkCalendar.load(session)
    ids = session.scalars(
        select(Ticket.id)
        .where(
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            or_(Ticket.sign_due > now, Ticket.reply_due > now, Ticket.return_due > now, Ticket.callback_due > now),
        )
        .order_by(Ticket.id)
    ).all()
    moved = 0
    for start in range(0, len(ids), 500):
        for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ids[start : start + 500]))):
            moved += recalendar(session, ticket, before, after, now)
    return moved


def timeline(session: Session, ticket_id: int) -> list[TimelineEvent]:
    return list(
        session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id))
    )
