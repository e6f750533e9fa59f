"""The one error shape: every 4xx of the API, whoever raises it, and its OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.http_errors import ErrorOut
from hotline.models import Ticket
from tests.conftest import Org, login
from tests.core.test_api import APPEAL


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def shaped(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The answer has ``status`` and is exactly the documented error body with ``code``."""
    assert response.status_code == status, response.text
    body = response.json()
    ErrorOut.model_validate(body)  # no key the schema does not document
    assert body["code"] == code and isinstance(body["errors"], list), body
    assert re.search(r"[\u4e00-\u9fff]", body["detail"]), body  # a sentence for people, in Chinese
    return body


def test_every_kind_of_4xx_answers_the_one_shape(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent = login(client, "agent")
    assert shaped(client.get("/api/v1/nowhere", headers=agent), 404, "not_found")["errors"] == []
    not_allowed = client.delete("/api/v1/tickets", headers=agent)
    shaped(not_allowed, 405, "method_not_allowed")
    assert not_allowed.headers["allow"]
    anonymous = client.get("/api/v1/tickets")
    shaped(anonymous, 401, "not_authenticated")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    shaped(client.post("/api/v1/auth/token", data={"username": "agent", "password": "wrong"}), 401, "bad_credentials")
    refused = shaped(client.get("/api/v1/users", headers=agent), 403, "role_not_allowed")
    assert refused["detail"] == "话务员不能执行此操作；只有管理员可以"
    shaped(client.get("/api/v1/tickets/999999", headers=agent), 404, "not_found")
    broken = client.post(
        "/api/v1/tickets", headers={**agent, "Content-Type": "application/json"}, content=b'{"title": '
    )
    assert shaped(broken, 422, "invalid_input")["errors"][0]["type"] == "json_invalid"
    missing = shaped(
        client.post("/api/v1/tickets", headers=agent, json={**APPEAL, "title": None}), 422, "invalid_input"
    )
    assert missing["errors"][0]["loc"] == ["body", "title"]
    assert missing["detail"].startswith("提交的内容有误：title：")
    ours = shaped(
        client.post("/api/v1/citizens/history", json={"phone": "abcdef"}, headers=agent), 422, "invalid_input"
    )
    assert ours["errors"] == [{"loc": ["body", "phone"], "msg": "电话号码无效", "type": "invalid_input"}]
    naive = client.get("/api/v1/tickets", params={"created_from": "2026-11-22T00:00:00"}, headers=agent)
    assert shaped(naive, 422, "invalid_input")["errors"][0]["loc"] == ["query", "created_from"]
    admin = login(client, "admin")
    user = {"username": "dup1", "display_name": "重复", "password": "Long-enough-pw1", "role": "agent"}
    assert client.post("/api/v1/users", headers=admin, json=user).status_code == 201
    shaped(client.post("/api/v1/users", headers=admin, json=user), 409, "duplicate_username")
    assert pg[0].scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(client: TestClient, pg: tuple[Session, Org]) -> None:
    agent = login(client, "agent")
    big = {**APPEAL, "content": "路" * 700_000}  # about 2 MB of UTF-8, over the 1 MiB default
    declared = client.post("/api/v1/tickets", headers=agent, json=big)
    assert "1048576" in shaped(declared, 413, "payload_too_large")["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"title": "x", "content": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    streamed = client.post("/api/v1/tickets", headers={**agent, "Content-Type": "application/json"}, content=chunks())
    shaped(streamed, 413, "payload_too_large")
    assert pg[0].scalar(select(func.count()).select_from(Ticket)) == 0


def test_import_routes_have_a_limit_of_their_own(pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.settings import reset_settings_cache

    monkeypatch.setenv("HOTLINE_MAX_BODY_BYTES", "2048")
    reset_settings_cache()
    try:
        with TestClient(create_app()) as client:
            admin = login(client, "admin")
            body = "rules: []\n" + "#" * 4000 + "\n"
            yaml_headers = {**admin, "Content-Type": "application/yaml"}
            imported = client.post("/api/v1/dispatch/catalogue/import", headers=yaml_headers, content=body)
            assert imported.status_code != 413, imported.text
            big = client.post("/api/v1/tickets", headers=admin, json={**APPEAL, "content": "a" * 4000})
            shaped(big, 413, "payload_too_large")
    finally:
        monkeypatch.delenv("HOTLINE_MAX_BODY_BYTES")
        reset_settings_cache()


def test_openapi_documents_the_errors_each_operation_gives(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and set(schemas["ErrorOut"]["required"]) == {"code", "detail", "errors"}

    def errors_of(path: str, method: str) -> set[int]:
        responses = spec["paths"][path][method]["responses"]
        return {int(s) for s in responses if s.startswith("4")}

    assert errors_of("/api/v1/tickets/{ticket_id}/dispatch", "post") == {401, 403, 404, 409, 413, 422}
    assert errors_of("/api/v1/me", "get") == {401}
    assert errors_of("/api/v1/auth/token", "post") == {401, 413, 422, 429}
    assert errors_of("/api/v1/users", "get") == {401, 403}
    assert errors_of("/api/v1/tickets", "get") == {401, 403, 422}  # 403: password_change_required
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, method, status)


def test_one_route_per_action(client: TestClient) -> None:
    """派单, 改派, 驳回 and the 回访 answer each have one route (they had two that behaved apart)."""
    paths = client.get("/openapi.json").json()["paths"]
    for gone in (
        "/api/v1/dispatch/tickets/{ticket_id}/dispatch",
        "/api/v1/dispatch/tickets/{ticket_id}/redispatch",
        "/api/v1/dispatch/tickets/{ticket_id}/reject-return",
        "/api/v1/tickets/{ticket_id}/callback",
    ):
        assert gone not in paths, gone
    for action in ("dispatch", "return/accept", "return/reject"):
        answer = paths[f"/api/v1/tickets/{{ticket_id}}/{action}"]["post"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DispatchedTicket"}
    assert "/api/v1/escalation/callbacks/{callback_id}/answer" in paths


def test_every_raised_error_uses_only_documented_keys() -> None:
    """An error raised with a key ErrorOut does not document fails at run time (TypeError, a 500):
    find them in the source instead, in every package."""
    import ast
    from pathlib import Path

    from hotline import errors

    classes = {name for name, obj in vars(errors).items() if isinstance(obj, type) and issubclass(obj, Exception)}
    allowed = {"field", "where", "code", "error_type", *errors.ErrorExtras.__annotations__}
    root = Path(__file__).resolve().parents[2]
    bad = []
    for package in ("hotline", "telephony", "classifier", "dispatch", "escalation", "dashboards", "knowledge"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes:
                    bad += [
                        f"{path.relative_to(root)}:{node.lineno} {k.arg}" for k in node.keywords if k.arg not in allowed
                    ]
    assert bad == []
