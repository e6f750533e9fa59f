"""What the console's department inbox and admin pages need from the API, on PostgreSQL: the
inbox tabs (list and counts, per the department's own parts), and an admin changing an account
(name, role, department, seat) and a unit of the tree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.app import create_app
from hotline.db import utcnow
from hotline.enums import TicketStatus
from hotline.models import User
from tests.conftest import Org, login
from tests.core.factory import register, ticket_in


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def counts(client: TestClient, who: dict[str, str]) -> dict[str, int]:
    response = client.get("/api/v1/tickets/tabs", headers=who)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["label"] for r in rows] == ["待签收", "办理中", "即将超期", "已超期", "已回复", "已办结"]
    assert all(r["exact"] for r in rows)
    return {r["tab"]: r["count"] for r in rows}


def tab_ids(client: TestClient, who: dict[str, str], tab: str) -> list[int]:
    response = client.get("/api/v1/tickets", headers=who, params={"tab": tab, "page_size": 50})
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["items"]]


def test_inbox_tabs_count_and_list_a_departments_tickets(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    to_sign = ticket_in(session, org, TicketStatus.dispatched)
    working = ticket_in(session, org, TicketStatus.in_progress)
    late = ticket_in(session, org, TicketStatus.in_progress)
    soon = ticket_in(session, org, TicketStatus.in_progress)
    replied = ticket_in(session, org, TicketStatus.replied)
    closed = ticket_in(session, org, TicketStatus.closed)
    elsewhere = ticket_in(session, org, TicketStatus.dispatched, dept="cgj", handler="cgj")
    now = utcnow()
    late.reply_due = now - timedelta(hours=1)
    soon.reply_due = now + timedelta(hours=3)
    working.reply_due = now + timedelta(days=5)
    to_sign.sign_due = now + timedelta(days=2)
    to_sign.reply_due = now + timedelta(days=5)
    # a 协办 part not signed yet is 待签收 for the assisting unit while the ticket is 办理中
    dispatcher, cgj_user = session.get(User, org.users["dispatcher"]), session.get(User, org.users["cgj"])
    assert dispatcher is not None and cgj_user is not None
    assisted = register(session, org, phone="13800000077")
    lifecycle.dispatch_ticket(
        session,
        assisted,
        dispatcher,
        version=assisted.version,
        primary_department_id=org.dept["cgj"],
        assist_department_ids=[org.dept["zjj"]],
    )
    lifecycle.sign_ticket(session, assisted, cgj_user, version=assisted.version)
    assisted.reply_due = now + timedelta(days=5)
    session.commit()

    zjj = login(client, "zjj")
    assert tab_ids(client, zjj, "to_sign") == [to_sign.id, assisted.id]  # nearest deadline first
    assert set(tab_ids(client, zjj, "in_progress")) == {working.id, late.id, soon.id}
    assert tab_ids(client, zjj, "in_progress")[0] == late.id  # nearest deadline first
    assert tab_ids(client, zjj, "due_soon") == [soon.id]
    assert tab_ids(client, zjj, "overdue") == [late.id]
    assert tab_ids(client, zjj, "replied") == [replied.id]
    assert tab_ids(client, zjj, "closed") == [closed.id]
    got = counts(client, zjj)
    assert got["in_progress"] == 3 and got["due_soon"] == 1 and got["overdue"] == 1
    assert got["replied"] == 1 and got["closed"] == 1
    assert elsewhere.id not in tab_ids(client, zjj, "to_sign")

    # another department sees its own only; hotline staff see every ticket's
    cgj = counts(client, login(client, "cgj"))
    assert cgj["to_sign"] == 1 and cgj["in_progress"] == 1  # its own 主办 part is signed
    hotline = counts(client, login(client, "dispatcher"))
    assert hotline["to_sign"] == 2 and hotline["in_progress"] == 4

    bad = client.get("/api/v1/tickets", headers=zjj, params={"tab": "everything"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "tab"]


def test_admin_changes_an_account(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    admin = login(client, "admin")
    hp = login(client, "hp")
    uid = org.users["hp"]

    change = {"department_id": org.dept["dc.hp.xy"], "display_name": "和平 联络员"}
    moved = client.patch(f"/api/v1/users/{uid}", headers=admin, json=change)
    assert moved.status_code == 200, moved.text
    assert moved.json()["department_id"] == org.dept["dc.hp.xy"] and moved.json()["role"] == "dept_handler"
    assert moved.json()["display_name"] == "和平 联络员"
    assert client.get("/api/v1/me", headers=hp).json()["department_id"] == org.dept["dc.hp.xy"]

    no_dept = client.patch(f"/api/v1/users/{uid}", headers=admin, json={"department_id": None})
    assert no_dept.status_code == 422 and no_dept.json()["errors"][0]["loc"] == ["body", "department_id"]
    assert client.patch(f"/api/v1/users/{uid}", headers=admin, json={"role": "boss"}).status_code == 422
    # 停用 has a route of its own
    assert client.patch(f"/api/v1/users/{uid}", headers=admin, json={"active": False}).status_code == 422
    taken = client.patch(f"/api/v1/users/{org.users['agent']}", headers=admin, json={"extension": "8001"})
    assert taken.status_code == 200
    clash = client.patch(f"/api/v1/users/{org.users['dispatcher']}", headers=admin, json={"extension": "8001"})
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate_extension"
    myself = client.patch(f"/api/v1/users/{org.users['admin']}", headers=admin, json={"role": "agent"})
    assert myself.status_code == 422 and myself.json()["errors"][0]["loc"] == ["body", "role"]
    assert client.patch("/api/v1/users/999999", headers=admin, json={"display_name": "x"}).status_code == 404
    assert client.patch(f"/api/v1/users/{uid}", headers=hp, json={"role": "admin"}).status_code == 403

    back = client.patch(f"/api/v1/users/{uid}", headers=admin, json={"department_id": org.dept["dc.hp"]})
    assert back.status_code == 200
    cleared = client.patch(f"/api/v1/users/{org.users['agent']}", headers=admin, json={"extension": None})
    assert cleared.status_code == 200 and cleared.json()["extension"] is None


def test_admin_renames_and_retires_a_unit(client: TestClient, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    admin = login(client, "admin")
    did = org.dept["xc.jk"]
    renamed = client.patch(
        f"/api/v1/departments/{did}", headers=admin, json={"name": "建康街道办事处", "liaison_name": "王联络"}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "建康街道办事处" and renamed.json()["liaison_name"] == "王联络"
    assert client.patch(f"/api/v1/departments/{did}", headers=admin, json={"name": ""}).status_code == 422
    assert client.patch(f"/api/v1/departments/{did}", headers=admin, json={"code": "x"}).status_code == 422
    assert client.patch("/api/v1/departments/999999", headers=admin, json={"active": False}).status_code == 404
    retired = client.patch(f"/api/v1/departments/{did}", headers=admin, json={"active": False})
    assert retired.status_code == 200 and retired.json()["active"] is False
    refused = client.patch(f"/api/v1/departments/{did}", headers=login(client, "jk"), json={"active": True})
    assert refused.status_code == 403
    client.patch(f"/api/v1/departments/{did}", headers=admin, json={"active": True, "name": "建康街道"})
