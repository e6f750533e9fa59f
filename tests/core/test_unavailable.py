"""A database that is down (restarting, unreachable) answers 503 with Retry-After in the one error
shape, not a 500; the same app answers normally once the database is there."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.browser import free_port
from tests.conftest import use_database


def test_an_unreachable_database_answers_503_with_retry_after(tmp_path: Path) -> None:
    from hotline.app import create_app

    use_database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing_here", tmp_path)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/auth/token", data={"username": "agent", "password": "whatever-123"})
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "2"
    assert r.json() == {"code": "unavailable", "detail": "数据库暂时不可用，请稍后重试", "errors": []}
