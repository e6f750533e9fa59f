"""The urgency safety rules through the admin API: read by supervisors, replaced whole by admins,
checked by the classifier's own parser, in force at once; a broken set is refused and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline import classification
from hotline.app import create_app
from tests.conftest import Org, login
from tests.core.test_errors import shaped

CHEMICAL = {"id": "chemical_leak", "name": "化学品泄漏", "urgency": "特急", "keywords": ["化学品泄漏", "硫酸泄漏"]}


@pytest.fixture
def client(pg: tuple[Session, Org], urgency_rules: Path) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_an_admin_adds_a_rule_and_it_fires_at_once(client: TestClient) -> None:
    admin, supervisor = login(client, "admin"), login(client, "supervisor")
    shipped = client.get("/api/v1/urgency-rules", headers=supervisor)
    assert shipped.status_code == 200
    rules: list[dict[str, Any]] = shipped.json()["rules"]
    assert any(r["id"] == "gas_leak" and r["urgency"] == "特急" for r in rules)
    assert classification.safety_rule("工厂门口", "厂区有硫酸泄漏，味道很大") is None

    replaced = client.put("/api/v1/urgency-rules", headers=admin, json={"rules": [*rules, CHEMICAL]})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["rules"][-1]["id"] == "chemical_leak"
    hit = classification.safety_rule("工厂门口", "厂区有硫酸泄漏，味道很大")
    assert hit is not None and (hit["id"], hit["urgency"]) == ("chemical_leak", "特急")
    assert client.get("/api/v1/urgency-rules", headers=supervisor).json() == replaced.json()


def test_a_broken_rule_set_is_refused_whole(client: TestClient, urgency_rules: Path) -> None:
    admin = login(client, "admin")
    rules = client.get("/api/v1/urgency-rules", headers=admin).json()["rules"]
    path = urgency_rules
    before = path.read_bytes()
    for broken in (
        [*rules, {**CHEMICAL, "patterns": ["(未闭合"]}],  # the classifier's parser refuses it
        [*rules, {**CHEMICAL, "keywords": []}],  # neither keywords nor patterns
        [*rules, {**CHEMICAL, "id": "gas_leak"}],  # an id twice
    ):
        refused = client.put("/api/v1/urgency-rules", headers=admin, json={"rules": broken})
        shaped(refused, 422, "invalid_input")
    for body in ({"rules": []}, {"rules": [{**CHEMICAL, "urgency": "一般"}]}, {"rules": [{**CHEMICAL, "x": 1}]}):
        shaped(client.put("/api/v1/urgency-rules", headers=admin, json=body), 422, "invalid_input")
    assert path.read_bytes() == before
    hit = classification.safety_rule("", "闻到很浓的煤气味")
    assert hit is not None and hit["id"] == "gas_leak"  # the rules in force are untouched


def test_only_admins_replace_and_agents_do_not_read(client: TestClient) -> None:
    supervisor, agent = login(client, "supervisor"), login(client, "agent")
    rules = client.get("/api/v1/urgency-rules", headers=supervisor).json()
    assert client.put("/api/v1/urgency-rules", headers=supervisor, json=rules).status_code == 403
    assert client.get("/api/v1/urgency-rules", headers=agent).status_code == 403
