"""A withdrawn assignment grants nothing: the department that sent a ticket back (退单) and lost it
on 改派, or whose ticket was merged away, no longer reads it, lists it, finds it or gets its notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from escalation import channels
from hotline.app import create_app
from hotline.db import get_sessionmaker
from tests.conftest import Org, login
from tests.core.test_api import APPEAL, act
from tests.core.test_attachments import PNG
from tests.escalation.test_sweep import sweep


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def sees(client: TestClient, who: dict[str, str], ticket: dict[str, Any]) -> dict[str, bool]:
    """Every way a department user reaches a ticket, and whether it answered."""
    number = ticket["number"]
    listed = client.get("/api/v1/tickets", headers=who).json()["items"]
    found = client.get("/api/v1/tickets", params={"q": number}, headers=who).json()["items"]
    inbox = client.get("/api/v1/inbox", headers=who).json()
    files = client.get(f"/api/v1/tickets/{ticket['id']}/attachments", headers=who)
    return {
        "attachments": files.status_code == 200
        and all(client.get(f["url"], headers=who).status_code == 200 for f in files.json()),
        "detail": client.get(f"/api/v1/tickets/{ticket['id']}", headers=who).status_code == 200,
        "list": any(i["id"] == ticket["id"] for i in listed),
        "search": any(i["id"] == ticket["id"] for i in found),
        "escalation": client.get(f"/api/v1/escalation/tickets/{ticket['id']}/records", headers=who).status_code == 200,
        "inbox": any(m["ticket_id"] == ticket["id"] for m in inbox["items"]) and inbox["unread"] > 0,
    }


def test_a_department_that_lost_a_ticket_on_reassignment_no_longer_reaches_it(
    client: TestClient, pg: tuple[Session, Org]
) -> None:
    _session, org = pg
    agent, dispatcher = login(client, "agent"), login(client, "dispatcher")
    zjj, cgj = login(client, "zjj"), login(client, "cgj")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    t = act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["zjj"]).json()
    photo = ("现场.png", PNG, "image/png")
    uploaded = client.post(f"/api/v1/tickets/{t['id']}/attachments", headers=agent, files={"file": photo})
    assert uploaded.status_code == 201, uploaded.text
    # Not signed in time: 市住建局 gets a 签收 reminder in its inbox.
    sweep(datetime.fromisoformat(t["sign_due"]) + timedelta(seconds=1))
    assert channels.deliver_due(get_sessionmaker()).sent >= 1
    t = client.get(f"/api/v1/tickets/{t['id']}", headers=dispatcher).json()  # the reminder moved its version
    everything = {"attachments": True, "detail": True, "list": True, "search": True, "escalation": True, "inbox": True}
    assert sees(client, zjj, t) == everything

    t = act(client, zjj, t, "sign").json()
    t = act(client, zjj, t, "return", reason="not_our_duty", note="属城管职责").json()
    assert sees(client, zjj, t) == everything  # still theirs while the hotline rules on it

    t = act(client, dispatcher, t, "return/accept", primary_department_id=org.dept["cgj"]).json()
    assert t["status"] == "dispatched"
    nothing = dict.fromkeys(everything, False)
    assert sees(client, zjj, t) == nothing
    assert sees(client, cgj, t)["detail"] and sees(client, cgj, t)["list"]
    # Acting on it is refused as if it did not exist (no name, no number in the answer).
    refused = act(client, zjj, t, "sign")
    assert refused.status_code == 404 and "13800000001" not in refused.text and "张先生" not in refused.text


def test_a_ticket_merged_away_leaves_its_department(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    agent, dispatcher, zjj = login(client, "agent"), login(client, "dispatcher"), login(client, "zjj")
    first = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    first = act(client, dispatcher, first, "dispatch", primary_department_id=org.dept["zjj"]).json()
    target = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "phone": "13900000009"}).json()
    target = act(client, dispatcher, target, "dispatch", primary_department_id=org.dept["cgj"]).json()
    assert client.get(f"/api/v1/tickets/{first['id']}", headers=zjj).status_code == 200
    merged = client.post(
        f"/api/v1/tickets/{first['id']}/merge",
        headers=dispatcher,
        json={"version": first["version"], "into_ticket_id": target["id"]},
    )
    assert merged.status_code == 200, merged.text
    assert client.get(f"/api/v1/tickets/{first['id']}", headers=zjj).status_code == 404


def test_a_refused_return_keeps_the_ticket_with_its_department(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    agent, dispatcher, zjj = login(client, "agent"), login(client, "dispatcher"), login(client, "zjj")
    t = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
    t = act(client, dispatcher, t, "dispatch", primary_department_id=org.dept["zjj"]).json()
    t = act(client, zjj, t, "return", reason="not_our_duty", note="不归我们").json()
    t = act(client, dispatcher, t, "return/reject", note="属住建职责").json()
    assert client.get(f"/api/v1/tickets/{t['id']}", headers=zjj).status_code == 200
    assert act(client, zjj, t, "sign").status_code == 200
