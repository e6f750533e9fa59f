"""Deadlines on the official calendar (Spring Festival 2026, 调休 Saturdays) and on the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.enums import AppealType, LimitKind, LimitUnit, TicketStatus, Urgency
from hotline.models import CalendarOverride, TimeLimitPolicy
from hotline.timelimits import Limit, resolve_limit
from hotline.workcalendar import WorkCalendar
from tests.conftest import Org
from tests.core.factory import register, user

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), datetime.min.time(), tzinfo=SH)


def test_spring_festival_2026_and_its_working_saturdays() -> None:
    cal = WorkCalendar(tz="Asia/Shanghai")
    assert cal.is_workday(date(2026, 2, 14))  # Saturday, 调休 working day
    assert not cal.is_workday(date(2026, 2, 16))  # 春节
    assert not cal.is_workday(date(2026, 2, 23))
    assert cal.is_workday(date(2026, 2, 28))  # Saturday, 调休 working day
    friday = at("2026-02-13T10:00")
    # 1st working day after Friday 13 is Saturday 14 (调休), the 2nd is Tuesday 24 after the holiday.
    assert cal.add_working_days(friday, 1) == end_of("2026-02-14")
    assert cal.add_working_days(friday, 2) == end_of("2026-02-24")
    # 15 working days: 14, 24-28 (28 is a working Saturday), Mar 2-6, Mar 9-12.
    assert cal.add_working_days(friday, 15) == end_of("2026-03-12")
    # Registered during the holiday: counting starts on the first working day.
    assert cal.add_working_days(at("2026-02-18T09:00"), 1) == end_of("2026-02-24")
    assert cal.working_days_between(friday, at("2026-02-25T12:00")) == 3


def test_hour_limits_run_on_the_clock_through_holidays() -> None:
    cal = WorkCalendar(tz="Asia/Shanghai")
    start = at("2026-02-16T23:30")  # in the middle of Spring Festival
    assert cal.add(start, 2, LimitUnit.hours) == start + timedelta(hours=2)
    assert cal.add(start, 90, LimitUnit.seconds) == start + timedelta(seconds=90)


def test_center_closures_and_unknown_years() -> None:
    cal = WorkCalendar({date(2026, 11, 23): False}, tz="Asia/Shanghai")  # e.g. a typhoon closure
    assert cal.add_working_days(at("2026-11-20T10:00"), 1) == end_of("2026-11-24")
    # 2027 is not yet in chinese-calendar: weekends only, until the admin loads the notice.
    cal2027 = WorkCalendar(tz="Asia/Shanghai")
    assert cal2027.add_working_days(at("2027-01-08T10:00"), 1) == end_of("2027-01-11")
    cal_notice = WorkCalendar({date(2027, 1, 11): False}, tz="Asia/Shanghai")
    assert cal_notice.add_working_days(at("2027-01-08T10:00"), 1) == end_of("2027-01-12")


def test_policy_resolution_prefers_urgency_then_type(db: tuple[Session, Org]) -> None:
    session, _org = db
    assert resolve_limit(session, LimitKind.reply, "consult", "normal") == Limit(2, LimitUnit.working_days)
    assert resolve_limit(session, LimitKind.reply, "complaint", "normal") == Limit(15, LimitUnit.working_days)
    assert resolve_limit(session, LimitKind.reply, "complaint", "critical") == Limit(2, LimitUnit.hours)
    assert resolve_limit(session, LimitKind.reply, "help", "urgent") == Limit(24, LimitUnit.hours)
    assert resolve_limit(session, LimitKind.sign, "help", "normal") == Limit(1, LimitUnit.hours)
    session.add(TimeLimitPolicy(kind="reply", appeal_type="complaint", urgency="critical", amount=30, unit="minutes"))
    session.commit()
    assert resolve_limit(session, LimitKind.reply, "complaint", "critical") == Limit(30, LimitUnit.minutes)


def test_dispatch_before_spring_festival_sets_deadlines_on_the_row(
    db: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, org = db
    friday = at("2026-02-13T16:00").astimezone(UTC)
    monkeypatch.setattr(lifecycle, "utcnow", lambda: friday)
    t = register(session, org, appeal_type=AppealType.consult)
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    session.commit()
    session.expire_all()
    assert t.sign_due == friday + timedelta(hours=1)
    assert t.return_due == end_of("2026-02-24")  # 2 working days: Sat 14 and Tue 24
    assert t.reply_due == end_of("2026-02-24")  # 咨询: 2 working days
    # An approved extension of 3 working days moves reply-by across the 调休 Saturday 28.
    lifecycle.sign_ticket(session, t, user(session, org, "zjj"), version=t.version)
    lifecycle.request_extension(
        session, t, user(session, org, "zjj"), version=t.version, working_days=3, reason="需现场勘查"
    )
    lifecycle.approve_extension(session, t, user(session, org, "dispatcher"), version=t.version)
    session.commit()
    assert t.reply_due == end_of("2026-02-27")


def test_urgent_and_critical_limits_are_hours(db: tuple[Session, Org]) -> None:
    session, org = db
    t = register(session, org, urgency=Urgency.critical, title="燃气泄漏")
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    assert t.reply_due - t.dispatched_at == timedelta(hours=2)  # type: ignore[operator]


def test_limits_in_seconds_for_drills(db: tuple[Session, Org]) -> None:
    session, org = db
    for row in session.scalars(select(TimeLimitPolicy).where(TimeLimitPolicy.kind.in_(["sign", "reply"]))):
        row.amount, row.unit = 20, "seconds"
    session.commit()
    t = register(session, org)
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    assert t.sign_due - t.dispatched_at == timedelta(seconds=20)  # type: ignore[operator]
    assert t.reply_due - t.dispatched_at == timedelta(seconds=20)  # type: ignore[operator]


def test_reopen_and_redispatch_recompute_deadlines(db: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    session, org = db
    clock = [at("2026-11-02T10:00").astimezone(UTC)]
    monkeypatch.setattr(lifecycle, "utcnow", lambda: clock[0])
    t = register(session, org)
    dispatcher, zjj, cb = (user(session, org, n) for n in ("dispatcher", "zjj", "callback"))
    lifecycle.dispatch_ticket(session, t, dispatcher, version=t.version, primary_department_id=org.dept["zjj"])
    first_due = t.reply_due
    clock[0] = at("2026-11-04T10:00").astimezone(UTC)
    lifecycle.return_ticket(session, t, zjj, version=t.version, reason="not_our_duty", note="非本单位")
    lifecycle.accept_return(session, t, dispatcher, version=t.version, primary_department_id=org.dept["cgj"])
    assert t.reply_due == end_of("2026-11-25") and t.reply_due != first_due  # 15 working days from Wed 4th
    cgj = user(session, org, "cgj")
    lifecycle.sign_ticket(session, t, cgj, version=t.version)
    lifecycle.reply_ticket(session, t, cgj, version=t.version, handling="h", resolved=True, public_answer="p")
    clock[0] = at("2026-11-06T15:00").astimezone(UTC)  # a Friday
    lifecycle.review_reply(session, t, dispatcher, version=t.version, accept=True)
    assert t.callback_due == end_of("2026-11-09")  # the next working day, Monday
    lifecycle.record_callback(
        session, t, cb, version=t.version, satisfaction=lifecycle.Satisfaction.unsatisfied, resolved=False, method="ivr"
    )
    clock[0] = at("2026-11-09T09:00").astimezone(UTC)
    lifecycle.reopen_ticket(session, t, cb, version=t.version, reason="未解决")
    assert t.status == TicketStatus.dispatched and t.reply_due == end_of("2026-11-30")
    assert t.sign_due == clock[0] + timedelta(hours=1) and t.callback_due is None


def test_calendar_overrides_from_the_table(db: tuple[Session, Org]) -> None:
    session, _org = db
    session.add(CalendarOverride(day=date(2026, 12, 1), is_workday=False, note="防台风停工"))
    session.commit()
    cal = WorkCalendar.load(session)
    assert cal.add_working_days(at("2026-11-30T10:00"), 1) == end_of("2026-12-02")
