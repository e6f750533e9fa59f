"""回访 end to end: PostgreSQL, Redis, a Celery worker and beat, the telephony AMI server playing
recorded no-answer scenarios through the real bridge, the SMS outbox, and the survey page driven
in headless Chromium: 不满意 → 重办 → level 3."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.config import save_overrides
from escalation.models import CallbackAttempt, NotificationMessage, SmsOutbox
from hotline.db import get_sessionmaker
from hotline.enums import TicketStatus
from hotline.models import TimelineEvent
from telephony.amiserver import AMIServer, AMIServerThread, SurveyBehaviour
from telephony.bridge import BridgeConfig
from telephony.client import AMITarget
from telephony.models import SurveyCall
from tests.conftest import Org
from tests.escalation.helpers import escalations, limits_in_seconds, reload, ticket_in
from tests.escalation.stack import Stack, wait_for
from tests.telephony.conftest import BridgeRunner

pytestmark = [pytest.mark.integration, pytest.mark.browser]
PHONE = "13800000010"


@pytest.fixture
def ami() -> Iterator[AMIServerThread]:
    server = AMIServerThread(AMIServer(time_scale=0.02, login_fail_delay=0.05)).start()
    yield server
    server.stop()


def test_ivr_no_answer_three_times_then_sms_link_then_unsatisfied_reopens_to_level_3(
    pg: tuple[Session, Org], tmp_path: Path, web: str, ami: AMIServerThread, chromium: Any
) -> None:
    session, org = pg
    ami.server.callee_behaviour[PHONE] = SurveyBehaviour("no_answer", None, None)
    target = AMITarget("127.0.0.1", ami.server.port, "hotline", "secret")
    bridge = BridgeRunner(
        BridgeConfig(target, ping_interval=30.0, backoff_min=0.05, backoff_max=0.2), get_sessionmaker()
    ).start()
    stack = Stack(
        tmp_path,
        HOTLINE_AMI_HOST="127.0.0.1",
        HOTLINE_AMI_PORT=str(ami.server.port),
        HOTLINE_AMI_USERNAME="hotline",
        HOTLINE_AMI_SECRET="secret",
        HOTLINE_SURVEY_BASE_URL=web,
        HOTLINE_CALLING_HOURS="00:00-24:00",
    )
    try:
        bridge.wait_connected()
        limits_in_seconds(session, callback=1)  # drill: call at once, retries seconds apart
        save_overrides(
            session,
            {"callback": {"drill": {"retry_spacing_seconds": 1, "call_timeout_seconds": 20, "sms_wait_seconds": 120}}},
        )
        session.commit()
        t = ticket_in(session, org, TicketStatus.awaiting_callback, phone=PHONE)
        stack.worker()
        stack.beat()

        def sms_sent() -> bool:
            session.expire_all()
            return (
                session.scalar(
                    select(SmsOutbox.id)
                    .join(NotificationMessage, NotificationMessage.id == SmsOutbox.message_id)
                    .where(NotificationMessage.ticket_id == t.id)
                )
                is not None
            )

        wait_for(sms_sent, 150, "the survey SMS", stack)  # generous: a loaded 2-core machine
        calls = session.scalars(select(SurveyCall).where(SurveyCall.ticket_id == t.id).order_by(SurveyCall.id)).all()
        assert [c.status for c in calls] == ["no_answer"] * 3  # three IVR attempts, none answered
        assert all(c.dial_number == PHONE for c in calls)
        assert [c.originate_reason for c in calls] == [3, 3, 3]
        (sms,) = session.scalars(
            select(SmsOutbox)
            .join(NotificationMessage, NotificationMessage.id == SmsOutbox.message_id)
            .where(NotificationMessage.ticket_id == t.id)
        ).all()
        assert sms.phone_e164 == "+86" + PHONE and t.number in sms.body
        match = re.search(r"(http://\S+/survey/[A-Za-z0-9_-]+)", sms.body)
        assert match, sms.body
        url = match.group(1)
        cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
        assert (cb.status, cb.ivr_attempts) == ("sms_sent", 3)
        assert PHONE not in stack.log("worker")  # full numbers never in the logs

        phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        try:
            page = phone.new_page()
            page.goto(url)
            assert "回访评价" in page.title() and t.title in page.content()
            page.locator("label:has(input[name=satisfaction][value=unsatisfied])").click()
            page.locator("label:has(input[name=resolved][value='0'])").click()
            page.locator("label:has(input[name=service_satisfaction][value=satisfied])").click()
            page.click("button[type=submit]")  # no reason yet: the page asks for one
            assert page.locator("#hint").is_visible()
            page.fill("textarea[name=reason]", "噪音问题依旧，商户仍营业到凌晨")
            page.click("button[type=submit]")
            page.wait_for_selector("text=提交成功")
            page.goto(url)
            assert "您已评价" in page.content()  # single use
        finally:
            phone.close()

        def escalated() -> bool:
            session.expire_all()
            return any(r.level == 3 for r in escalations(session, t.id))

        wait_for(escalated, 90, "level 3 after 不满意", stack)
        t = reload(session, t)
        assert (t.status, t.reopen_count, t.satisfaction, t.service_satisfaction, t.escalation_level) == (
            TicketStatus.dispatched,
            1,
            "unsatisfied",
            "satisfied",
            3,
        )
        (rec,) = escalations(session, t.id)
        assert (rec.cause, rec.instance) == ("callback_unsatisfied", "reopen-1")
        actions = [
            e.action
            for e in session.scalars(
                select(TimelineEvent).where(TimelineEvent.ticket_id == t.id).order_by(TimelineEvent.id)
            )
        ]
        assert actions[-3:] == ["record_callback", "reopen", "escalate"]
        cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
        assert (cb.status, cb.method, cb.decision) == ("done", "sms", "reasonable")
        time.sleep(0)
    finally:
        stack.stop()
        bridge.stop()
