"""The client's mistakes answer 422 in the one error shape (never 500) and store nothing:
integers past what the database holds, NUL characters anywhere, months with no next month,
invisible titles, numbers that are no one's phone, unknown 退单 reasons, bad 督办 settings."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.enums import TicketStatus
from hotline.models import Citizen, Ticket
from tests.conftest import Org, login
from tests.core.factory import ticket_in
from tests.core.test_api import APPEAL
from tests.core.test_errors import shaped


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_integers_past_the_database_range_are_422(client: TestClient) -> None:
    admin = login(client, "admin")
    for url in (
        "/api/v1/tickets/2147483648",
        "/api/v1/tickets/10000000000000000000",
        "/api/v1/tickets?department_id=2147483648",
        "/api/v1/tickets?page=10000000000000000000",
        "/api/v1/escalation/report?month=9999-12",
        "/api/v1/escalation/report?month=2026-13",
    ):
        shaped(client.get(url, headers=admin), 422, "invalid_input")
    page = client.get("/api/v1/tickets?page=10000000000000000000", headers=admin).json()
    assert page["errors"][0]["loc"] == ["query", "page"]
    assert client.get("/api/v1/escalation/report?month=2026-12", headers=admin).status_code == 200
    document = client.get("/openapi.json").json()
    listing = next(p for p in document["paths"]["/api/v1/tickets"]["get"]["parameters"] if p["name"] == "page")
    assert listing["schema"]["maximum"] == 100_000


def test_nul_characters_are_refused_in_query_and_body(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent = login(client, "agent")
    query = shaped(client.get("/api/v1/tickets?q=a%00b", headers=agent), 422, "invalid_input")
    assert query["errors"][0]["loc"] == ["query", "q"]
    for field in ("title", "content", "contact_name", "address"):
        body = shaped(
            client.post("/api/v1/tickets", headers=agent, json={**APPEAL, field: "路灯\x00不亮"}), 422, "invalid_input"
        )
        assert body["errors"][0]["loc"] == ["body"]
    escaped = client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "content": "a backslash \\u0000 typed"})
    assert escaped.status_code == 201, escaped.text  # a typed backslash-u is text, not a NUL
    form = client.post("/api/v1/auth/token", data={"username": "agent\x00", "password": "x"})
    shaped(form, 422, "invalid_input")
    assert pg[0].scalar(select(func.count()).select_from(Ticket)) == 1


def test_titles_of_only_invisible_characters_are_refused(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent = login(client, "agent")
    for title in ("\u200b\u200b", "\u3000 \u200d", "\u2800", "\ufeff\u2060"):
        refused = shaped(
            client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "title": title}), 422, "invalid_input"
        )
        assert refused["errors"][0]["loc"] == ["body", "title"]
    assert client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "title": "\u200b路灯"}).status_code == 201


def test_service_numbers_are_no_citizens_phone(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent = login(client, "agent")
    for phone in ("110", "12345", "123", "95588"):
        refused = shaped(
            client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "phone": phone}), 422, "invalid_input"
        )
        assert refused["errors"][0]["loc"] == ["body", "phone"]
        shaped(client.post("/api/v1/citizens/history", headers=agent, json={"phone": phone}), 422, "invalid_input")
    for phone in ("13800000002", "010-87654321", "87654321"):
        assert client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "phone": phone}).status_code == 201
    assert pg[0].scalar(select(func.count()).select_from(Citizen)) == 3


def test_return_reasons_are_an_enum(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.in_progress)
    document = client.get("/openapi.json").json()
    reason = document["components"]["schemas"]["ReturnIn"]["properties"]["reason"]
    enum = document["components"]["schemas"][reason["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == ["not_our_duty", "wrong_place", "incomplete_info", "duplicate", "other"]
    refused = client.post(
        f"/api/v1/tickets/{ticket.id}/return",
        headers=login(client, "zjj"),
        json={"version": ticket.version, "reason": "lazy", "note": "不想办"},
    )
    body = shaped(refused, 422, "invalid_input")
    assert body["errors"][0]["loc"] == ["body", "reason"] and "not_our_duty" in body["errors"][0]["msg"]


def test_escalation_settings_are_validated_against_their_schema(client: TestClient) -> None:
    admin = login(client, "admin")
    for bad in (
        {"unknown": 1},
        {"ladder": {"3": {"after_working_days": "soon"}}},
        {"ladder": {"9": {"after_working_days": 1}}},
        {"ladder": {"3": {"recipients": ["mayor"]}}},
        {"callback": {"calling_hours": "late"}},
        {"callback": {"ivr_attempts": 10**9}},
        {"reminders": {"channels": ["sms"] * 50}},
        {"ladder": {"1": {"name": "x" * 10_000}}},
    ):
        shaped(client.put("/api/v1/escalation/config", headers=admin, json=bad), 422, "invalid_input")
    ok = client.put("/api/v1/escalation/config", headers=admin, json={"callback": {"ivr_attempts": 2}})
    assert ok.status_code == 200, ok.text
    assert ok.json()["callback"]["ivr_attempts"] == 2 and ok.json()["ladder"]["3"]["after_working_days"] == 2
    whole = client.get("/api/v1/escalation/config", headers=admin).json()
    assert client.put("/api/v1/escalation/config", headers=admin, json=whole).status_code == 200


def test_stored_text_with_controls_or_formulas_exports_as_text() -> None:
    from openpyxl import Workbook, load_workbook

    from dashboards.exports import Col, workbook_bytes, write_table

    wb = Workbook()
    write_table(wb.active, [Col("标题", "title")], [{"title": "\x1b路灯\x07不亮"}, {"title": '=HYPERLINK("x")'}])
    sheet = load_workbook(io.BytesIO(workbook_bytes(wb))).active
    assert sheet["A2"].value == "路灯不亮"
    assert sheet["A3"].value == '=HYPERLINK("x")' and sheet["A3"].data_type == "s"


@pytest.fixture
def either_client(db: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def test_integers_past_64_bits_are_422_on_both_databases(either_client: TestClient) -> None:
    """SQLite holds 2**31 (no such ticket: 404) but its driver cannot bind 2**63: 422, not 500."""
    admin = login(either_client, "admin")
    for url in ("/api/v1/tickets/9223372036854775808", "/api/v1/tickets/99999999999999999999999"):
        shaped(either_client.get(url, headers=admin), 422, "invalid_input")
    assert either_client.get("/api/v1/tickets/2147483648", headers=admin).status_code in (404, 422)
