"""November 2026 of the test city, walked through the real lifecycle with the clock set by hand.

Each ticket is one edge the KPIs must get right; the expected figures in test_kpis.py are worked
out by hand from this story (times are Asia/Shanghai; November 2026 has no public holiday; limits
are the defaults: 签收 1 hour, 咨询 2, 求助 10, 投诉 15 working days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from dashboards import hot_topics_store
from dashboards.models import HotTopicRun
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import AppealType, Channel, EmergencyService, Satisfaction
from hotline.models import Ticket, User
from telephony.models import CallbackTask, CallRecord
from tests.conftest import Org
from tests.core import factory

SH = ZoneInfo("Asia/Shanghai")
# The moment the figures are computed at: T7's reply deadline after its 重办 (Dec 10, 24:00) is
# still ahead, T11's deadlines are long past.
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=SH).astimezone(UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(UTC)


@dataclass
class City:
    session: Session
    org: Org
    clock: list[datetime]
    tickets: dict[str, Ticket] = field(default_factory=dict)

    def user(self, name: str) -> User:
        found = self.session.get(User, self.org.users[name])
        assert found is not None
        return found

    def when(self, text: str) -> None:
        self.clock[0] = at(text)

    def register(self, key: str, when: str, appeal_type: AppealType = AppealType.complaint) -> Ticket:
        self.when(when)
        appeal = lifecycle.NewAppeal(
            title=f"{key} 诉求",
            content="测试诉求内容",
            appeal_type=appeal_type,
            channel=Channel.phone,
            phone=f"1380000{len(self.tickets):04d}",
            contact_name="张先生",
            category="城市管理",
            classification={"model_version": "test"},
        )
        ticket = lifecycle.register_ticket(self.session, self.user("agent"), appeal)
        self.tickets[key] = ticket
        self.session.commit()
        return ticket

    def act(self, when: str, fn: object, key: str, who: str, **kw: object) -> None:
        self.when(when)
        t = self.tickets[key]
        fn(self.session, t, self.user(who), version=t.version, **kw)  # type: ignore[operator]
        self.session.commit()

    def dispatch(self, when: str, key: str, dept: str) -> None:
        self.act(when, lifecycle.dispatch_ticket, key, "dispatcher", primary_department_id=self.org.dept[dept])

    def reply(self, when: str, key: str, who: str, resolved: bool = True) -> None:
        self.act(when, lifecycle.reply_ticket, key, who, handling="已处理", resolved=resolved, public_answer="已处理")

    def callback(self, when: str, key: str, sat: Satisfaction, resolved: bool, service: Satisfaction | None) -> None:
        self.act(
            when,
            lifecycle.record_callback,
            key,
            "callback",
            satisfaction=sat,
            resolved=resolved,
            method="agent",
            service_satisfaction=service,
        )


def seed_november(session: Session, org: Org, monkeypatch: pytest.MonkeyPatch) -> City:
    clock = [NOW]
    monkeypatch.setattr(lifecycle, "utcnow", lambda: clock[0])
    c = City(session, org, clock)
    L = lifecycle
    S = Satisfaction

    # T1, T2: 直办. T3: 不予受理. T13: 即时转办. T14: not routed yet. All count in 受理量 only.
    c.register("T1", "2026-11-02T10:00", AppealType.consult)
    c.act("2026-11-02T10:05", L.answer_directly, "T1", "agent", answer="已答复")
    c.register("T2", "2026-11-03T10:00", AppealType.consult)
    c.act("2026-11-03T10:05", L.answer_directly, "T2", "agent", answer="已答复")
    c.register("T3", "2026-11-03T11:00")
    c.act("2026-11-03T11:05", L.reject_intake, "T3", "agent", reason="in_litigation")

    # T5: the plain good case, to a street (和平街道, 东城区).
    c.register("T5", "2026-11-04T08:00")
    c.dispatch("2026-11-04T08:10", "T5", "dc.hp")
    c.act("2026-11-04T08:40", L.sign_ticket, "T5", "hp")
    # T4: dispatched to the same street, then 并单 into T5 before anyone signed: counted in T5 only.
    c.register("T4", "2026-11-04T09:00")
    c.dispatch("2026-11-04T09:05", "T4", "dc.hp")
    c.when("2026-11-04T09:30")
    L.merge_ticket(session, c.tickets["T4"], c.user("agent"), version=c.tickets["T4"].version, into=c.tickets["T5"])
    session.commit()
    c.reply("2026-11-10T10:00", "T5", "hp")
    c.act("2026-11-10T11:00", L.review_reply, "T5", "dispatcher", accept=True)
    c.callback("2026-11-11T10:00", "T5", S.satisfied, True, S.satisfied)
    c.act("2026-11-11T10:05", L.close_ticket, "T5", "callback")

    # T6: sent back twice by 市城管局 (once in time, the 2nd time after the new 签收 limit), the
    # second 退单 accepted: 改派 to 市住建局, who handles it.
    c.register("T6", "2026-11-05T09:00")
    c.dispatch("2026-11-05T09:05", "T6", "cgj")
    c.act("2026-11-05T09:30", L.return_ticket, "T6", "cgj", reason="not_our_duty", note="非本单位职责")
    c.act("2026-11-05T10:00", L.reject_return, "T6", "dispatcher", note="属于城管职责")
    c.act("2026-11-05T12:00", L.return_ticket, "T6", "cgj", reason="not_our_duty", note="仍非本单位职责")
    c.act("2026-11-05T13:00", L.accept_return, "T6", "dispatcher", primary_department_id=org.dept["zjj"])
    c.act("2026-11-05T13:30", L.sign_ticket, "T6", "zjj")
    c.reply("2026-11-09T10:00", "T6", "zjj")
    c.act("2026-11-09T11:00", L.review_reply, "T6", "dispatcher", accept=True)
    c.callback("2026-11-10T10:00", "T6", S.basically_satisfied, True, S.satisfied)
    c.act("2026-11-10T10:05", L.close_ticket, "T6", "callback")

    # T7: 求助 signed late, extended by 5 working days, replied in the extended time, 不满意 →
    # 重办, signed in time again; its new reply deadline (Dec 10, 24:00) is still ahead at NOW.
    c.register("T7", "2026-11-06T10:00", AppealType.help)
    c.dispatch("2026-11-06T10:10", "T7", "zjj")
    c.act("2026-11-06T12:00", L.sign_ticket, "T7", "zjj")
    c.act("2026-11-16T10:00", L.request_extension, "T7", "zjj", working_days=5, reason="需协调多个部门")
    c.act("2026-11-16T11:00", L.approve_extension, "T7", "dispatcher")
    c.reply("2026-11-25T10:00", "T7", "zjj", resolved=False)
    c.act("2026-11-25T11:00", L.review_reply, "T7", "dispatcher", accept=True)
    c.callback("2026-11-26T09:00", "T7", S.unsatisfied, False, S.basically_satisfied)
    c.act("2026-11-26T10:00", L.reopen_ticket, "T7", "callback", reason="诉求人不满意，问题未解决")
    c.act("2026-11-26T10:30", L.sign_ticket, "T7", "zjj")

    # T8: registered in November, closed in December: it counts in November.
    c.register("T8", "2026-11-27T09:00")
    c.dispatch("2026-11-27T09:05", "T8", "cgj")
    c.act("2026-11-27T09:20", L.sign_ticket, "T8", "cgj")
    c.reply("2026-12-02T10:00", "T8", "cgj")
    c.act("2026-12-02T11:00", L.review_reply, "T8", "dispatcher", accept=True)
    c.callback("2026-12-03T10:00", "T8", S.satisfied, True, None)
    c.act("2026-12-03T10:05", L.close_ticket, "T8", "callback")

    # T11: 咨询 to a community (新苑社区), never signed: late to answer, late to sign, overdue.
    c.register("T11", "2026-11-09T09:00", AppealType.consult)
    c.dispatch("2026-11-09T09:10", "T11", "dc.hp.xy")

    # T12: 咨询 replied a day late, closed without a 回访 (unreachable).
    c.register("T12", "2026-11-10T09:00", AppealType.consult)
    c.dispatch("2026-11-10T09:10", "T12", "xc.jk")
    c.act("2026-11-10T09:30", L.sign_ticket, "T12", "jk")
    c.reply("2026-11-13T10:00", "T12", "jk")
    c.act("2026-11-13T11:00", L.review_reply, "T12", "dispatcher", accept=True)
    c.act("2026-11-16T10:00", L.close_ticket, "T12", "callback", note="三次联系不上")

    c.register("T13", "2026-11-12T10:00")
    c.act("2026-11-12T10:01", L.transfer_emergency, "T13", "agent", target=EmergencyService.police)
    c.register("T14", "2026-11-20T10:00")

    # Outside November: T10 registered on Oct 31 at 23:30 (dispatched in November), T9 in December.
    c.register("T10", "2026-10-31T23:30")
    c.dispatch("2026-11-02T09:00", "T10", "zjj")
    c.register("T9", "2026-12-01T09:00")
    c.dispatch("2026-12-01T09:05", "T9", "zjj")
    c.act("2026-12-01T09:10", L.sign_ticket, "T9", "zjj")

    add_calls(session)
    c.clock[0] = NOW
    return c


def call(linkedid: str, start: str, *, wait: int, talk: int | None, ended: bool = True) -> CallRecord:
    began = at(start)
    answered = talk is not None
    return CallRecord(
        linkedid=linkedid,
        status="ended" if ended else "queued",
        caller_number="13800000001",
        caller_e164="+8613800000001",
        queue="hotline",
        started_at=began,
        enter_queue_at=began,
        answered_at=began + _s(wait) if answered else None,
        ended_at=(began + _s(wait + (talk or 0))) if ended else None,
        wait_seconds=wait if ended else None,
        talk_seconds=talk,
        answered=answered,
        abandoned=ended and not answered,
    )


def _s(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def add_calls(session: Session) -> None:
    """C1–C3 answered after 5, 15 and 16 s; C4 abandoned after 14 s (called back), C5 after 40 s;
    C6 in December; C7 still waiting (not counted until it ends)."""
    session.add_all(
        [
            call("C1", "2026-11-02T09:00", wait=5, talk=100),
            call("C2", "2026-11-03T09:00", wait=15, talk=200),
            call("C3", "2026-11-04T09:00", wait=16, talk=300),
            call("C4", "2026-11-05T09:00", wait=14, talk=None),
            call("C5", "2026-11-06T09:00", wait=40, talk=None),
            call("C6", "2026-12-01T09:00", wait=3, talk=60),
            call("C7", "2026-11-30T23:59", wait=0, talk=None, ended=False),
        ]
    )
    session.add_all(
        [
            CallbackTask(linkedid="C4", status="done", wait_seconds=14, called_at=at("2026-11-05T09:00")),
            CallbackTask(linkedid="C5", status="open", wait_seconds=40, called_at=at("2026-11-06T09:00")),
        ]
    )
    session.commit()


# Appeals about two places (新苑小区's barbecue smoke, 建康街道's street lights), from different
# callers: the hot topics' story.
HOT_APPEALS = [
    ("新苑小区门口烧烤摊油烟扰民", "dc.hp.xy"),
    ("新苑小区楼下烧烤店油烟太大", "dc.hp.xy"),
    ("新苑小区门口夜宵烧烤摊油烟噪音", "dc.hp.xy"),
    ("建康街道路灯不亮", "xc.jk"),
    ("建康街道夜间路灯坏了没人修", "xc.jk"),
]


def hot_topic_appeals(session: Session, org: Org, appeals: list[tuple[str, str]] = HOT_APPEALS) -> HotTopicRun:
    """Register ``appeals`` (title, department code), each from its own caller, dispatch each to its
    department, and compute the hot topics (committed)."""
    dispatcher = factory.user(session, org, "dispatcher")
    for i, (title, dept) in enumerate(appeals):
        t = factory.register(session, org, phone=f"1390000{i:04d}", title=title, address="")
        lifecycle.dispatch_ticket(session, t, dispatcher, version=t.version, primary_department_id=org.dept[dept])
    session.commit()
    run = hot_topics_store.refresh(session, utcnow())
    session.commit()
    return run
