"""Channels fixtures: the app over TestClient on PostgreSQL, a registered client with its key, a
local webhook receiver, and the SMS outbox read back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.app import create_app
from tests.conftest import Org, login


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@dataclass
class Registered:
    id: int
    key: str
    headers: dict[str, str]
    body: dict[str, Any]


def register_client(client: TestClient, code: str = "wechat-gzh", channel: str = "wechat", **extra: Any) -> Registered:
    admin = login(client, "admin")
    response = client.post(
        "/api/v1/channel-clients", headers=admin, json={"code": code, "name": "微信公众号", "channel": channel, **extra}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Registered(body["client"]["id"], body["api_key"], {"X-API-Key": body["api_key"]}, body)


@pytest.fixture
def wechat(client: TestClient) -> Registered:
    return register_client(client)


APPEAL = {
    "client_ref": "wx-0001",
    "title": "小区路灯不亮",
    "content": "新苑小区东门路灯已经坏了一周，晚上出行很不安全。",
    "appeal_type": "help",
    "phone": "13800000001",
    "contact_name": "张先生",
    "address": "东城区和平街道新苑小区东门3号楼",
}


@dataclass
class Receiver:
    """A local HTTP endpoint that records what it is sent; ``fail`` answers 500 that many times."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    fail: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[str]:
        return [r["json"]["event"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                failing = state.fail > 0
                if failing:
                    state.fail -= 1
                else:
                    state.received.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
            self.send_response(500 if failing else 204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def sms_to(session: Session, phone_e164: str) -> list[str]:
    """What the SMS adapter (the outbox table) sent to a number, oldest first, after delivering."""
    from escalation.channels import deliver_due
    from escalation.models import SmsOutbox
    from hotline.db import get_sessionmaker

    deliver_due(get_sessionmaker())
    session.expire_all()
    return list(
        session.scalars(select(SmsOutbox.body).where(SmsOutbox.phone_e164 == phone_e164).order_by(SmsOutbox.id))
    )
