"""Over HTTP on PostgreSQL: the supervisor's hand, the board, the inbox, the outbox with real
SMTP and HTTP servers (failures retried and visible), the survey page, calling hours."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation import callbacks, channels, rules
from escalation.config import save_overrides
from escalation.models import CallbackAttempt, SmsOutbox
from hotline.app import create_app
from hotline.auth import issue_token
from hotline.db import get_sessionmaker, utcnow
from hotline.enums import TicketStatus
from hotline.models import TimelineEvent, User
from hotline.settings import reset_settings_cache
from tests.conftest import Org
from tests.core.factory import user
from tests.escalation.helpers import count, limits_in_seconds, messages, reload, ticket_in
from tests.escalation.smtpsink import SMTPSink
from tests.escalation.test_sweep import sweep


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def auth(session: Session, org: Org, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user(session, org, name))}"}


def deliver() -> channels.DeliveryStats:
    return channels.deliver_due(get_sessionmaker())


def test_supervisor_raises_and_settles_by_hand(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    t = ticket_in(session, org, TicketStatus.in_progress)
    sup = auth(session, org, "supervisor")
    body = {"level": 3, "reason": "群众反映强烈"}
    r = client.post(f"/api/v1/escalation/tickets/{t.id}/raise", json=body, headers=sup)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert (rec["level"], rec["cause"], rec["level_before"], rec["level_after"]) == (3, "manual", 0, 3)
    assert rec["actor_id"] == org.users["supervisor"] and rec["actions"]["board"] is True
    r = client.post(f"/api/v1/escalation/tickets/{t.id}/raise", json={"level": 2, "reason": "x"}, headers=sup)
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/escalation/tickets/{t.id}/raise",
        json={"level": 4, "reason": "x"},
        headers=auth(session, org, "agent"),
    )
    assert r.status_code == 403
    event = session.scalars(
        select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "escalate")
    ).one()
    assert event.actor_id == org.users["supervisor"] and "跨过1、2级" in (event.note or "")

    board = client.get("/api/v1/escalation/board", headers=sup).json()
    assert [(i["ticket_id"], i["escalation_level"], i["level_name"]) for i in board["items"]] == [(t.id, 3, "黄牌督办")]
    assert board["items"][0]["last_escalation"]["id"] == rec["id"]

    r = client.post(f"/api/v1/escalation/tickets/{t.id}/settle", json={"level": 0, "reason": "已整改"}, headers=sup)
    assert r.status_code == 200 and r.json()["kind"] == "settle"
    assert reload(session, t).escalation_level == 0
    assert client.get("/api/v1/escalation/board", headers=sup).json()["total"] == 0
    records = client.get(f"/api/v1/escalation/tickets/{t.id}/records", headers=sup).json()
    assert [x["kind"] for x in records] == ["escalation", "settle"]


def test_inbox_unread_count_and_read(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    t = ticket_in(session, org, TicketStatus.dispatched)
    sweep(t.sign_due + timedelta(seconds=1))  # type: ignore[operator]
    handler = auth(session, org, "zjj")
    assert client.get("/api/v1/inbox", headers=handler).json()["unread"] == 0  # not delivered yet
    assert deliver().sent >= 1
    box = client.get("/api/v1/inbox", headers=handler).json()
    # the notice of the dispatch itself, then the 签收 reminder
    assert box["unread"] == 2 and all("工单" in m["body"] for m in box["items"])
    mid = box["items"][0]["id"]
    assert client.post(f"/api/v1/inbox/{mid}/read", headers=auth(session, org, "cgj")).status_code == 404
    assert client.post(f"/api/v1/inbox/{mid}/read", headers=handler).json()["read_at"]
    assert client.get("/api/v1/inbox", headers=handler).json()["unread"] == 1
    assert deliver().sent == 0  # nothing twice


def test_email_by_smtp_and_sms_to_the_outbox_table(
    client: TestClient, pg: tuple[Session, Org], smtp_sink: SMTPSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, org = pg
    monkeypatch.setenv("HOTLINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HOTLINE_SMTP_PORT", str(smtp_sink.port))
    reset_settings_cache()
    sup = session.get(User, org.users["supervisor"])
    assert sup is not None
    sup.email, sup.phone = "dubanyuan@example.gov.cn", "13600000002"
    session.commit()
    t = ticket_in(session, org, TicketStatus.in_progress)
    client.post(
        f"/api/v1/escalation/tickets/{t.id}/raise",
        json={"level": 3, "reason": "催办"},
        headers=auth(session, org, "supervisor"),
    )
    stats = deliver()
    assert stats.sent == len(messages(session)) and stats.failed == 0
    (mail,) = smtp_sink.messages()
    assert mail["To"] == "dubanyuan@example.gov.cn" and t.number in mail["Subject"]
    assert "Message-ID" in mail
    (sms,) = session.scalars(select(SmsOutbox)).all()
    assert sms.phone_e164 == "+8613600000002" and t.number in sms.body
    listed = client.get("/api/v1/escalation/notifications", headers=auth(session, org, "supervisor")).json()
    assert {m["address"] for m in listed if m["channel"] == "sms"} == {"136****0002"}  # masked
    assert all(m["status"] == "sent" and m["attempts"] == 1 for m in listed)
    # The SMS outbox (no gateway: the demo's survey links are read there) is the supervisors' to read.
    (outbox,) = client.get("/api/v1/escalation/sms-outbox", headers=auth(session, org, "supervisor")).json()
    assert outbox["phone"] == "136****0002" and outbox["body"] == sms.body and outbox["ticket_id"] == t.id
    assert client.get("/api/v1/escalation/sms-outbox", headers=auth(session, org, "agent")).status_code == 403


def test_smtp_down_is_retried_with_backoff_then_failed_and_visible(
    client: TestClient, pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    session, org = pg
    dead = SMTPSink()
    port = dead.port
    dead.server.server_close()  # nobody listens there now
    monkeypatch.setenv("HOTLINE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HOTLINE_SMTP_PORT", str(port))
    reset_settings_cache()
    save_overrides(session, {"delivery": {"max_attempts": 2, "backoff_base_seconds": 30}})
    sup = session.get(User, org.users["supervisor"])
    assert sup is not None
    sup.email = "dubanyuan@example.gov.cn"
    session.commit()
    t = ticket_in(session, org, TicketStatus.in_progress)
    client.post(
        f"/api/v1/escalation/tickets/{t.id}/raise",
        json={"level": 3, "reason": "催办"},
        headers=auth(session, org, "supervisor"),
    )
    assert deliver().retried == 1
    session.expire_all()
    (mail,) = messages(session, channel="email")
    assert mail.status == "pending" and mail.attempts == 1 and "SMTP" in (mail.last_error or "")
    assert mail.next_attempt_at > utcnow() + timedelta(seconds=20)  # backoff
    assert deliver().retried == 0  # not before its time
    mail.next_attempt_at = utcnow()
    session.commit()
    assert deliver().failed == 1
    session.expire_all()
    (mail,) = messages(session, channel="email")
    assert (mail.status, mail.attempts) == ("failed", 2)
    failed = client.get("/api/v1/escalation/notifications?status=failed", headers=auth(session, org, "supervisor"))
    assert [m["id"] for m in failed.json()] == [mail.id] and failed.json()[0]["address"].startswith("d***@")
    assert "dubanyuan@" not in caplog.text


class _Gateway(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []
    fail_first = 1

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Gateway.calls.append({"body": body, "key": self.headers.get("Idempotency-Key")})
        code = 503 if len(_Gateway.calls) <= _Gateway.fail_first else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_sms_http_gateway_retry(client: TestClient, pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    session, org = pg
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Gateway.calls = []
    try:
        monkeypatch.setenv("HOTLINE_SMS_GATEWAY_URL", f"http://127.0.0.1:{server.server_address[1]}/sms")
        reset_settings_cache()
        save_overrides(session, {"delivery": {"backoff_base_seconds": 0}})
        session.commit()
        sup = session.get(User, org.users["supervisor"])
        assert sup is not None
        sup.phone = "13600000003"
        session.commit()
        t = ticket_in(session, org, TicketStatus.in_progress)
        client.post(
            f"/api/v1/escalation/tickets/{t.id}/raise",
            json={"level": 3, "reason": "催办"},
            headers=auth(session, org, "supervisor"),
        )
        first = deliver()
        assert first.retried == 1
        second = deliver()
        assert second.sent == 1
        assert [c["body"]["to"] for c in _Gateway.calls] == ["+8613600000003"] * 2
        assert _Gateway.calls[0]["key"] == _Gateway.calls[1]["key"]  # same idempotency key on the retry
        session.expire_all()
        (sms,) = messages(session, channel="sms")
        assert (sms.status, sms.attempts) == ("sent", 2)
        assert count(session, SmsOutbox) == 0  # the gateway, not the table
    finally:
        server.shutdown()
        server.server_close()


def _awaiting_callback_with_link(session: Session, org: Org) -> tuple[Any, str]:
    limits_in_seconds(session, callback=1)
    t = ticket_in(session, org, TicketStatus.awaiting_callback)
    sweep(utcnow())
    cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
    raw = callbacks.send_survey_sms(session, rules.Context.load(session), cb, reload(session, t), utcnow())
    session.commit()
    return t, raw


def test_survey_page_answer_closes_and_the_link_is_single_use(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    t, raw = _awaiting_callback_with_link(session, org)
    deliver()
    (sms,) = session.scalars(select(SmsOutbox)).all()
    assert f"/survey/{raw}" in sms.body
    page = client.get(f"/survey/{raw}")
    assert page.status_code == 200 and "回访评价" in page.text and t.number in page.text
    assert page.headers["cache-control"] == "no-store"
    form = {"satisfaction": "basically_satisfied", "resolved": "1", "service_satisfaction": "satisfied"}
    r = client.post(f"/survey/{raw}", data=form)
    assert r.status_code == 200 and "感谢" in r.text
    t = reload(session, t)
    assert (t.status, t.satisfaction, t.service_satisfaction) == ("closed", "basically_satisfied", "satisfied")
    assert client.post(f"/survey/{raw}", data=form).status_code == 410
    assert client.get(f"/survey/{raw}").status_code == 410
    assert client.get("/survey/not-a-token").status_code == 404
    methods = [
        e.data.get("method")
        for e in session.scalars(
            select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "record_callback")
        )
    ]
    assert methods == ["sms"]


def test_expired_link(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    t, raw = _awaiting_callback_with_link(session, org)
    cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
    cb.token_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    r = client.post(f"/survey/{raw}", data={"satisfaction": "satisfied", "resolved": "1"})
    assert r.status_code == 410 and "过期" in r.text
    assert reload(session, t).status == TicketStatus.awaiting_callback


def test_no_call_outside_calling_hours(pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    session, org = pg
    tz = rules.Context.load(session).calendar.tz
    local = utcnow().astimezone(tz)
    opens = (local + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    if opens.date() != local.date() or opens.hour >= 23:
        opens = local.replace(hour=23, minute=0, second=0, microsecond=0)
    hours = f"{opens:%H:%M}-{opens.hour:02d}:59"
    if local.time() >= opens.time():  # late at night: a window that already closed today
        hours = "00:00-00:01"
    monkeypatch.setenv("HOTLINE_CALLING_HOURS", hours)
    reset_settings_cache()
    limits_in_seconds(session, callback=1)
    t = ticket_in(session, org, TicketStatus.awaiting_callback)
    sweep(utcnow())
    stats = callbacks.process_due(get_sessionmaker())
    assert stats.calls == 0
    session.expire_all()
    cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
    assert cb.status == "scheduled" and cb.ivr_attempts == 0
    assert cb.next_at is not None and cb.next_at > utcnow()
    first = cb.next_at.astimezone(tz)
    assert f"{first:%H:%M}" == hours.split("-")[0]
    from telephony.models import SurveyCall

    assert count(session, SurveyCall) == 0


def test_urgent_tickets_are_called_at_once_but_not_at_night(
    pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, org = pg
    ctx = rules.Context.load(session)
    sh = ctx.calendar.tz

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=sh)

    saturday_dawn, saturday_noon = local("2026-11-21T06:23"), local("2026-11-21T14:00")
    urgent = functools.partial(callbacks.allowed_call_time, ctx, urgent=True, drill=False)
    assert urgent(saturday_dawn) == local("2026-11-21T08:00")  # not at 06:23: the urgent hours open at 8
    assert urgent(saturday_noon) == saturday_noon  # a weekend afternoon: at once
    assert urgent(local("2026-11-21T22:30")) == local("2026-11-22T08:00")
    normal = callbacks.allowed_call_time(ctx, saturday_noon, urgent=False, drill=False)
    assert normal == local("2026-11-23T09:00")  # the next working day's calling hours
    ctx.config.raw["callback"] = {**ctx.config.raw["callback"], "urgent_any_time": True}  # a local rule allows it
    assert urgent(saturday_dawn) == saturday_dawn
    # A ticket becoming urgent-callable in the afternoon is called without waiting for Monday.
    from hotline.enums import Urgency

    t = ticket_in(session, org, TicketStatus.awaiting_callback, urgency=Urgency.urgent)
    sweep(utcnow())
    cb = session.scalars(select(CallbackAttempt).where(CallbackAttempt.ticket_id == t.id)).one()
    opens, closes = rules.Context.load(session).config.calling_hours(urgent=True)
    now = utcnow().astimezone(sh)
    assert cb.urgent and cb.next_at is not None
    if opens <= now.time() < closes:
        assert cb.next_at <= utcnow()
    else:
        assert cb.next_at.astimezone(sh).time() == opens


def test_config_is_validated(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    admin = auth(session, org, "admin")
    bad = client.put("/api/v1/escalation/config", json={"ladder": {"3": {"after_working_days": 20}}}, headers=admin)
    assert bad.status_code == 422
    ok = client.put("/api/v1/escalation/config", json={"ladder": {"3": {"after_working_days": 3}}}, headers=admin)
    assert ok.status_code == 200 and ok.json()["ladder"]["3"]["after_working_days"] == 3
    assert client.put("/api/v1/escalation/config", json={}, headers=auth(session, org, "supervisor")).status_code == 403
    effective = client.get("/api/v1/escalation/config", headers=admin).json()
    assert effective["ladder"]["1"]["after_fraction"] == 0.8


def test_a_callback_agent_answers_unsatisfied_and_the_ticket_is_reopened(
    client: TestClient, pg: tuple[Session, Org]
) -> None:
    """The one 回访 route: the callback exists as soon as the reply is accepted; 不满意 and 未解决 (a
    reasonable cause by the default rule) reopens the ticket (重办), which the sweep escalates."""
    session, org = pg
    t = ticket_in(session, org, TicketStatus.awaiting_callback)
    cb = auth(session, org, "callback")
    (callback,) = client.get(f"/api/v1/escalation/tickets/{t.id}/callbacks", headers=cb).json()
    assert callback["status"] == "scheduled"
    answer = {"satisfaction": "unsatisfied", "resolved": False, "reason": "噪音依旧"}
    assert (
        client.post(
            f"/api/v1/escalation/callbacks/{callback['id']}/answer", headers=auth(session, org, "zjj"), json=answer
        ).status_code
        == 403
    )
    answered = client.post(f"/api/v1/escalation/callbacks/{callback['id']}/answer", headers=cb, json=answer)
    assert answered.status_code == 200, answered.text
    assert answered.json()["outcome"] == "reopened" and answered.json()["ticket_status"] == "dispatched"
    t = reload(session, t)
    assert (t.reopen_count, t.satisfaction) == (1, "unsatisfied")
    again = client.post(f"/api/v1/escalation/callbacks/{callback['id']}/answer", headers=cb, json=answer)
    assert again.status_code == 409 and again.json()["code"] == "callback_closed"
