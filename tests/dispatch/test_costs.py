"""What registration and routing cost in SQL statements: bounded, whatever the backlog (no N+1)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline.app import create_app
from tests.conftest import login
from tests.dispatch.conftest import City, route
from tests.statements import counted

APPEAL = {
    "appeal_type": "complaint",
    "channel": "phone",
    "title": "新苑小区门口路灯不亮",
    "content": "和平路88号新苑小区门口的路灯坏了一周了，晚上很黑，老人出门不方便。",
    "address": "东城区和平街道新苑小区",
}

# auth, the caller (found, or found missing and added), the number, the ticket, its caller, its
# timeline event, the routing's pending row, escalation's watch, and the answer's timeline
REGISTRATION_STATEMENTS = 10


def test_registration_and_routing_cost_the_same_with_a_backlog(pg_city: tuple[Session, City]) -> None:
    with TestClient(create_app()) as client:
        agent = login(client, "agent")

        def register(phone: str) -> tuple[int, list[str]]:
            with counted() as statements:
                response = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "phone": phone})
            assert response.status_code == 201, response.text
            return response.json()["id"], statements

        first_id, first = register("13800000001")
        with counted() as routed_first:
            assert route(first_id) in {"auto_dispatched", "queued", "held"}
        # a backlog: forty open tickets about the same place and matter, some from the same caller
        for i in range(40):
            ticket_id, _ = register(f"139000000{i % 3:02d}")
            route(ticket_id)
        last_id, last = register("13900000001")
        with counted() as routed_last:
            route(last_id)

    assert len(first) <= REGISTRATION_STATEMENTS, first
    assert len(last) <= len(first), last  # the backlog costs the request nothing (a known caller: one less)
    # routing reads its candidates in a fixed number of queries and writes one row per repeat found
    reads = [s for s in routed_last if not s.startswith(("INSERT INTO dispatch_repeat_candidates", "SAVEPOINT"))]
    assert len(reads) <= len(routed_first) + 3, "\n".join(routed_last)
    assert any(s.startswith("INSERT INTO dispatch_repeat_candidates") for s in routed_last)
