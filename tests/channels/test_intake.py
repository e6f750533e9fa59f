"""Channel clients and intake on PostgreSQL: keys (wrong, revoked, rotated), attribution, the
idempotent intake under concurrent retries, attachments from a channel, dispatch like the phone."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from channels import clients, intake
from channels.models import ChannelCall, ChannelClient, ChannelIntake
from hotline import lifecycle
from hotline.db import get_sessionmaker
from hotline.enums import AppealType
from hotline.models import Attachment, Ticket, TimelineEvent
from tests.channels.conftest import APPEAL, Registered, register_client
from tests.conftest import Org, login
from tests.core.test_attachments import PNG
from tests.dispatch.conftest import route


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_admin_registers_rotates_and_revokes_keys(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, _org = pg
    admin, agent = login(client, "admin"), login(client, "agent")
    assert client.post("/api/v1/channel-clients", headers=agent, json={}).status_code == 403
    first = register_client(client, "grid-dc", "grid")
    assert first.key.startswith("hk_") and first.body["client"]["channel"] == "grid"
    stored = session.scalars(select(ChannelClient)).one()
    assert all(k.key_hash != first.key and first.key not in k.key_hash for k in stored.keys)  # only the hash

    post = {**APPEAL, "client_ref": "g-1"}
    assert client.post("/api/v1/intake/appeals", headers=first.headers, json=post).status_code == 201
    for bad in ({}, {"X-API-Key": "hk_000000000000_wrong"}, {"X-API-Key": first.key + "x"}, {"X-API-Key": "token"}):
        refused = client.post("/api/v1/intake/appeals", headers=bad, json={**post, "client_ref": "g-2"})
        assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key", refused.text

    # Rotation with no grace: the new key works, the old one no longer.
    rotated = client.post(f"/api/v1/channel-clients/{first.id}/keys/rotate", headers=admin, json={"grace_seconds": 0})
    new_key = {"X-API-Key": rotated.json()["api_key"]}
    assert client.get("/api/v1/intake/appeals/g-1", headers=new_key).status_code == 200
    assert client.get("/api/v1/intake/appeals/g-1", headers=first.headers).status_code == 401
    # With a grace period both work until it ends; revoking one key stops it at once.
    again = client.post(f"/api/v1/channel-clients/{first.id}/keys/rotate", headers=admin, json={"grace_seconds": 3600})
    newest = {"X-API-Key": again.json()["api_key"]}
    assert client.get("/api/v1/intake/appeals/g-1", headers=new_key).status_code == 200
    client.post(f"/api/v1/channel-clients/{first.id}/keys/{rotated.json()['key_id']}/revoke", headers=admin)
    assert client.get("/api/v1/intake/appeals/g-1", headers=new_key).status_code == 401
    assert client.get("/api/v1/intake/appeals/g-1", headers=newest).status_code == 200

    # Revoking the client stops every key; its acting user is disabled.
    revoked = client.post(f"/api/v1/channel-clients/{first.id}/revoke", headers=admin).json()
    assert revoked["active"] is False and all(k["revoked_at"] for k in revoked["keys"])
    assert client.get("/api/v1/intake/appeals/g-1", headers=newest).status_code == 401

    # Every authenticated call is attributed to the client and the key used.
    calls = client.get(f"/api/v1/channel-clients/{first.id}/calls", headers=admin).json()
    assert [c["path"] for c in calls].count("/api/v1/intake/appeals/g-1") == 3  # refused calls are not its
    assert {c["key_id"] for c in calls} == {k["id"] for k in revoked["keys"]}
    assert count(session, ChannelCall) == 4
    assert (
        client.post(
            "/api/v1/channel-clients", headers=admin, json={"code": "grid-dc", "name": "重复", "channel": "grid"}
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/channel-clients", headers=admin, json={"code": "phone-x", "name": "电话", "channel": "phone"}
        ).status_code
        == 422
    )


def test_intake_registers_like_a_phone_appeal_and_names_the_client(
    client: TestClient, pg: tuple[Session, Org], wechat: Registered
) -> None:
    session, _org = pg
    png = base64.b64encode(PNG).decode()
    body = {**APPEAL, "attachments": [{"filename": "路灯.png", "content_type": "image/png", "data_base64": png}]}
    created = client.post("/api/v1/intake/appeals", headers=wechat.headers, json=body)
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["created"] is True and out["channel"] == "wechat" and out["client_ref"] == "wx-0001"
    assert out["attachments"][0]["source"] == "channel" and out["attachments"][0]["content_type"] == "image/png"
    assert "13800000001" not in created.text and "张先生" not in created.text  # the public view only
    route(out["ticket_id"])  # what the worker does after the commit: classify, then route
    ticket = session.get(Ticket, out["ticket_id"])
    assert ticket is not None
    session.refresh(ticket)
    assert ticket.classification is not None  # classified like a phone appeal
    events = session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id)).all()
    assert events[0].action == "register" and events[0].actor_name == "微信公众号"

    # A retry answers the same ticket (200); the same reference with another body is refused.
    again = client.post("/api/v1/intake/appeals", headers=wechat.headers, json=body)
    assert again.status_code == 200 and again.json()["ticket_id"] == ticket.id and again.json()["created"] is False
    other = client.post("/api/v1/intake/appeals", headers=wechat.headers, json={**body, "title": "另一件事"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_mismatch"
    assert count(session, Ticket) == 1 and count(session, Attachment) == 1

    # The staff list shows it with its channel.
    agent = login(client, "agent")
    listed = client.get("/api/v1/tickets", headers=agent).json()["items"]
    assert [(t["number"], t["channel"]) for t in listed] == [(out["number"], "wechat")]


def test_bad_intake_stores_nothing(client: TestClient, pg: tuple[Session, Org], wechat: Registered) -> None:
    session, _org = pg
    html = base64.b64encode(b"<html><script>alert(1)</script></html>").decode()
    cases = [
        ({**APPEAL, "attachments": [{"filename": "a.png", "data_base64": html}]}, 415),
        ({**APPEAL, "attachments": [{"filename": "a.png", "data_base64": "***"}]}, 422),
        ({**APPEAL, "phone": "12"}, 422),
        ({**APPEAL, "title": "   "}, 422),
        ({**APPEAL, "lat": 91}, 422),
        ({**APPEAL, "unknown": 1}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/intake/appeals", headers=wechat.headers, json=body)
        assert response.status_code == status, (body, response.text)
    assert count(session, Ticket) == 0 and count(session, ChannelIntake) == 0
    # The reference was not burnt by the failures.
    assert client.post("/api/v1/intake/appeals", headers=wechat.headers, json=APPEAL).status_code == 201


def test_two_identical_posts_at_once_make_one_ticket(client: TestClient, pg: tuple[Session, Org]) -> None:
    """The first transaction holds the claim uncommitted; the second waits on the unique key in the
    database (seen in pg_stat_activity), then answers the first's ticket."""
    session, _org = pg
    registered = register_client(client)
    sm = get_sessionmaker()
    first, second = sm(), sm()
    the_client = first.get(ChannelClient, registered.id)
    assert the_client is not None

    def request() -> intake.IntakeRequest:
        appeal = lifecycle.NewAppeal(title="路灯不亮", content="东门路灯坏了一周。", appeal_type=AppealType.help)
        return intake.IntakeRequest(client_ref="same-ref", appeal=appeal, request_hash="h" * 64)

    mine = intake.file_appeal(first, the_client, request())  # claimed, not committed
    results: dict[str, Any] = {}

    def retry() -> None:
        other_client = second.get(ChannelClient, registered.id)
        assert other_client is not None
        results["second"] = intake.file_appeal(second, other_client, request())
        second.commit()

    thread = threading.Thread(target=retry)
    thread.start()
    deadline = time.monotonic() + 20
    while not session.scalar(
        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    ):
        assert time.monotonic() < deadline and thread.is_alive(), "the retry never waited on the claim"
        time.sleep(0.02)
        session.rollback()
    first.commit()
    thread.join(20)
    assert results["second"].created is False and results["second"].ticket.id == mine.ticket.id
    assert count(session, Ticket) == 1 and count(session, ChannelIntake) == 1
    first.close()
    second.close()


