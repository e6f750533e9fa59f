"""The sweep on the real calendar (PostgreSQL and SQLite), with the clock moved by hand: the
ladder, reminders, moved deadlines, other causes and the supervisor's hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from escalation import rules, service
from escalation.models import EscalationDue, EscalationRecord, NotificationMessage
from hotline import lifecycle
from hotline.db import get_sessionmaker, utcnow
from hotline.enums import TicketStatus
from hotline.models import Ticket
from hotline.workcalendar import WorkCalendar
from tests.conftest import Org
from tests.core.factory import user
from tests.escalation.helpers import at, count, escalate_events, escalations, messages, reload, ticket_in

S = timedelta(seconds=1)


def sweep(now: datetime) -> service.SweepStats:
    total = service.SweepStats()
    while True:
        with get_sessionmaker()() as s:
            stats = service.sweep_batch(s, now=now)
        total.fired += stats.fired
        total.tickets += stats.tickets
        if stats.tickets == 0:
            return total


def fired(session: Session, ticket_id: int) -> list[tuple[int, str, str]]:
    session.expire_all()
    rows = session.query(EscalationRecord).filter_by(ticket_id=ticket_id).order_by(EscalationRecord.id).all()
    return [(r.level, r.cause, r.trigger) for r in rows]


def test_a_ticket_left_alone_climbs_the_ladder_on_working_days(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.dispatched)  # 投诉: 签收 1 hour, 回复 15 working days
    cal = WorkCalendar.load(session)
    start, sign_due, reply_due = at(t.dispatched_at), at(t.sign_due), at(t.reply_due)
    assert sweep(utcnow()).fired == 0
    sweep(start + (sign_due - start) * 0.8 + S)  # 80% of the sign limit
    assert fired(session, t.id) == [(0, "sign_80pct", "sign_80pct")]
    sweep(sign_due + S)
    assert fired(session, t.id)[-1] == (1, "deadline", "sign_overdue")
    sweep(start + (reply_due - start) * 0.8 + S)  # level 1 came from 签收, so 80% is a reminder
    assert fired(session, t.id)[-1] == (0, "reply_80pct", "reply_80pct")
    sweep(reply_due - timedelta(hours=24 - 9) + S)  # 09:00 of the last working day
    assert fired(session, t.id)[-1] == (0, "reply_final", "reply_final")
    sweep(reply_due + S)
    assert fired(session, t.id)[-1] == (2, "deadline", "overdue")
    sweep(cal.add_working_days(reply_due, 2) - S)
    assert fired(session, t.id)[-1][0] == 2  # not yet 2 working days overdue
    for level, days in ((3, 2), (4, 5), (5, 10)):
        sweep(cal.add_working_days(reply_due, days) + S)
        assert fired(session, t.id)[-1] == (level, "deadline", f"overdue_l{level}")
    assert sweep(cal.add_working_days(reply_due, 30)).fired == 0  # nothing twice
    t = reload(session, t)
    assert t.escalation_level == 5
    assert [r.level for r in escalations(session, t.id)] == [1, 2, 3, 4, 5]
    events = escalate_events(session, t.id)
    assert [e.data["after"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e.actor_name == "系统" for e in events)
    rec5 = escalations(session, t.id)[-1]
    assert rec5.actions["monthly_report"]["month"] and "document" in rec5.actions
    assert rec5.timeline_event_id == events[-1].id
    kinds = {r["kind"] for r in rec5.recipients}
    assert {"handler", "authority"} <= kinds


def test_a_late_sweep_fires_every_level_in_order_not_skipping(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress)
    cal = WorkCalendar.load(session)
    sweep(cal.add_working_days(at(t.reply_due), 11))
    assert [(lvl, trig) for lvl, _c, trig in fired(session, t.id)] == [
        (1, "reply_80pct"),
        (2, "overdue"),
        (3, "overdue_l3"),
        (4, "overdue_l4"),
        (5, "overdue_l5"),
    ]  # stale reminders (after their deadline) are not sent
    assert [e.data["after"] for e in escalate_events(session, t.id)] == [1, 2, 3, 4, 5]


def test_an_extension_moves_the_pending_reminders(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.in_progress)
    old_due, start = at(t.reply_due), at(t.dispatched_at)
    old_l1 = start + (old_due - start) * 0.8
    handler, dispatcher = user(session, org, "zjj"), user(session, org, "dispatcher")
    lifecycle.request_extension(session, t, handler, version=t.version, working_days=5, reason="需协调多部门")
    lifecycle.approve_extension(session, t, dispatcher, version=t.version)
    session.commit()
    new_due = at(reload(session, t).reply_due)
    assert new_due > old_due
    sweep(old_l1 + S)
    assert fired(session, t.id) == []  # the old 80% moved with the deadline
    sweep(start + (new_due - start) * 0.8 + S)
    (rec,) = escalations(session, t.id)
    assert rec.level == 1 and rec.instance == "reply@" + rules.stamp(new_due)
    sweep(old_due + S)
    assert [r.level for r in escalations(session, t.id)] == [1]  # not overdue: the deadline moved


def test_reopen_after_unsatisfied_is_level_3_then_level_4(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.awaiting_callback)
    callback = user(session, org, "callback")
    from hotline.enums import Satisfaction

    for expected in (3, 4):
        lifecycle.record_callback(
            session, t, callback, version=None, satisfaction=Satisfaction.unsatisfied, resolved=False, method="agent"
        )
        lifecycle.reopen_ticket(session, t, callback, version=None, reason="仍未解决")
        session.commit()
        sweep(utcnow())
        rec = escalations(session, t.id)[-1]
        assert rec.level == expected
        assert rec.cause == ("callback_unsatisfied" if expected == 3 else "unsatisfied_after_reopen")
        t = reload(session, t)
        # walk it back to the callback
        handler, dispatcher = user(session, org, "zjj"), user(session, org, "dispatcher")
        lifecycle.sign_ticket(session, t, handler, version=None)
        lifecycle.reply_ticket(
            session, t, handler, version=None, handling="再次处理", resolved=True, public_answer="已再次处理"
        )
        lifecycle.review_reply(session, t, dispatcher, version=None, accept=True)
        session.commit()
    assert reload(session, t).escalation_level == 4
    assert escalate_events(session, t.id)[0].data["skipped_levels"] == [1, 2]  # said, not silent


def test_second_repeat_call_is_level_3_once(db: tuple[Session, Org]) -> None:
    session, org = db
    target = ticket_in(session, org, TicketStatus.in_progress)
    agent = user(session, org, "agent")
    for phone in ("13900000011", "13900000012", "13900000013"):
        dup = ticket_in(session, org, TicketStatus.registered, phone=phone)
        target = reload(session, target)
        lifecycle.merge_ticket(session, dup, agent, version=None, into=target)
        session.commit()
        sweep(utcnow())
    assert [(r.level, r.cause) for r in escalations(session, target.id)] == [(3, "repeat_appeal")]


def test_a_closed_ticket_leaves_the_sweep(db: tuple[Session, Org]) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.closed)
    sweep(utcnow() + timedelta(days=100))
    assert count(session, EscalationDue, EscalationDue.ticket_id == t.id) == 0
    assert fired(session, t.id) == []


def test_recipients_and_outbox_rows(db: tuple[Session, Org], liaison: None) -> None:
    session, org = db
    t = ticket_in(session, org, TicketStatus.dispatched)
    sweep(at(t.sign_due) + S)
    rec = escalations(session, t.id)[0]
    names = {(r["kind"], r["name"]) for r in rec.recipients}
    assert ("liaison", "王联络") in names and ("handler", "zjj 测试") in names
    liaison = next(r for r in rec.recipients if r["kind"] == "liaison")
    assert liaison["phone"] == "137****0001"  # masked on the record
    sms = messages(session, record_id=rec.id, channel="sms")
    assert [m.address for m in sms] == ["+8613700000001"]
    assert messages(session, record_id=rec.id, channel="inbox")[0].recipient_user_id == org.users["zjj"]
    assert count(session, NotificationMessage, NotificationMessage.channel == "email") == 0  # no SMTP configured
    assert isinstance(reload(session, t), Ticket)
