"""The knowledge base over HTTP: a department proposes, the hotline approves, an agent finds the
article and answers a caller by 直办 from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.http_errors import ErrorOut
from tests.conftest import Org, login


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_propose_approve_search_and_answer(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    dept, supervisor, agent = login(client, "cgj"), login(client, "supervisor"), login(client, "agent")
    article = {
        "title": "共享单车乱停放投诉渠道",
        "body": "共享单车乱停放可拨打12345，城管部门两小时内处置。",
        "category": "城市管理",
        "propose": True,
    }
    created = client.post("/api/v1/knowledge/articles", headers=dept, json=article)
    assert created.status_code == 201, created.text
    version = created.json()
    assert (version["status"], version["number"], version["department_id"]) == ("proposed", 1, org.dept["cgj"])

    def search(who: dict[str, str], q: str) -> list[int]:
        r = client.get("/api/v1/knowledge/articles", headers=who, params={"q": q})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert search(agent, "共享单车") == []
    assert client.get(f"/api/v1/knowledge/articles/{version['article_id']}", headers=agent).status_code == 404
    queue = client.get("/api/v1/knowledge/versions", headers=supervisor).json()
    assert [q["id"] for q in queue] == [version["id"]]
    refused = client.post(f"/api/v1/knowledge/versions/{version['id']}/approve", headers=dept, json={})
    assert refused.status_code == 403 and refused.json()["code"] == "role_not_allowed"
    ok = client.post(f"/api/v1/knowledge/versions/{version['id']}/approve", headers=supervisor, json={"note": "同意"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert search(agent, "单车 投诉") == [version["article_id"]]
    hit = client.get("/api/v1/knowledge/articles", headers=agent, params={"q": "单车"}).json()["items"][0]
    assert "<em>单车</em>" in hit["title_html"]

    page = client.get(f"/api/v1/knowledge/articles/{version['article_id']}", headers=agent).json()
    assert page["may_edit"] is False and page["may_review"] is False and len(page["versions"]) == 1

    ticket = client.post(
        "/api/v1/tickets",
        headers=agent,
        json={
            "title": "咨询共享单车乱停放",
            "content": "小区门口单车堆放，问找谁。",
            "appeal_type": "consult",
            "channel": "phone",
            "phone": "13800000009",
        },
    ).json()
    bad = client.post(
        f"/api/v1/tickets/{ticket['id']}/answer",
        headers=agent,
        json={"version": ticket["version"], "answer": "已答复", "article_id": 999999},
    )
    assert bad.status_code == 422
    ErrorOut.model_validate(bad.json())
    assert bad.json()["errors"][0]["loc"] == ["body", "article_id"]
    done = client.post(
        f"/api/v1/tickets/{ticket['id']}/answer",
        headers=agent,
        json={"version": ticket["version"], "answer": "已告知拨打12345", "article_id": version["article_id"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "closed"
    page = client.get(f"/api/v1/knowledge/articles/{version['article_id']}", headers=agent).json()
    assert page["usage_count"] == 1
    used = client.get(f"/api/v1/knowledge/articles/{version['article_id']}/uses", headers=supervisor).json()
    assert [(u["ticket_number"], u["version_number"]) for u in used] == [(ticket["number"], 1)]

    # an edit by the department makes version 2; the agent still reads version 1 until approved
    edit = client.post(
        f"/api/v1/knowledge/articles/{version['article_id']}/versions",
        headers=dept,
        json={**article, "body": "共享单车乱停放由城管部门一小时内处置。", "propose": False},
    )
    assert edit.status_code == 201 and edit.json()["number"] == 2 and edit.json()["status"] == "draft"
    assert (
        client.get(f"/api/v1/knowledge/articles/{version['article_id']}", headers=agent)
        .json()["body"]
        .startswith("共享单车乱停放可拨打12345")
    )
    dept_view = client.get(f"/api/v1/knowledge/articles/{version['article_id']}", headers=dept).json()
    assert [v["status"] for v in dept_view["versions"]] == ["draft", "approved"] and dept_view["may_edit"]
    bad_dates = client.put(
        f"/api/v1/knowledge/versions/{edit.json()['id']}",
        headers=dept,
        json={**article, "valid_from": "2027-01-02", "valid_to": "2027-01-01"},
    )
    assert bad_dates.status_code == 422 and bad_dates.json()["errors"][0]["loc"] == ["body", "valid_to"]
