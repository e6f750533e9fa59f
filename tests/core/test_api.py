"""The HTTP API on PostgreSQL: login, scoping, 保密, bad input, conflicts, lists, health."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.models import Citizen, Ticket, TimelineEvent
from tests.conftest import REPO, Org, login

APPEAL = {
    "title": "小区路灯不亮",
    "content": "新苑小区东门路灯已经坏了一周，晚上出行很不安全。",
    "appeal_type": "help",
    "channel": "phone",
    "phone": "138 0000 0001",
    "contact_name": "张先生",
    "address": "东城区和平街道新苑小区东门",
    "category": "城市管理",
}


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def act(client: TestClient, who: dict[str, str], ticket: dict[str, Any], action: str, **body: Any) -> Any:
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/{action}", headers=who, json={"version": ticket["version"], **body}
    )
    return response


def test_a_ticket_from_call_to_close_over_http(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    agent, dispatcher, zjj, cb = (login(client, n) for n in ("agent", "dispatcher", "zjj", "callback"))
    created = client.post("/api/v1/tickets", headers=agent, json=APPEAL)
    assert created.status_code == 201, created.text
    t = created.json()
    assert t["status"] == "registered" and t["citizen"]["phone"] == "+8613800000001"
    steps = [
        (dispatcher, "dispatch", {"primary_department_id": org.dept["zjj"]}, "dispatched"),
        (zjj, "sign", {}, "in_progress"),
        (zjj, "reply", {"handling": "已更换灯泡", "resolved": True, "public_answer": "路灯已修复"}, "replied"),
        (dispatcher, "review", {"accept": True}, "awaiting_callback"),
    ]
    for who, action, body, expected in steps:
        response = act(client, who, t, action, **body)
        assert response.status_code == 200, (action, response.text)
        t = response.json()
        assert t["status"] == expected
    # 回访 is answered per caller (escalation), from the moment the reply is accepted; 满意 closes.
    (callback,) = client.get(f"/api/v1/escalation/tickets/{t['id']}/callbacks", headers=cb).json()
    answer = {"satisfaction": "satisfied", "resolved": True}
    answered = client.post(f"/api/v1/escalation/callbacks/{callback['id']}/answer", headers=cb, json=answer)
    assert answered.status_code == 200 and answered.json()["ticket_status"] == "closed", answered.text
    detail = client.get(f"/api/v1/tickets/{t['id']}", headers=agent).json()
    assert [e["action"] for e in detail["timeline"]] == [
        "register",
        "dispatch",
        "sign",
        "reply",
        "accept_reply",
        "record_callback",
        "close",
    ]
    assert detail["timeline"][2]["actor_name"] == "zjj 测试"
    assert [e["action_label"] for e in detail["timeline"]] == [
        "登记",
        "派单",
        "签收",
        "回复",
        "回复审核通过",
        "回访",
        "办结",
    ]


def test_vocabulary_gives_every_code_its_label(client: TestClient) -> None:
    from hotline import lifecycle
    from hotline.enums import AppealType, Channel, Role, Satisfaction, TicketStatus, Urgency

    assert client.get("/api/v1/vocabulary").status_code == 401
    vocab = client.get("/api/v1/vocabulary", headers=login(client, "zjj")).json()
    for key, enum in [
        ("statuses", TicketStatus),
        ("appeal_types", AppealType),
        ("urgencies", Urgency),
        ("channels", Channel),
        ("roles", Role),
        ("satisfactions", Satisfaction),
    ]:
        assert [o["value"] for o in vocab[key]] == [e.value for e in enum], key
        assert all(o["label"] and o["label"] != o["value"] for o in vocab[key]), key
    assert {o["value"] for o in vocab["return_reasons"]} == set(lifecycle.RETURN_REASONS)
    assert {"城市管理", "公用事业(水电气热)"} <= {o["value"] for o in vocab["categories"]}
    # every action the core writes to a timeline has its label
    source = (REPO / "hotline" / "lifecycle.py").read_text(encoding="utf-8")
    written = set(re.findall(r'_record\(\s*session,\s*ticket,\s*actor,\s*"([a-z_]+)"', source))
    written |= set(re.findall(r'action = "([a-z_]+)"', source))
    assert written and written <= set(lifecycle.ACTION_LABELS), written - set(lifecycle.ACTION_LABELS)


def test_login_errors(client: TestClient) -> None:
    """(Login limiting: tests/core/test_login_limits.py.)"""
    assert client.get("/api/v1/tickets").status_code == 401
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    bad = client.post("/api/v1/auth/token", data={"username": "agent", "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_credentials"


def test_refused_transitions_answer_403_for_the_role_and_409_for_the_state(
    client: TestClient, pg: tuple[Session, Org]
) -> None:
    agent, zjj = login(client, "agent"), login(client, "zjj")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    refused = act(client, agent, t, "dispatch", primary_department_id=pg[1].dept["zjj"])
    assert refused.status_code == 403, refused.text
    assert refused.json() == {
        "code": "role_not_allowed",
        "detail": "话务员不能派单；只有派单员、督办员、管理员可以",
        "errors": [],
    }
    refused = act(client, login(client, "supervisor"), t, "close")
    assert refused.status_code == 409 and "已登记" in refused.json()["detail"]
    assert refused.json()["code"] == "invalid_state" and refused.json()["status"] == "registered"
    # The department does not even see a ticket that is not theirs.
    assert act(client, zjj, t, "sign").status_code == 404


def test_concurrent_dispatch_only_one_wins(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    agent, dispatcher = login(client, "agent"), login(client, "dispatcher")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def go(dept: str) -> None:
        barrier.wait()
        results.append(act(client, dispatcher, t, "dispatch", primary_department_id=org.dept[dept]).status_code)

    threads = [threading.Thread(target=go, args=(d,)) for d in ("zjj", "cgj")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [200, 409]
    dispatches = session.scalar(
        select(func.count())
        .select_from(TimelineEvent)
        .where(TimelineEvent.ticket_id == t["id"], TimelineEvent.action == "dispatch")
    )
    assert dispatches == 1
    stale = act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["zjj"])
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert stale.json()["current_version"] > t["version"]


def test_department_scoping(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    agent, dispatcher = login(client, "agent"), login(client, "dispatcher")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    t = act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["dc.hp"]).json()
    other = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "phone": "13900000002"}).json()
    act(client, dispatcher, other, "dispatch", primary_department_id=org.dept["zjj"])
    for name, sees in [("hp", True), ("dc_head", True), ("xy", False), ("jk", False), ("zjj", False)]:
        who = login(client, name)
        status = client.get(f"/api/v1/tickets/{t['id']}", headers=who).status_code
        assert status == (200 if sees else 404), name
        listed = {item["id"] for item in client.get("/api/v1/tickets", headers=who).json()["items"]}
        assert (t["id"] in listed) == sees, name
    # A department filtering the list by itself or by a unit below it (both read from its
    # assignments on PostgreSQL: service.held_first).
    dc_head = login(client, "dc_head")
    for dept, sees in [("dc", True), ("dc.hp", True), ("dc.hp.xy", False)]:
        response = client.get("/api/v1/tickets", headers=dc_head, params={"department_id": org.dept[dept]})
        assert response.status_code == 200, (dept, response.text)
        assert (t["id"] in {item["id"] for item in response.json()["items"]}) == sees, dept
    # A sub-unit sees the ticket once it is given a part (加派).
    hp = login(client, "hp")
    t = act(client, hp, t, "sign").json()
    t = act(client, hp, t, "sub-assignments", department_id=org.dept["dc.hp.xy"]).json()
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=login(client, "xy")).status_code == 200
    assert client.get(f"/api/v1/tickets/{other['id']}", headers=login(client, "xy")).status_code == 404


def test_confidential_ticket_hides_name_and_number_from_departments(
    client: TestClient, pg: tuple[Session, Org]
) -> None:
    _session, org = pg
    agent, dispatcher, zjj = login(client, "agent"), login(client, "dispatcher"), login(client, "zjj")
    t = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "confidential": True}).json()
    act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["zjj"])
    seen = client.get(f"/api/v1/tickets/{t['id']}", headers=zjj).json()
    assert seen["citizen"] == {"id": None, "name": "保密", "phone": "保密", "masked": True}
    assert seen["contact_name"] == "保密"
    listed = client.get("/api/v1/tickets", headers=zjj).json()["items"][0]
    assert "13800000001" not in str(listed) and "张先生" not in str(listed)
    # Hotline staff still see who called; departments get no caller history at all.
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=agent).json()["citizen"]["phone"] == "+8613800000001"
    assert client.post("/api/v1/citizens/history", json={"phone": "13800000001"}, headers=zjj).status_code == 403


def test_citizen_history_for_agents(client: TestClient) -> None:
    agent = login(client, "agent")
    for _ in range(3):
        client.post("/api/v1/tickets", headers=agent, json=APPEAL)
    history = client.post("/api/v1/citizens/history", json={"phone": "+86 13800000001"}, headers=agent).json()
    assert history["ticket_count"] == 3 and len(history["open_tickets"]) == 3
    assert client.post("/api/v1/citizens/history", json={"phone": "abc"}, headers=agent).status_code == 422
    # The number never goes in a URL (URLs are logged by every proxy on the way).
    url = "/api/v1/citizens/history?phone=13800000001"
    assert client.get(url, headers=agent).status_code == 405


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"title": ""}, "title"),
        ({"appeal_type": "gossip"}, "appeal_type"),
        ({"phone": "not-a-phone"}, "phone"),
        ({"urgency": "whenever"}, "urgency"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"content": "   "}, "content"),
    ],
)
def test_bad_input_answers_422_per_field_and_stores_nothing(
    client: TestClient, pg: tuple[Session, Org], patch: dict[str, Any], field: str
) -> None:
    session, _org = pg
    agent = login(client, "agent")
    response = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, **patch})
    assert response.status_code == 422
    fields = [err["loc"][-1] for err in response.json()["errors"]]
    assert field in fields
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert session.scalar(select(func.count()).select_from(Citizen)) == 0


def test_bad_action_input(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent, dispatcher = login(client, "agent"), login(client, "dispatcher")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    missing_version = client.post(
        f"/api/v1/tickets/{t['id']}/dispatch", headers=dispatcher, json={"primary_department_id": pg[1].dept["zjj"]}
    )
    assert missing_version.status_code == 422
    assert ["body", "version"] in [e["loc"] for e in missing_version.json()["errors"]]
    unknown_dept = act(client, dispatcher, t, "dispatch", primary_department_id=99999)
    assert unknown_dept.status_code == 422 and "部门不存在" in unknown_dept.json()["detail"]
    after = client.get(f"/api/v1/tickets/{t['id']}", headers=agent).json()
    assert after["status"] == "registered" and after["version"] == t["version"]
    assert [e["action"] for e in after["timeline"]] == ["register"]


def test_list_filters_and_pagination(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    agent, dispatcher = login(client, "agent"), login(client, "dispatcher")
    for i in range(5):
        client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "title": f"路灯不亮 {i}"})
    water = client.post(
        "/api/v1/tickets",
        headers=agent,
        json={
            **APPEAL,
            "title": "突然停水",
            "content": "早上八点开始停水，没有通知。",
            "category": "公用事业(水电气热)",
            "urgency": "urgent",
        },
    ).json()
    act(client, dispatcher, water, "dispatch", primary_department_id=org.dept["cgj"])
    page1 = client.get("/api/v1/tickets", params={"page_size": 4}, headers=agent).json()
    page2 = client.get("/api/v1/tickets", params={"page_size": 4, "page": 2}, headers=agent).json()
    assert page1["total"] == 6 and len(page1["items"]) == 4 and len(page2["items"]) == 2
    assert not {i["id"] for i in page1["items"]} & {i["id"] for i in page2["items"]}

    def ids(**params: Any) -> list[int]:
        return [i["id"] for i in client.get("/api/v1/tickets", params=params, headers=agent).json()["items"]]

    assert ids(status="dispatched") == [water["id"]]
    assert ids(category="公用事业(水电气热)") == [water["id"]]
    assert ids(department_id=org.dept["cgj"]) == [water["id"]]
    assert len(ids(q="路灯")) == 5
    assert ids(overdue="true") == []
    assert len(ids(created_from="2000-01-01T00:00:00+08:00")) == 6
    assert ids(created_to="2000-01-01T00:00:00+08:00") == []
    bad = client.get("/api/v1/tickets", params={"status": "nonsense"}, headers=agent)
    assert bad.status_code == 422


def test_overdue_filter(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    admin, agent, dispatcher = login(client, "admin"), login(client, "agent"), login(client, "dispatcher")
    response = client.put("/api/v1/time-limits", headers=admin, json={"kind": "sign", "amount": 1, "unit": "seconds"})
    assert response.status_code == 200
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["zjj"])
    import time

    time.sleep(1.2)
    overdue = client.get("/api/v1/tickets", params={"overdue": "true"}, headers=agent).json()["items"]
    assert [i["id"] for i in overdue] == [t["id"]] and overdue[0]["overdue"] is True


def test_admin_edits_time_limits_and_calendar(client: TestClient) -> None:
    admin, agent = login(client, "admin"), login(client, "agent")
    body = {"kind": "reply", "appeal_type": "consult", "amount": 3, "unit": "working_days"}
    assert client.put("/api/v1/time-limits", headers=agent, json=body).status_code == 403
    changed = client.put("/api/v1/time-limits", headers=admin, json=body).json()
    assert changed["amount"] == 3
    limits = client.get("/api/v1/time-limits", headers=agent).json()
    assert [x["amount"] for x in limits if x["kind"] == "reply" and x["appeal_type"] == "consult"] == [3]
    bad = client.put("/api/v1/time-limits", headers=admin, json={**body, "unit": "fortnights"})
    assert bad.status_code == 422
    closure = {"day": "2026-12-01", "is_workday": False, "note": "防台风"}
    assert client.put("/api/v1/calendar/overrides", headers=admin, json=closure).status_code == 200
    assert client.get("/api/v1/calendar/overrides", headers=agent).json()[0]["day"] == "2026-12-01"
    assert client.delete("/api/v1/calendar/overrides/2026-12-01", headers=admin).status_code == 204


def test_admin_manages_departments_and_users(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    admin = login(client, "admin")
    dept = client.post(
        "/api/v1/departments",
        headers=admin,
        json={
            # not a code of the demo org, which the dispatch tests load into the same database
            "code": "dc.hp.qs",
            "name": "青山社区",
            "level": "community",
            "kind": "territorial",
            "parent_id": org.dept["dc.hp"],
        },
    ).json()
    assert dept["parent_id"] == org.dept["dc.hp"]
    wrong_level = client.post(
        "/api/v1/departments",
        headers=admin,
        json={"code": "x", "name": "x", "level": "district", "parent_id": org.dept["dc.hp"]},
    )
    assert wrong_level.status_code == 422
    user = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "gm1",
            "display_name": "青山社区 小王",
            "password": "Long-enough-pw1",
            "role": "dept_handler",
            "department_id": dept["id"],
        },
    )
    assert user.status_code == 201, user.text
    dup = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "gm1", "display_name": "重复", "password": "Long-enough-pw1", "role": "agent"},
    )
    assert dup.status_code == 409
    no_dept = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "gm2", "display_name": "无部门", "password": "Long-enough-pw1", "role": "dept_handler"},
    )
    assert no_dept.status_code == 422
    token = client.post("/api/v1/auth/token", data={"username": "gm1", "password": "Long-enough-pw1"})
    assert token.status_code == 200 and token.json()["user"]["role"] == "dept_handler"


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"]["ok"] and health.json()["broker"]["ok"]
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tickets/{ticket_id}/dispatch" in spec["paths"] and "/api/v1/auth/token" in spec["paths"]


def test_health_reports_a_dead_broker(pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.settings import reset_settings_cache

    monkeypatch.setenv("HOTLINE_BROKER_URL", "redis://127.0.0.1:1/0")
    reset_settings_cache()
    try:
        with TestClient(create_app()) as c:
            health = c.get("/healthz")
        assert health.status_code == 503 and health.json()["broker"]["ok"] is False
    finally:
        monkeypatch.delenv("HOTLINE_BROKER_URL")
        reset_settings_cache()


def test_extension_requests_to_rule_on(client: TestClient, pg: tuple[Session, Org]) -> None:
    from hotline.enums import TicketStatus
    from tests.core.factory import ticket_in

    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.in_progress)
    session.commit()
    dispatcher, zjj, agent = (login(client, n) for n in ("dispatcher", "zjj", "agent"))
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=zjj).json()
    asked = act(client, zjj, detail, "extension", working_days=5, reason="需协调施工单位")
    assert asked.status_code == 200, asked.text
    (item,) = client.get("/api/v1/extension-requests", headers=dispatcher).json()
    assert item["ticket_id"] == ticket.id and item["working_days"] == 5 and item["reason"] == "需协调施工单位"
    assert item["requested_by_name"] == "zjj 测试" and item["ticket"]["number"] == ticket.number
    assert client.get("/api/v1/extension-requests", headers=zjj).status_code == 403
    assert client.get("/api/v1/extension-requests", headers=agent).status_code == 403
    bad = client.get("/api/v1/extension-requests", params={"status": "maybe"}, headers=dispatcher)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "status"]
    approved = act(client, dispatcher, asked.json(), "extension/approve")
    assert approved.status_code == 200, approved.text
    assert client.get("/api/v1/extension-requests", headers=dispatcher).json() == []
    (done,) = client.get("/api/v1/extension-requests", params={"status": "approved"}, headers=dispatcher).json()
    assert done["new_reply_due"] is not None


def test_the_thread_pool_is_no_larger_than_the_database_pool(pg: tuple[Session, Org]) -> None:
    """A burst of requests waits for a thread, not 30 s for a database connection it cannot get."""
    import anyio.to_thread

    from hotline.db import get_engine

    with TestClient(create_app()) as c:
        threads = c.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
    pool = get_engine().pool
    assert threads == pool.size() + pool._max_overflow  # type: ignore[attr-defined]
