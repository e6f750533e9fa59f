"""The dispatch HTTP API on PostgreSQL: queue, dispatch, 退单, coordination, rates, rules, access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dispatch.config import set_setting
from hotline.app import create_app
from tests.conftest import login
from tests.dispatch.conftest import City, route


@pytest.fixture
def client(pg_city: tuple[Session, City]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def new_ticket(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"appeal_type": "complaint", "channel": "phone", "phone": "13800000001", **fields}
    response = client.post("/api/v1/tickets", headers=who, json=body)
    assert response.status_code == 201, response.text
    route(response.json()["id"])
    return client.get(f"/api/v1/tickets/{response.json()['id']}", headers=who).json()


def test_queue_dispatch_and_who_may(client: TestClient, pg_city: tuple[Session, City]) -> None:
    session, c = pg_city
    set_setting(session, "auto_enabled", False)
    session.commit()
    agent, dispatcher, zjj, admin = (login(client, n) for n in ("agent", "dispatcher", "zjj", "admin"))
    t = new_ticket(client, agent, title="路灯不亮", content="桃山路一排路灯不亮。", address="东城区东湖街道桃山路")
    assert t["status"] == "registered"
    queue = client.get("/api/v1/dispatch/queue", headers=dispatcher).json()
    (item,) = [i for i in queue if i["ticket"]["id"] == t["id"]]
    assert item["outcome"] == "queued" and len(item["proposals"]) <= 3
    assert item["proposals"][0]["primary"]["code"] == "cgj" and item["proposals"][0]["rule_code"] == "CM-STREETLIGHT"
    assert client.get("/api/v1/dispatch/queue", headers=zjj).status_code == 403  # departments: no queue
    body = {"version": t["version"]}
    assert client.post(f"/api/v1/tickets/{t['id']}/dispatch", headers=agent, json=body).status_code == 403
    # a department does not see a ticket that is not theirs (404, as for every transition)
    assert client.post(f"/api/v1/tickets/{t['id']}/dispatch", headers=zjj, json=body).status_code == 404
    done = client.post(f"/api/v1/tickets/{t['id']}/dispatch", headers=dispatcher, json=body)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "dispatched" and done.json()["primary_department_id"] == c.dept["cgj"]
    assert done.json()["decision"]["followed_proposal"] is True
    again = client.post(f"/api/v1/tickets/{t['id']}/dispatch", headers=dispatcher, json=body)
    assert again.status_code == 409
    assert client.get("/api/v1/dispatch/settings", headers=admin).json()["auto_enabled"] is False


def test_departments_see_only_their_own_decisions_and_rates(client: TestClient, pg_city: tuple[Session, City]) -> None:
    _session, c = pg_city
    agent, zjj, cgj, dispatcher = (login(client, n) for n in ("agent", "zjj", "cgj", "dispatcher"))
    t = new_ticket(client, agent, title="井盖丢了", content="解放路人行道井盖丢了。", address="东城区解放街道解放路")
    assert t["status"] == "dispatched" and t["primary_department_id"] == c.dept["cgj"]
    mine = client.get(f"/api/v1/dispatch/tickets/{t['id']}/decisions", headers=cgj)
    assert mine.status_code == 200 and mine.json()[0]["outcome"] == "auto_dispatched"
    assert client.get(f"/api/v1/dispatch/tickets/{t['id']}/decisions", headers=zjj).status_code == 404
    assert client.get(f"/api/v1/dispatch/tickets/{t['id']}/proposals", headers=cgj).status_code == 403
    rates = client.get("/api/v1/dispatch/return-rates", headers=cgj).json()
    assert [r["code"] for r in rates] == ["cgj"]
    assert client.get("/api/v1/dispatch/return-rates", headers=zjj).json() == []
    assert {r["code"] for r in client.get("/api/v1/dispatch/return-rates", headers=dispatcher).json()} == {"cgj"}


def test_return_redispatch_and_coordination_over_http(client: TestClient, pg_city: tuple[Session, City]) -> None:
    _session, c = pg_city
    agent, dispatcher, scjg, supervisor, rsj = (
        login(client, n) for n in ("agent", "dispatcher", "scjg", "supervisor", "rsj")
    )
    t = new_ticket(client, agent, title="超市卖过期面包", content="超市卖过期面包。", address="西城区朝阳街道锦绣路")
    assert t["primary_department_id"] == c.dept["scjg"]
    back = client.post(
        f"/api/v1/tickets/{t['id']}/return",
        headers=scjg,
        json={"version": t["version"], "reason": "not_our_duty", "note": "非本单位职责"},
    )
    assert back.status_code == 200, back.text
    t = back.json()
    proposals = client.get(f"/api/v1/dispatch/tickets/{t['id']}/proposals", headers=dispatcher).json()
    assert c.dept["scjg"] in proposals["excluded_department_ids"]
    assert all(p["primary"]["code"] != "scjg" for p in proposals["proposals"])
    moved = client.post(
        f"/api/v1/tickets/{t['id']}/return/accept",
        headers=dispatcher,
        json={"version": t["version"], "primary_department_id": c.dept["rsj"]},
    )
    assert moved.status_code == 200, moved.text
    t = client.get(f"/api/v1/tickets/{t['id']}", headers=dispatcher).json()
    back = client.post(
        f"/api/v1/tickets/{t['id']}/return",
        headers=rsj,
        json={"version": t["version"], "reason": "not_our_duty", "note": "不是劳动保障问题"},
    )
    assert back.status_code == 200, back.text
    t = back.json()
    open_ = client.get("/api/v1/dispatch/coordination", headers=supervisor).json()
    (item,) = [i for i in open_ if i["ticket_id"] == t["id"]]
    assert set(item["departments"]) == {c.dept["scjg"], c.dept["rsj"]} and item["return_count"] == 2
    refused = client.post(
        f"/api/v1/tickets/{t['id']}/return/accept", headers=dispatcher, json={"version": t["version"]}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "in_coordination"
    settle = {"department_id": c.dept["scjg"], "note": "食品安全由市场监管局主办"}
    assert (
        client.post(f"/api/v1/dispatch/coordination/{item['id']}/settle", headers=dispatcher, json=settle).status_code
        == 403
    )
    done = client.post(f"/api/v1/dispatch/coordination/{item['id']}/settle", headers=supervisor, json=settle)
    assert done.status_code == 200 and done.json()["status"] == "settled"
    final = client.get(f"/api/v1/tickets/{t['id']}", headers=dispatcher).json()
    assert final["status"] == "dispatched" and final["primary_department_id"] == c.dept["scjg"]
    rates = {r["code"]: r for r in client.get("/api/v1/dispatch/return-rates", headers=supervisor).json()}
    assert rates["scjg"]["returned"] == 1 and rates["rsj"]["returned"] == 1 and rates["rsj"]["return_rate"] == 1.0
    # 回退率 per rule (supervisor, admin): the 直派 to 市场监管 was a rule's and came back once; the
    # dispatcher's own 改派 to 人社 (no proposal of a rule) came back too
    by_rule = client.get("/api/v1/dispatch/rule-return-rates", headers=supervisor)
    assert by_rule.status_code == 200, by_rule.text
    rows = by_rule.json()
    ruled = [r for r in rows if r["rule_code"] and r["returned"]]
    assert [(r["rule_code"], r["auto"], r["returned"]) for r in ruled] == [("MKT-FOOD", 1, 1)]
    manual = next(r for r in rows if r["rule_code"] is None)
    assert manual["returned"] == 1  # the 改派 to 人社 nobody proposed
    assert sum(r["returned"] for r in rows) == 2 and sum(r["dispatched"] for r in rows) == 3
    assert client.get("/api/v1/dispatch/rule-return-rates", headers=dispatcher).status_code == 403
    naive = client.get("/api/v1/dispatch/rule-return-rates", headers=supervisor, params={"since": "2026-01-01T00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["loc"] == ["query", "since"]


def test_reject_return_and_repeats_over_http(client: TestClient, pg_city: tuple[Session, City]) -> None:
    _session, c = pg_city
    agent, dispatcher, scjg = (login(client, n) for n in ("agent", "dispatcher", "scjg"))
    t = new_ticket(
        client, agent, title="超市卖过期酸奶", content="锦绣路超市卖过期酸奶。", address="西城区朝阳街道锦绣路"
    )
    t = client.post(
        f"/api/v1/tickets/{t['id']}/return",
        headers=scjg,
        json={"version": t["version"], "reason": "other", "note": "请核实"},
    ).json()
    assert (
        client.post(
            f"/api/v1/tickets/{t['id']}/return/reject",
            headers=dispatcher,
            json={"version": t["version"], "note": ""},
        ).status_code
        == 422
    )
    rejected = client.post(
        f"/api/v1/tickets/{t['id']}/return/reject",
        headers=dispatcher,
        json={"version": t["version"], "note": "属于食品安全监管"},
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "dispatched"
    again = new_ticket(
        client,
        agent,
        title="锦绣路超市还在卖过期酸奶",
        content="锦绣路那家超市还在卖过期的酸奶。",
        address="西城区朝阳街道锦绣路",
    )
    assert again["status"] == "registered"
    repeats = client.get(f"/api/v1/dispatch/tickets/{again['id']}/repeats", headers=dispatcher).json()
    assert repeats[0]["candidate_id"] == t["id"] and repeats[0]["same_citizen"]
    queue = client.get("/api/v1/dispatch/queue", headers=dispatcher).json()
    (item,) = [i for i in queue if i["ticket"]["id"] == again["id"]]
    assert item["repeat_candidates"][0]["id"] == repeats[0]["id"] and "疑似重复" in item["reason"]
    merged = client.post(f"/api/v1/dispatch/repeats/{repeats[0]['id']}/merge", headers=dispatcher, json={})
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=dispatcher).json()["repeat_count"] == 1


def test_rules_admin_only_with_history_import_export_and_places(
    client: TestClient, pg_city: tuple[Session, City]
) -> None:
    admin, dispatcher = login(client, "admin"), login(client, "dispatcher")
    rule = {"code": "T-LIGHT", "name": "测试", "priority": 99, "when": {"keywords": ["霓虹灯"]}, "primary": "cgj"}
    assert client.post("/api/v1/dispatch/rules", headers=dispatcher, json=rule).status_code == 403
    created = client.post("/api/v1/dispatch/rules", headers=admin, json=rule)
    assert created.status_code == 201 and created.json()["revision"] == 1
    bad = client.post("/api/v1/dispatch/rules", headers=admin, json={**rule, "code": "T-2", "when": {"colour": ["x"]}})
    assert bad.status_code == 422 and "未知条件" in bad.json()["detail"]
    patched = client.patch("/api/v1/dispatch/rules/T-LIGHT", headers=admin, json={"revision": 1, "priority": 98})
    assert patched.status_code == 200 and patched.json()["revision"] == 2
    stale = client.patch("/api/v1/dispatch/rules/T-LIGHT", headers=admin, json={"revision": 1, "priority": 97})
    assert stale.status_code == 409
    history = client.get("/api/v1/dispatch/rule-changes?code=T-LIGHT", headers=dispatcher).json()
    assert [h["action"] for h in history] == ["update", "create"] and history[0]["changed_by_name"] == "admin 测试"
    exported = client.get("/api/v1/dispatch/catalogue/export", headers=dispatcher)
    assert exported.status_code == 200 and "T-LIGHT" in exported.text
    imported = client.post(
        "/api/v1/dispatch/catalogue/import",
        headers={**admin, "Content-Type": "application/yaml"},
        content=exported.text.encode(),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 0 and imported.json()["unchanged"] >= 60
    assert client.delete("/api/v1/dispatch/rules/T-LIGHT", headers=admin).status_code == 204
    place = client.get(
        "/api/v1/dispatch/places/resolve", params={"address": "西城区人民路锦绣华庭"}, headers=dispatcher
    ).json()
    assert place["community"] == "xc.cy.jx" and place["department"]["code"] == "xc.cy.jx"
    csv = "name,kind,department_code\n幸福里,compound,dc.hp.xy\n"
    loaded = client.post(
        "/api/v1/dispatch/gazetteer/import?fmt=csv&replace=false",
        headers={**admin, "Content-Type": "text/plain"},
        content=csv.encode(),
    )
    assert loaded.status_code == 200, loaded.text
    place = client.get("/api/v1/dispatch/places/resolve", params={"address": "幸福里5号"}, headers=dispatcher).json()
    assert place["street"] == "dc.hp"


def test_address_completion_and_similar_open_tickets_for_the_intake_form(
    client: TestClient, pg_city: tuple[Session, City]
) -> None:
    session, c = pg_city
    set_setting(session, "auto_enabled", False)
    session.commit()
    agent, zjj = login(client, "agent"), login(client, "zjj")
    found = client.get("/api/v1/dispatch/places/suggest", params={"q": "锦绣华"}, headers=agent)
    assert found.status_code == 200, found.text
    first = found.json()[0]
    assert first["name"] == "锦绣华庭" and first["department"]["code"] == "xc.cy.jx"
    assert first["value"] == "".join(first["units"]) + "锦绣华庭" and first["units"][0] == "西城区"
    # the tail that names something completes; what was typed before it stays
    typed = client.get("/api/v1/dispatch/places/suggest", params={"q": "西城区人民路锦绣华"}, headers=agent).json()
    assert typed[0]["value"] == "西城区人民路锦绣华庭"
    assert client.get("/api/v1/dispatch/places/suggest", params={"q": "火星基地"}, headers=agent).json() == []
    assert client.get("/api/v1/dispatch/places/suggest", params={"q": ""}, headers=agent).status_code == 422
    assert client.get("/api/v1/dispatch/places/suggest", params={"q": "锦绣"}, headers=zjj).status_code == 403

    open_one = new_ticket(
        client, agent, title="路灯不亮", content="桃山路一排路灯晚上都不亮，很危险。", address="东城区东湖街道桃山路"
    )
    typed = {
        "title": "路灯坏了",
        "content": "桃山路的路灯晚上都不亮，很危险",
        "address": "东城区桃山路",
        "phone": "13800000001",
    }
    hits = client.post("/api/v1/dispatch/similar", json=typed, headers=agent)
    assert hits.status_code == 200, hits.text
    (hit,) = hits.json()
    assert hit["ticket"]["id"] == open_one["id"] and hit["same_citizen"] is True and 0 < hit["score"] <= 1
    assert "citizen" not in hit["ticket"]  # no personal data beside the form
    other = {
        **typed,
        "title": "噪音扰民",
        "content": "楼下饭店油烟很大",
        "phone": "13900000009",
        "address": "西城区人民路",
    }
    assert client.post("/api/v1/dispatch/similar", json=other, headers=agent).json() == []
    assert client.post("/api/v1/dispatch/similar", json={"title": "", "content": ""}, headers=agent).json() == []
    bad = client.post("/api/v1/dispatch/similar", json={**typed, "surprise": 1}, headers=agent)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "surprise"
    assert client.post("/api/v1/dispatch/similar", json=typed, headers=zjj).status_code == 403
