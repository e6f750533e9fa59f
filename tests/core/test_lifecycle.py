"""Every transition of the ticket, and every refusal, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.db import get_sessionmaker, utcnow
from hotline.enums import (
    AppealType,
    AssignmentStatus,
    EmergencyService,
    ExtensionStatus,
    Satisfaction,
    TicketStatus,
)
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.models import Ticket, TicketCaller, TimelineEvent
from tests.conftest import Org
from tests.core.factory import register, ticket_in, user


def actions(session: Session, ticket_id: int) -> list[str]:
    return [e.action for e in lifecycle.timeline(session, ticket_id)]


def test_whole_life_of_a_ticket(db: tuple[Session, Org]) -> None:
    session, org = db
    u = lambda name: user(session, org, name)  # noqa: E731
    t = register(session, org)
    assert t.number.endswith("-000001") and t.status == TicketStatus.registered
    assert t.citizen is not None and t.citizen.phone == "+8613800000001"

    lifecycle.dispatch_ticket(
        session,
        t,
        u("dispatcher"),
        version=t.version,
        primary_department_id=org.dept["dc.hp"],
        assist_department_ids=[org.dept["cgj"]],
        note="属地主办，城管协办",
    )
    assert t.status == TicketStatus.dispatched and t.primary_department_id == org.dept["dc.hp"]
    assert t.sign_due and t.reply_due and t.return_due
    assert timedelta(minutes=59) < t.sign_due - t.dispatched_at <= timedelta(hours=1)  # type: ignore[operator]

    lifecycle.sign_ticket(session, t, u("cgj"), version=t.version)  # 协办 signs its part
    assert t.status == TicketStatus.dispatched
    lifecycle.sign_ticket(session, t, u("hp"), version=t.version)
    assert t.status == TicketStatus.in_progress and t.sign_due is None

    lifecycle.add_sub_assignment(
        session, t, u("hp"), version=t.version, department_id=org.dept["dc.hp.xy"], note="请社区上门核实"
    )
    lifecycle.sign_ticket(session, t, u("xy"), version=t.version)

    due_before = t.reply_due
    request = lifecycle.request_extension(session, t, u("hp"), version=t.version, working_days=5, reason="需协调多部门")
    assert request.status == ExtensionStatus.pending
    lifecycle.approve_extension(session, t, u("dispatcher"), version=t.version)
    assert t.extension_count == 1 and t.reply_due > due_before  # type: ignore[operator]

    lifecycle.reply_ticket(
        session, t, u("hp"), version=t.version, handling="已约谈店主", resolved=False, public_answer="已责令整改"
    )
    lifecycle.review_reply(session, t, u("dispatcher"), version=t.version, accept=False, note="请写明整改期限")
    assert t.status == TicketStatus.in_progress
    lifecycle.reply_ticket(
        session,
        t,
        u("hp"),
        version=t.version,
        handling="已约谈店主，限期三日整改",
        resolved=True,
        public_answer="已责令三日内整改",
    )
    lifecycle.review_reply(session, t, u("dispatcher"), version=t.version, accept=True)
    assert t.status == TicketStatus.awaiting_callback and t.callback_due is not None

    lifecycle.record_callback(
        session,
        t,
        u("callback"),
        version=t.version,
        satisfaction=Satisfaction.unsatisfied,
        resolved=False,
        method="agent",
        note="夜间仍有噪音",
    )
    lifecycle.reopen_ticket(session, t, u("callback"), version=t.version, reason="群众反映未整改到位")
    assert t.status == TicketStatus.dispatched and t.reopen_count == 1
    assert all(a.signed_at is None for a in t.assignments if a.status != AssignmentStatus.withdrawn)

    lifecycle.sign_ticket(session, t, u("hp"), version=t.version)
    lifecycle.reply_ticket(
        session,
        t,
        u("hp"),
        version=t.version,
        handling="已联合执法，停业整改",
        resolved=True,
        public_answer="已停业整改",
    )
    lifecycle.review_reply(session, t, u("dispatcher"), version=t.version, accept=True)
    lifecycle.record_callback(
        session,
        t,
        u("callback"),
        version=t.version,
        satisfaction=Satisfaction.satisfied,
        resolved=True,
        method="agent",
        service_satisfaction=Satisfaction.satisfied,
    )
    lifecycle.close_ticket(session, t, u("callback"), version=t.version)
    session.commit()

    assert t.status == TicketStatus.closed and t.closed_at is not None and t.sign_due is None
    assert actions(session, t.id) == [
        "register",
        "dispatch",
        "sign",
        "sign",
        "add_sub_assignment",
        "sign",
        "request_extension",
        "approve_extension",
        "reply",
        "send_back_reply",
        "reply",
        "accept_reply",
        "record_callback",
        "reopen",
        "sign",
        "reply",
        "accept_reply",
        "record_callback",
        "close",
    ]
    events = lifecycle.timeline(session, t.id)
    assert all(e.actor_id is not None and e.at is not None for e in events)
    assert events[1].from_status == "registered" and events[1].to_status == "dispatched"


def test_intake_routes(db: tuple[Session, Org]) -> None:
    session, org = db
    agent = user(session, org, "agent")
    a = register(session, org)
    lifecycle.reject_intake(session, a, agent, version=a.version, reason="court_or_legislature")
    assert a.status == TicketStatus.not_accepted and "法院" in (a.answer_text or "")
    b = register(session, org)
    lifecycle.transfer_emergency(session, b, agent, version=b.version, target=EmergencyService.fire)
    assert b.status == TicketStatus.transferred and b.transfer_target == "119"
    c = register(session, org, appeal_type=AppealType.consult)
    lifecycle.answer_directly(session, c, agent, version=c.version, answer="可在政务服务网办理")
    assert c.status == TicketStatus.closed and c.resolution == "direct"
    session.commit()
    with pytest.raises(InvalidInput):
        lifecycle.reject_intake(session, register(session, org), agent, version=None, reason="no-such-reason")
    with pytest.raises(InvalidInput):
        lifecycle.reject_intake(session, register(session, org), agent, version=None, reason="other")


def test_return_accepted_moves_to_another_department(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.returned)
    assert t.return_count == 1 and t.sign_due is None
    with pytest.raises(InvalidInput, match="退单单位以外"):
        lifecycle.accept_return(
            session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
        )
    lifecycle.accept_return(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["cgj"]
    )
    session.commit()
    assert t.status == TicketStatus.dispatched and t.primary_department_id == org.dept["cgj"]
    live = [a for a in t.assignments if a.status != AssignmentStatus.withdrawn]
    assert [a.department_id for a in live] == [org.dept["cgj"]]
    lifecycle.sign_ticket(session, t, user(session, org, "cgj"), version=t.version)
    with pytest.raises(Forbidden, match="不是该工单的承办单位"):
        lifecycle.reply_ticket(
            session, t, user(session, org, "zjj"), version=t.version, handling="x", resolved=True, public_answer="y"
        )


def test_return_rejected_forces_back_and_keeps_reply_clock(db: tuple[Session, Org]) -> None:
    session, org = db
    t = register(session, org)
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    original_reply_due = t.reply_due
    lifecycle.return_ticket(session, t, user(session, org, "zjj"), version=t.version, reason="other", note="不清楚")
    lifecycle.reject_return(session, t, user(session, org, "dispatcher"), version=t.version, note="属于住建职责")
    session.commit()
    assert t.status == TicketStatus.dispatched and t.primary_department_id == org.dept["zjj"]
    assert t.reply_due == original_reply_due and t.sign_due is not None and t.return_count == 1
    assert actions(session, t.id)[-2:] == ["return", "reject_return"]


def test_return_window_is_enforced(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress)
    t.return_due = utcnow() - timedelta(minutes=1)
    session.commit()
    with pytest.raises(Conflict, match="已超过退单时限"):
        lifecycle.return_ticket(session, t, user(session, org, "zjj"), version=t.version, reason="other", note="晚了")


def test_merge_keeps_every_caller(db: tuple[Session, Org]) -> None:
    session, org = db
    target = ticket_in(session, org, TicketStatus.in_progress)
    repeat = register(session, org, phone="13900000002")
    lifecycle.merge_ticket(
        session, repeat, user(session, org, "agent"), version=repeat.version, into=target, note="同一噪音问题"
    )
    session.commit()
    assert repeat.status == TicketStatus.merged and repeat.merged_into_id == target.id
    assert target.repeat_count == 1
    callers = session.scalars(select(TicketCaller.citizen_id).where(TicketCaller.ticket_id == target.id)).all()
    assert len(callers) == 2
    assert "merged_in" in actions(session, target.id)
    with pytest.raises(InvalidInput):
        lifecycle.merge_ticket(session, target, user(session, org, "agent"), version=None, into=target)


def test_extension_rules(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress)
    zjj, dispatcher = user(session, org, "zjj"), user(session, org, "dispatcher")
    with pytest.raises(InvalidInput, match="1 到 10"):
        lifecycle.request_extension(session, t, zjj, version=t.version, working_days=11, reason="太多")
    lifecycle.request_extension(session, t, zjj, version=t.version, working_days=3, reason="需现场勘查")
    with pytest.raises(Conflict, match="待审批"):
        lifecycle.request_extension(session, t, zjj, version=t.version, working_days=3, reason="再来")
    lifecycle.refuse_extension(session, t, dispatcher, version=t.version, note="时限内可办结")
    assert t.extension_count == 0
    lifecycle.request_extension(session, t, zjj, version=t.version, working_days=3, reason="需现场勘查")
    lifecycle.approve_extension(session, t, dispatcher, version=t.version)
    with pytest.raises(Conflict, match="已延期 1 次"):
        lifecycle.request_extension(session, t, zjj, version=t.version, working_days=1, reason="又要延")
    session.commit()
    with pytest.raises(Conflict, match="没有待审批"):
        lifecycle.approve_extension(session, t, dispatcher, version=t.version)


def test_sub_assignment_only_below(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress, dept="dc.hp", handler="hp")
    with pytest.raises(InvalidInput, match="下级单位"):
        lifecycle.add_sub_assignment(
            session, t, user(session, org, "hp"), version=t.version, department_id=org.dept["xc.jk"]
        )
    with pytest.raises(InvalidInput, match="下级单位"):
        lifecycle.add_sub_assignment(
            session, t, user(session, org, "hp"), version=t.version, department_id=org.dept["dc.hp"]
        )


def test_district_head_acts_for_a_street_below_it(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.dispatched, dept="dc.hp", handler="hp")
    lifecycle.sign_ticket(session, t, user(session, org, "dc_head"), version=t.version)
    assert t.status == TicketStatus.in_progress


def test_reopen_refused_for_direct_answers(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.closed, direct=True)
    with pytest.raises(Conflict, match="未派单"):
        lifecycle.reopen_ticket(session, t, user(session, org, "supervisor"), version=t.version, reason="不满意")


def test_close_without_callback_needs_a_reason(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.awaiting_callback)
    with pytest.raises(InvalidInput):
        lifecycle.close_ticket(session, t, user(session, org, "callback"), version=t.version)
    lifecycle.close_ticket(session, t, user(session, org, "callback"), version=t.version, note="三次联系未接通")
    assert t.status == TicketStatus.closed


# ------------------------------------------------------------ refusals by state, role and version

Action = Callable[[Session, Ticket, Org], object]

ACTIONS: dict[str, tuple[str, Action, set[TicketStatus]]] = {
    "reject_intake": (
        "agent",
        lambda s, t, o: lifecycle.reject_intake(s, t, user(s, o, "agent"), version=t.version, reason="in_litigation"),
        {TicketStatus.registered},
    ),
    "transfer": (
        "agent",
        lambda s, t, o: lifecycle.transfer_emergency(
            s, t, user(s, o, "agent"), version=t.version, target=EmergencyService.police
        ),
        {TicketStatus.registered},
    ),
    "answer": (
        "agent",
        lambda s, t, o: lifecycle.answer_directly(s, t, user(s, o, "agent"), version=t.version, answer="答"),
        {TicketStatus.registered},
    ),
    "dispatch": (
        "dispatcher",
        lambda s, t, o: lifecycle.dispatch_ticket(
            s, t, user(s, o, "dispatcher"), version=t.version, primary_department_id=o.dept["zjj"]
        ),
        {TicketStatus.registered},
    ),
    "sign": (
        "zjj",
        lambda s, t, o: lifecycle.sign_ticket(s, t, user(s, o, "zjj"), version=t.version),
        {TicketStatus.dispatched, TicketStatus.in_progress},
    ),
    "return": (
        "zjj",
        lambda s, t, o: lifecycle.return_ticket(s, t, user(s, o, "zjj"), version=t.version, reason="other", note="退"),
        {TicketStatus.dispatched, TicketStatus.in_progress},
    ),
    "accept_return": (
        "dispatcher",
        lambda s, t, o: lifecycle.accept_return(
            s, t, user(s, o, "dispatcher"), version=t.version, primary_department_id=o.dept["cgj"]
        ),
        {TicketStatus.returned},
    ),
    "reject_return": (
        "dispatcher",
        lambda s, t, o: lifecycle.reject_return(s, t, user(s, o, "dispatcher"), version=t.version, note="驳回"),
        {TicketStatus.returned},
    ),
    "sub": (
        "zjj",
        lambda s, t, o: lifecycle.add_sub_assignment(
            s, t, user(s, o, "zjj"), version=t.version, department_id=o.dept["cgj"]
        ),
        {TicketStatus.in_progress},
    ),
    "extension": (
        "zjj",
        lambda s, t, o: lifecycle.request_extension(
            s, t, user(s, o, "zjj"), version=t.version, working_days=2, reason="延"
        ),
        {TicketStatus.in_progress},
    ),
    "approve_extension": (
        "dispatcher",
        lambda s, t, o: lifecycle.approve_extension(s, t, user(s, o, "dispatcher"), version=t.version),
        {TicketStatus.in_progress},
    ),
    "reply": (
        "zjj",
        lambda s, t, o: lifecycle.reply_ticket(
            s, t, user(s, o, "zjj"), version=t.version, handling="办", resolved=True, public_answer="答"
        ),
        {TicketStatus.in_progress},
    ),
    "review": (
        "dispatcher",
        lambda s, t, o: lifecycle.review_reply(s, t, user(s, o, "dispatcher"), version=t.version, accept=True),
        {TicketStatus.replied},
    ),
    "callback": (
        "callback",
        lambda s, t, o: lifecycle.record_callback(
            s,
            t,
            user(s, o, "callback"),
            version=t.version,
            satisfaction=Satisfaction.satisfied,
            resolved=True,
            method="agent",
        ),
        {TicketStatus.awaiting_callback},
    ),
    "close": (
        "callback",
        lambda s, t, o: lifecycle.close_ticket(s, t, user(s, o, "callback"), version=t.version, note="结"),
        {TicketStatus.callback_done, TicketStatus.awaiting_callback},
    ),
    "reopen": (
        "callback",
        lambda s, t, o: lifecycle.reopen_ticket(s, t, user(s, o, "callback"), version=t.version, reason="重办"),
        {TicketStatus.callback_done, TicketStatus.closed},
    ),
    "merge": (
        "agent",
        lambda s, t, o: lifecycle.merge_ticket(
            s, t, user(s, o, "agent"), version=t.version, into=register(s, o, phone="13700000001")
        ),
        {TicketStatus.registered, TicketStatus.dispatched, TicketStatus.in_progress, TicketStatus.returned},
    ),
}


@pytest.mark.parametrize("status", list(TicketStatus))
def test_every_action_refused_outside_its_states(db: tuple[Session, Org], status: TicketStatus) -> None:
    session, org = db
    ticket = ticket_in(session, org, status)
    label = lifecycle.STATUS_LABELS[status]
    refused = 0
    for name, (_who, act, allowed) in ACTIONS.items():
        if status in allowed:
            continue
        before = ticket.version
        with pytest.raises(Conflict) as info:
            act(session, ticket, org)
        session.rollback()
        assert label in info.value.message, (name, info.value.message)
        assert info.value.code == "invalid_state"
        assert session.get(Ticket, ticket.id).version == before  # type: ignore[union-attr]
        refused += 1
    assert refused >= 10


@pytest.mark.parametrize(
    ("action", "intruder"),
    [
        ("dispatch", "agent"),
        ("dispatch", "zjj"),
        ("sign", "dispatcher"),
        ("reply", "callback"),
        ("review", "zjj"),
        ("callback", "zjj"),
        ("close", "zjj"),
        ("reopen", "agent"),
        ("answer", "zjj"),
        ("approve_extension", "zjj"),
        ("transfer", "cgj"),
    ],
)
def test_actions_refused_to_the_wrong_role(db: tuple[Session, Org], action: str, intruder: str) -> None:
    session, org = db
    _who, act, allowed = ACTIONS[action]
    ticket = ticket_in(session, org, sorted(allowed, key=list(TicketStatus).index)[0])
    if action == "approve_extension":
        lifecycle.request_extension(
            session, ticket, user(session, org, "zjj"), version=ticket.version, working_days=2, reason="延"
        )
        session.commit()
    real = org.users[ACTIONS[action][0]]
    org.users[ACTIONS[action][0]] = org.users[intruder]  # the same call, made by the intruder
    try:
        with pytest.raises(Forbidden) as info:
            act(session, ticket, org)
    finally:
        org.users[ACTIONS[action][0]] = real
    assert info.value.code in {"role_not_allowed", "not_assigned"}
    assert info.value.status_code == 403
    assert "不能" in info.value.message or "不是" in info.value.message


def test_stale_version_is_refused(db: tuple[Session, Org]) -> None:
    session, org = db
    t = register(session, org)
    with pytest.raises(Conflict, match="已被他人修改") as info:
        lifecycle.dispatch_ticket(
            session,
            t,
            user(session, org, "dispatcher"),
            version=t.version - 1 or 99,
            primary_department_id=org.dept["zjj"],
        )
    assert info.value.code == "stale_version"


def test_two_writers_at_once_only_one_wins(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.dispatched)
    first, second = get_sessionmaker()(), get_sessionmaker()()
    try:
        a, b = first.get(Ticket, t.id), second.get(Ticket, t.id)
        assert a and b and a.version == b.version
        lifecycle.sign_ticket(first, a, user(first, org, "zjj"), version=a.version)
        first.commit()
        with pytest.raises(Conflict):
            lifecycle.return_ticket(
                second, b, user(second, org, "zjj"), version=b.version, reason="other", note="同时退单"
            )
        second.rollback()
    finally:
        first.close()
        second.close()
    session.expire_all()
    fresh = session.get(Ticket, t.id)
    assert fresh is not None and fresh.status == TicketStatus.in_progress
    assert actions(session, t.id).count("return") == 0


def test_timeline_is_append_only(db: tuple[Session, Org]) -> None:
    session, org = db
    t = register(session, org)
    event = session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == t.id)).first()
    assert event is not None
    event.note = "篡改"
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()
    session.delete(session.get(TimelineEvent, event.id))
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()


def test_ticket_numbers_are_sequential_per_day(db: tuple[Session, Org]) -> None:
    session, org = db
    numbers = [register(session, org, phone=f"1380000{i:04d}").number for i in range(5)]
    assert [int(n.split("-")[1]) for n in numbers] == [1, 2, 3, 4, 5]
    assert len({n.split("-")[0] for n in numbers}) == 1
