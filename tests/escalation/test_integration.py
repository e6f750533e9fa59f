"""PostgreSQL, Redis, a real Celery worker and beat (subprocesses), limits in seconds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import rules
from escalation.models import EscalationDue, EscalationRecord, NotificationMessage, SmsOutbox
from hotline import lifecycle
from hotline.enums import TicketStatus
from hotline.models import Ticket, TimelineEvent
from tests.conftest import Org
from tests.core.factory import user
from tests.escalation.helpers import (
    bulk_dispatched,
    count,
    escalate_events,
    escalations,
    ladder_seconds,
    limits_in_seconds,
    reload,
    ticket_in,
)
from tests.escalation.stack import Stack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(pg: tuple[Session, Org], tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    yield s
    s.stop()


def test_a_ticket_left_alone_climbs_1_to_5_and_an_extension_moves_its_reminders(
    stack: Stack, pg: tuple[Session, Org], liaison: None
) -> None:
    session, org = pg
    limits_in_seconds(session, sign=2, reply=4)
    ladder_seconds(session, 2, 4, 6)  # level 3 at 2 s overdue, 4 at 4 s, 5 at 6 s
    # Extended before its 80%: the old reminders must not fire.
    extended = ticket_in(session, org, TicketStatus.in_progress)
    old_due = extended.reply_due
    lifecycle.request_extension(
        session, extended, user(session, org, "zjj"), version=None, working_days=3, reason="需现场勘查"
    )
    lifecycle.approve_extension(session, extended, user(session, org, "dispatcher"), version=None)
    session.commit()
    extended = reload(session, extended)
    assert extended.reply_due and old_due and extended.reply_due > old_due + timedelta(days=1)

    stack.worker()
    stack.beat()
    wait_for(
        lambda: "escalation.sweep" in stack.log("worker") and "succeeded" in stack.log("worker"),
        30,
        "the first sweep",
        stack,
    )
    alone = ticket_in(session, org, TicketStatus.dispatched)

    def climbed() -> bool:
        session.expire_all()
        return len(escalations(session, alone.id)) >= 5

    wait_for(climbed, 40, "levels 1-5", stack)
    session.expire_all()
    records = escalations(session, alone.id)
    assert [r.level for r in records] == [1, 2, 3, 4, 5]
    assert [r.trigger for r in records] == ["sign_overdue", "overdue", "overdue_l3", "overdue_l4", "overdue_l5"]
    assert [e.data["after"] for e in escalate_events(session, alone.id)] == [1, 2, 3, 4, 5]
    assert reload(session, alone).escalation_level == 5
    # From a deadline to its notice: under one sweep interval (1 s) + 5 s.
    delays = [(r.created_at - r.due_at).total_seconds() for r in records if r.due_at]
    assert max(delays) < 6, delays
    wait_for(lambda: all(m.status == "sent" for m in _fresh_messages(session, alone.id)), 10, "delivery", stack)
    sent = _fresh_messages(session, alone.id)
    sent_sms = session.scalars(select(SmsOutbox).where(SmsOutbox.message_id.in_([m.id for m in sent]))).all()
    assert len(sent_sms) == len([m for m in sent if m.channel == "sms"]) >= 5  # the 联络员, each level once
    notice_delays = [
        (m.sent_at - r.due_at).total_seconds()
        for r in records
        for m in sent
        if m.record_id == r.id and m.sent_at and r.due_at
    ]
    assert max(notice_delays) < 6, notice_delays

    # The extended ticket: nothing fired for the old deadline, the next look is the new 80%.
    assert count(session, EscalationRecord, EscalationRecord.ticket_id == extended.id) == 0
    due = session.get(EscalationDue, extended.id)
    start = extended.dispatched_at
    assert due is not None and start is not None
    assert abs((due.next_at - (start + (extended.reply_due - start) * 0.8)).total_seconds()) < 1
    assert "reply@" + rules.stamp(extended.reply_due)  # the instance the reminders will carry
    # Nothing twice after more sweeps.
    before = count(session, EscalationRecord)
    wait_for(lambda: stack.log("worker").count("escalation.sweep") > 10, 20, "more sweeps", stack)
    session.expire_all()
    assert count(session, EscalationRecord) == before
    assert count(session, TimelineEvent, TimelineEvent.action == "escalate") == 5


def _fresh_messages(session: Session, ticket_id: int) -> list[NotificationMessage]:
    session.expire_all()
    return list(session.scalars(select(NotificationMessage).where(NotificationMessage.ticket_id == ticket_id)))


def _make_due(session: Session, org: Org, n: int) -> list[int]:
    limits_in_seconds(session, sign=1, reply=3600)
    return bulk_dispatched(session, org, n, sign_in=1, reply_in=3600)


def _check_exactly_once(session: Session, ids: list[int]) -> None:
    session.expire_all()
    for tid in ids:
        recs = escalations(session, tid)
        assert [r.level for r in recs] == [1], (tid, [(r.level, r.trigger) for r in recs])
        assert len(escalate_events(session, tid)) == 1
    msgs = list(
        session.scalars(
            select(NotificationMessage).where(
                NotificationMessage.ticket_id.in_(ids), NotificationMessage.record_id.is_not(None)
            )
        )
    )  # the escalations' messages (the dispatch notices have no record)
    per_record: dict[int, int] = {}
    for m in msgs:
        assert m.status == "sent", (m.id, m.status, m.last_error)
        per_record[m.record_id or 0] = per_record.get(m.record_id or 0, 0) + 1
    assert set(per_record.values()) == {2}  # the handler's inbox and the 联络员's SMS, once each
    sms = [m.id for m in msgs if m.channel == "sms"]
    rows = session.scalars(select(SmsOutbox.message_id).where(SmsOutbox.message_id.in_(sms))).all()
    assert sorted(rows) == sorted(sms)


def test_two_workers_sweeping_at_once_send_each_notice_once(
    stack: Stack, pg: tuple[Session, Org], liaison: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, org = pg
    ladder_seconds(session, 100000, 200000, 300000, sweep={"batch_size": 25})
    ids = _make_due(session, org, 150)
    import time

    time.sleep(1.2)  # every sign deadline passed: 150 tickets due at once
    # A little time per ticket so that the sweeps overlap and split the batches between them.
    stack.worker("worker", concurrency=2, HOTLINE_ESCALATION_ITEM_DELAY="0.02")
    stack.worker("worker2", concurrency=2, HOTLINE_ESCALATION_ITEM_DELAY="0.02")
    from escalation.tasks import sweep
    from hotline.celery_app import celery_app, reconfigure_celery
    from hotline.settings import reset_settings_cache
    from tests.escalation.stack import REDIS_URL

    # This process sends its sweeps to the workers' broker.
    monkeypatch.setenv("HOTLINE_BROKER_URL", REDIS_URL)
    monkeypatch.setenv("HOTLINE_RESULT_BACKEND", REDIS_URL)
    reset_settings_cache()
    reconfigure_celery()
    celery_app.conf.task_default_queue = "hotline-escalation-test"
    for _ in range(8):  # several sweeps at the same moment, on both workers
        sweep.apply_async()
    stack.beat()

    def done() -> bool:
        session.expire_all()
        return (
            count(session, EscalationRecord) >= 150
            and count(session, NotificationMessage, NotificationMessage.status != "sent") == 0
        )

    wait_for(done, 60, "all notices", stack)
    _check_exactly_once(session, ids)
    fired = {
        n: sum(map(int, re.findall(r"escalation sweep: .*'fired': (\d+)", stack.log(n)))) for n in ("worker", "worker2")
    }
    assert sum(fired.values()) == 150 and min(fired.values()) > 0, fired  # both swept, none twice


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(
    stack: Stack, pg: tuple[Session, Org], liaison: None
) -> None:
    session, org = pg
    ladder_seconds(session, 100000, 200000, 300000, sweep={"batch_size": 20})
    ids = _make_due(session, org, 100)
    stack.beat()
    stack.worker("worker", HOTLINE_ESCALATION_ITEM_DELAY="0.05")  # a batch of 20 takes a second

    def some() -> bool:
        session.expire_all()
        return count(session, EscalationRecord) >= 20

    wait_for(some, 40, "the first batches", stack)
    import time

    time.sleep(0.5)  # well inside a batch
    stack.kill("worker")
    session.expire_all()
    at_kill = count(session, EscalationRecord)
    assert 20 <= at_kill < 100, at_kill
    stack.worker("worker2")

    def done() -> bool:
        session.expire_all()
        return (
            count(session, EscalationRecord) >= 100
            and count(session, NotificationMessage, NotificationMessage.status != "sent") == 0
        )

    wait_for(done, 60, "the rest after the restart", stack)
    _check_exactly_once(session, ids)
    assert all(reload(session, session.get(Ticket, i)).escalation_level == 1 for i in ids[:5])  # type: ignore[arg-type]
