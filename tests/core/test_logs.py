"""Nothing personal or secret in a log line: the redaction every process installs, the request log
without query strings, SQL errors without their parameters, a token in a URL counting for nothing."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hotline import logs
from hotline.app import create_app
from tests.conftest import Org, login

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    "number",
    [
        "13800000001",
        "+8613800000001",
        "8613800000001",
        "008613800000001",
        "138 0000 0001",
        "138-0000-0001",
        "010-62345678",
        "01062345678",
        "+861062345678",
        "+442079460000",
    ],
)
def test_phone_numbers_are_masked_in_any_form(number: str) -> None:
    line = logs.redact(f"caller={number}; 来电 {number}。")
    digits = "".join(c for c in number if c.isdigit())
    assert digits[-8:] not in line.replace("*", ""), line
    assert "***" in line


def test_tokens_links_and_url_passwords_are_removed() -> None:
    line = logs.redact(
        f"Authorization: Bearer {JWT} GET /stream?token={JWT}&x=1 raw {JWT} "
        "sms http://h/survey/AbCdEf0123456789_-xyz db postgresql+psycopg://hotline:s3cret@db/hotline"
    )
    assert JWT not in line and "eyJ" not in line
    assert "AbCdEf0123456789" not in line and "s3cret" not in line
    assert "?token=[token]&x=1" in line and "/survey/[token]" in line and "hotline:***@db" in line


def test_what_is_not_a_phone_number_stays_readable() -> None:
    line = "ticket 20261122-000123 call 1732012345.123 took 0.0123456789s, 38 rows, port 5038, 2026-11-22"
    assert logs.redact(line) == line


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What a handler of this process writes (records pass the redacting factory on creation)."""
    logs.install_redaction()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_logger_masks_messages_arguments_and_tracebacks(captured: io.StringIO) -> None:
    some_library = logging.getLogger("some.library")
    some_library.debug("dialing %s for %s", "+8613800000001", {"token": JWT})
    try:
        raise ValueError("duplicate key (phone)=(+8613800000002)")
    except ValueError:
        some_library.exception("insert failed for %s", "13800000003")
    out = captured.getvalue()
    for secret in ("13800000001", "13800000002", "13800000003", JWT):
        assert secret not in out, out
    assert "ValueError" in out and "138****0002" in out  # the traceback is still there, masked


def test_payload_loggers_stay_quiet_at_debug(captured: io.StringIO) -> None:
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    for name in ("sse_starlette", "multipart", "celery.pool", "httpcore", "sqlalchemy.engine"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name


def test_sql_errors_carry_no_parameters(pg: tuple[Session, Org]) -> None:
    session, _org = pg
    with pytest.raises(DBAPIError) as failure:
        session.execute(text("SELECT CAST(:phone AS text) / 0"), {"phone": "13800000001"})
    session.rollback()
    assert "13800000001" not in str(failure.value) and "parameters hidden" in str(failure.value)


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_the_request_log_names_the_route_never_the_query(
    client: TestClient, captured: io.StringIO, pg: tuple[Session, Org]
) -> None:
    agent = login(client, "agent")
    client.get("/api/v1/tickets", params={"q": "13800000001", "page": 1}, headers=agent)
    client.get("/api/v1/tickets/987654", headers=agent)
    client.get("/survey/AbCdEf0123456789_-xyz")
    lines = [line for line in captured.getvalue().splitlines() if "hotline.access" in line]
    assert any('"GET /api/v1/tickets" 200' in line for line in lines), lines
    assert any('"GET /api/v1/tickets/{ticket_id}" 404' in line for line in lines), lines
    assert any('"GET /survey/{token}"' in line for line in lines), lines
    joined = "\n".join(lines)
    assert "13800000001" not in joined and "?" not in joined and "AbCdEf" not in joined


def test_a_token_in_the_url_is_refused_except_on_the_screen_pop_stream(client: TestClient) -> None:
    token = login(client, "agent")["Authorization"].split()[1]
    assert client.get("/api/v1/me", params={"token": token}).status_code == 401
    assert client.get("/api/v1/tickets", params={"token": token}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
