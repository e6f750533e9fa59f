"""The dashboards API: who sees what, bad input answered 4xx, the settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dashboards.facts import COLUMNS
from dashboards.models import DashboardCase
from hotline.enums import TicketStatus
from tests.conftest import Org, login
from tests.core.factory import ticket_in


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    from hotline.app import create_app

    with TestClient(create_app()) as c:
        yield c


def test_the_case_columns_are_the_tables(pg: tuple[Session, Org]) -> None:
    assert tuple(c.name for c in DashboardCase.__table__.columns) == COLUMNS


def test_supervisors_see_the_city_heads_their_subtree_others_nothing(
    client: TestClient, pg: tuple[Session, Org]
) -> None:
    session, org = pg
    ticket_in(session, org, TicketStatus.in_progress, dept="dc.hp", handler="hp")  # in 东城区
    ticket_in(session, org, TicketStatus.in_progress, dept="zjj", handler="zjj")
    sup = login(client, "supervisor")
    city = client.get("/api/v1/dashboards/kpis", params={"period": "day"}, headers=sup).json()
    assert city["scope"] == {"department_id": None, "label": "全市", "level": "city"}
    assert {k["key"]: k["value"] for k in city["kpis"]}["tickets"] == 2
    assert all(k["definition"] for k in city["kpis"])

    head = login(client, "dc_head")
    own = client.get("/api/v1/dashboards/kpis", params={"period": "day"}, headers=head).json()
    assert own["scope"]["label"] == "东城区"
    values = {k["key"]: k for k in own["kpis"]}
    assert values["tickets"]["value"] == 1 and values["answer_rate"]["applies"] is False
    below = client.get("/api/v1/dashboards/kpis", params={"department_id": org.dept["dc.hp"]}, headers=head)
    assert below.status_code == 200 and below.json()["scope"]["label"] == "和平街道"
    for path in ("kpis", "overdue", "ranking", "trend", "mix", "districts", "escalations"):
        aside = client.get(f"/api/v1/dashboards/{path}", params={"department_id": org.dept["zjj"]}, headers=head)
        assert aside.status_code == 403, (path, aside.text)
    for user in ("agent", "dispatcher", "callback", "zjj", "hp"):
        refused = client.get("/api/v1/dashboards/kpis", headers=login(client, user))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_bad_input_is_refused_with_the_field(client: TestClient, pg: tuple[Session, Org]) -> None:
    sup = login(client, "supervisor")
    cases = [
        ({"period": "year"}, "period"),
        ({"period": "custom", "first": "2026-11-01"}, "last"),
        ({"period": "custom", "first": "2026-11-10", "last": "2026-11-01"}, "last"),
        ({"period": "custom", "first": "2025-01-01", "last": "2026-11-01"}, "last"),
        ({"department_id": 999999}, "department_id"),
    ]
    for params, field in cases:
        response = client.get("/api/v1/dashboards/kpis", params=params, headers=sup)
        assert response.status_code == 422, (params, response.text)
        body = response.json()
        assert body["code"] == "invalid_input" and body["detail"]
        assert body["errors"][0]["loc"] == ["query", field], body
    assert client.get("/api/v1/dashboards/kpis", params={"date": "2026-13-01"}, headers=sup).status_code == 422
    assert client.get("/api/v1/dashboards/ranking", params={"month": "2026-13"}, headers=sup).status_code == 422


def test_settings_only_admins_change_and_bad_weights_store_nothing(client: TestClient, pg: tuple[Session, Org]) -> None:
    body = {
        "weights": {"response": 20, "resolution": 40, "satisfaction": 40},
        "basic_satisfied_weight": 0.8,
        "ranking_min_cases": 5,
    }
    assert client.put("/api/v1/dashboards/settings", json=body, headers=login(client, "supervisor")).status_code == 403
    admin = login(client, "admin")
    bad = {**body, "weights": {"response": 0, "resolution": 0, "satisfaction": 0}}
    assert client.put("/api/v1/dashboards/settings", json=bad, headers=admin).status_code == 422
    assert (
        client.put("/api/v1/dashboards/settings", json={**body, "basic_satisfied_weight": 2}, headers=admin).status_code
        == 422
    )
    default = client.get("/api/v1/dashboards/settings", headers=admin).json()
    assert default["weights"] == {"response": 30.0, "resolution": 35.0, "satisfaction": 35.0}
    saved = client.put("/api/v1/dashboards/settings", json=body, headers=admin)
    assert saved.status_code == 200 and saved.json()["ranking_min_cases"] == 5
    assert (
        client.get("/api/v1/dashboards/settings", headers=login(client, "supervisor")).json()["weights"]["response"]
        == 20
    )