def test_concurrent_http_retries_give_one_ticket(pg: tuple[Session, Org]) -> None:
    """Eight identical posts at once over real HTTP (uvicorn): one ticket, every answer names it."""
    import httpx

    from tests.browser import serve_app

    session, _org = pg
    with serve_app() as url, httpx.Client(base_url=url, timeout=30) as http:
        token = http.post("/api/v1/auth/token", data={"username": "admin", "password": "correct-horse-battery"})
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        made = http.post(
            "/api/v1/channel-clients", headers=admin, json={"code": "app-x", "name": "市民App", "channel": "app"}
        ).json()
        headers = {"X-API-Key": made["api_key"]}
        barrier = threading.Barrier(8)
        answers: list[httpx.Response] = []

        def post() -> None:
            barrier.wait()
            answers.append(http.post("/api/v1/intake/appeals", headers=headers, json={**APPEAL, "client_ref": "r1"}))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["ticket_id"] for a in answers}) == 1
    assert count(session, Ticket) == 1


def test_channel_ticket_is_dispatched_like_the_phone_one(pg: tuple[Session, Org]) -> None:
    """The same appeal by an agent and by a channel client: the same 直派 to the same department."""
    from dispatch.config import set_setting
    from dispatch.models import DispatchDecision
    from tests.core.factory import user
    from tests.dispatch.conftest import load_city, route

    session, org = pg
    load_city(session, org)
    made, _key = clients.register_client(
        session, None, code="p12345", name="省平台", channel=lifecycle.Channel.province
    )
    session.commit()
    words = {"title": "工地夜间施工噪音扰民", "content": "东城区金凤街道的工地每晚十一点后还在施工，噪音很大。"}

    def appeal() -> lifecycle.NewAppeal:
        return lifecycle.NewAppeal(
            **words, appeal_type=AppealType.complaint, phone="13800000002", address="东城区金凤街道金凤路1号"
        )

    set_setting(session, "agent_hold_seconds", 90)  # the product's default (the city fixture has 0)
    agent = user(session, org, "agent")
    by_phone = lifecycle.register_ticket(session, agent, appeal())
    session.commit()
    assert route(by_phone.id) == "held"  # an agent may still answer on the call: 直派 after the hold
    phone_decision = session.scalars(select(DispatchDecision)).one()
    phone_choice = (phone_decision.primary_department_id, phone_decision.assist_department_ids)
    # Out of the way, so that the channel's appeal is not a repeat of it.
    session.expire_all()
    held = session.get(Ticket, by_phone.id)
    assert held is not None
    lifecycle.reject_intake(session, held, agent, version=held.version, reason="other", note="测试：另行登记")
    session.commit()
    made = session.get(ChannelClient, made.id)
    assert made is not None
    by_channel = intake.file_appeal(session, made, intake.IntakeRequest("p-1", appeal(), "h" * 64)).ticket
    session.commit()
    assert by_channel.channel == "province" and by_channel.created_by_id == made.user_id
    assert route(by_channel.id) == "auto_dispatched"  # the worker's same routing, no hold
    session.expire_all()
    decision = session.scalars(select(DispatchDecision).where(DispatchDecision.ticket_id == by_channel.id)).one()
    assert (decision.primary_department_id, decision.assist_department_ids) == phone_choice
    assert phone_choice[0] is not None
    routed = session.get(Ticket, by_channel.id)
    assert routed is not None and routed.status == "dispatched"
    assert routed.primary_department_id == phone_choice[0]
