"""Passwords and tokens: the password rules, 修改密码, an admin's 重置密码 / 停用 / 退出所有登录 each
revoking every token issued before, a reset user made to change the password before anything else,
tokens without ``exp`` refused, open streams of a signed-out user closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.auth import ALGORITHM, hash_password
from hotline.db import utcnow
from hotline.models import Ticket, User
from hotline.passwords import problems
from hotline.settings import get_settings
from tests.conftest import PASSWORD, Org, login
from tests.core.test_api import APPEAL

NEW = "Hotline-2026-new"


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def shaped(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and set(body) >= {"detail", "errors"}, body
    return body


@pytest.mark.parametrize(
    ("password", "wrong"),
    [
        ("Short-1a", "至少 10 个字符"),
        ("alllowercase-letters", "至少三类"),
        ("ALLUPPER123456", "至少三类"),
        ("Xagent-2026-pw", "用户名"),
        ("XAGENT-2026-pw", "用户名"),
        ("A" * 120 + "b-1" * 5, "最多 128"),
    ],
)
def test_the_password_rules_name_what_is_wrong(password: str, wrong: str) -> None:
    found = problems(password, "agent")
    assert any(wrong in p for p in found), found


def test_a_password_meeting_the_rules_passes_but_not_the_current_one() -> None:
    for good in ("Hotline-2026-new", "热线中心Admin2026", "correct horse Battery"):
        assert problems(good, "agent") == [], good
    assert any("当前密码" in p for p in problems(NEW, "agent", hash_password(NEW)))


def test_changing_ones_password_revokes_every_earlier_token(
    client: TestClient, pg: tuple[Session, Org], fresh_passwords: None
) -> None:
    first, second = login(client, "agent"), login(client, "agent")  # two devices
    url = "/api/v1/me/password"
    wrong = client.post(url, json={"current_password": "not-it", "new_password": NEW}, headers=first)
    assert shaped(wrong, 422, "wrong_password")["errors"][0]["loc"] == ["body", "current_password"]
    weak = client.post(url, json={"current_password": PASSWORD, "new_password": "agent12345"}, headers=first)
    body = shaped(weak, 422, "weak_password")
    assert body["errors"][0]["loc"] == ["body", "new_password"] and "用户名" in body["detail"]
    assert client.get("/api/v1/me", headers=second).status_code == 200  # nothing changed yet

    changed = client.post(url, json={"current_password": PASSWORD, "new_password": NEW}, headers=first)
    assert changed.status_code == 200, changed.text
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    for old in (first, second):
        shaped(client.get("/api/v1/me", headers=old), 401, "not_authenticated")
    assert client.get("/api/v1/me", headers=fresh).json()["username"] == "agent"
    assert client.post("/api/v1/auth/token", data={"username": "agent", "password": PASSWORD}).status_code == 401
    login(client, "agent", NEW)
    again = client.post(url, json={"current_password": NEW, "new_password": NEW}, headers=fresh)
    assert "当前密码" in shaped(again, 422, "weak_password")["detail"]


def test_an_admin_resets_disables_enables_and_signs_out(
    client: TestClient, pg: tuple[Session, Org], fresh_passwords: None
) -> None:
    _session, org = pg
    admin, agent, supervisor = login(client, "admin"), login(client, "agent"), login(client, "supervisor")
    uid = org.users["agent"]

    for action, body in (("password", {"new_password": NEW}), ("disable", None), ("sign-out", None)):
        refused = client.post(f"/api/v1/users/{uid}/{action}", json=body, headers=supervisor)
        shaped(refused, 403, "role_not_allowed")
    assert client.get("/api/v1/me", headers=agent).status_code == 200

    # 退出所有登录
    out = client.post(f"/api/v1/users/{uid}/sign-out", headers=admin)
    assert out.status_code == 200 and out.json()["active"] is True
    shaped(client.get("/api/v1/me", headers=agent), 401, "not_authenticated")
    agent = login(client, "agent")

    # 重置密码
    weak = client.post(f"/api/v1/users/{uid}/password", json={"new_password": "short"}, headers=admin)
    shaped(weak, 422, "weak_password")
    assert client.post(f"/api/v1/users/{uid}/password", json={"new_password": NEW}, headers=admin).status_code == 200
    shaped(client.get("/api/v1/me", headers=agent), 401, "not_authenticated")
    agent = login(client, "agent", NEW)

    # 停用, then 启用
    disabled = client.post(f"/api/v1/users/{uid}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    shaped(client.get("/api/v1/me", headers=agent), 401, "not_authenticated")
    assert client.post("/api/v1/auth/token", data={"username": "agent", "password": NEW}).status_code == 401
    assert client.post(f"/api/v1/users/{uid}/enable", headers=admin).json()["active"] is True
    shaped(client.get("/api/v1/me", headers=agent), 401, "not_authenticated")  # stays revoked
    login(client, "agent", NEW)

    shaped(client.post(f"/api/v1/users/{org.users['admin']}/disable", headers=admin), 409, "own_account")
    shaped(client.post("/api/v1/users/999999/disable", headers=admin), 404, "not_found")
    system = _session.query(User).filter_by(username="system").one()
    shaped(client.post(f"/api/v1/users/{system.id}/sign-out", headers=admin), 404, "not_found")


def test_after_a_reset_the_user_must_change_the_password_before_anything_else(
    client: TestClient, pg: tuple[Session, Org], fresh_passwords: None
) -> None:
    session, org = pg
    admin, untouched = login(client, "admin"), login(client, "dispatcher")
    for name in ("agent", "supervisor"):
        reset = client.post(f"/api/v1/users/{org.users[name]}/password", json={"new_password": NEW}, headers=admin)
        assert reset.status_code == 200 and reset.json()["must_change_password"] is True, reset.text

    # The login works as before, and says what comes first.
    answer = client.post("/api/v1/auth/token", data={"username": "agent", "password": NEW})
    assert answer.status_code == 200 and answer.json()["user"]["must_change_password"] is True
    agent = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    supervisor = login(client, "supervisor", NEW)
    me = client.get("/api/v1/me", headers=agent)
    assert me.status_code == 200 and me.json()["must_change_password"] is True

    # Everything else is refused, streams too, and nothing is changed.
    refused = [
        client.post("/api/v1/tickets", json=APPEAL, headers=agent),
        client.get("/api/v1/tickets", headers=agent),
        client.get("/api/v1/vocabulary", headers=agent),
        client.get("/api/v1/telephony/screen-pop/stream", params={"token": agent["Authorization"].split()[1]}),
        client.get("/api/v1/dashboards/wallboard/stream", headers=supervisor),
        client.get("/api/v1/dashboards/kpis", headers=supervisor),
    ]
    for response in refused:
        body = shaped(response, 403, "password_change_required")
        assert body["detail"] == "管理员已重置您的密码，请先修改密码" and body["errors"] == []
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0

    # A user never reset is not affected.
    assert client.get("/api/v1/me", headers=untouched).json()["must_change_password"] is False
    assert client.get("/api/v1/tickets", headers=untouched).status_code == 200

    # The user's own 修改密码 (with the password the admin gave) ends it.
    url = "/api/v1/me/password"
    same = client.post(url, json={"current_password": NEW, "new_password": NEW}, headers=agent)
    shaped(same, 422, "weak_password")
    own = "Mine-only-2026"
    changed = client.post(url, json={"current_password": NEW, "new_password": own}, headers=agent)
    assert changed.status_code == 200 and changed.json()["user"]["must_change_password"] is False, changed.text
    agent = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=agent).json()["must_change_password"] is False
    assert client.get("/api/v1/vocabulary", headers=agent).status_code == 200
    assert client.post("/api/v1/tickets", json=APPEAL, headers=agent).status_code == 201
    assert (
        client.post("/api/v1/auth/token", data={"username": "agent", "password": own}).json()["user"][
            "must_change_password"
        ]
        is False
    )
    shaped(client.get("/api/v1/tickets", headers=supervisor), 403, "password_change_required")  # still to do

    # The API's description says which routes can refuse so.
    paths = client.get("/openapi.json").json()["paths"]
    assert "403" in paths["/api/v1/tickets"]["get"]["responses"]
    assert "403" not in paths["/api/v1/me"]["get"]["responses"] and "401" in paths["/api/v1/me"]["get"]["responses"]
    assert "403" not in paths["/api/v1/me/password"]["post"]["responses"]


def test_new_logins_meet_the_rules(client: TestClient, pg: tuple[Session, Org]) -> None:
    admin = login(client, "admin")
    weak = {"username": "weakling", "display_name": "弱密码", "password": "password123", "role": "agent"}
    assert "至少三类" in shaped(client.post("/api/v1/users", json=weak, headers=admin), 422, "weak_password")["detail"]


def _token(user: User, **claims: Any) -> str:
    now = utcnow()
    payload = {"sub": str(user.id), "role": user.role, "ver": user.token_version, "iat": int(now.timestamp())}
    payload.update(claims)
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, get_settings().effective_secret_key, algorithm=ALGORITHM
    )


def test_a_token_must_expire_and_name_its_version(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    user = session.get(User, org.users["agent"])
    assert user is not None
    later = int((utcnow() + timedelta(hours=1)).timestamp())

    def status(token: str) -> int:
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(_token(user, exp=later)) == 200  # well formed: accepted
    assert status(_token(user)) == 401  # no exp
    assert status(_token(user, exp=later, ver=None)) == 401  # no version
    assert status(_token(user, exp=later, ver="0")) == 401
    assert status(_token(user, exp=later, iat=None)) == 401
    assert status(_token(user, exp=int(utcnow().timestamp()) - 5)) == 401  # expired


# ---------------------------------------------------------------- open streams


@pytest.fixture
def served(pg: tuple[Session, Org], env: Any) -> Iterator[str]:
    from tests.browser import serve_app

    env(stream_auth_recheck_seconds="0.3")
    with serve_app() as url:
        yield url


def _read(response: httpx.Response, events: list[str], ended: threading.Event) -> None:
    try:
        for line in response.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    except httpx.HTTPError:
        pass
    ended.set()


def _stream_ends_when(base: str, path: str, auth: dict[str, Any], action: str, uid: int, admin: dict[str, str]) -> None:
    events: list[str] = []
    ended = threading.Event()
    with httpx.Client(timeout=30) as http, http.stream("GET", f"{base}{path}", **auth) as response:
        assert response.status_code == 200
        reader = threading.Thread(target=_read, args=(response, events, ended), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.02)
        assert events, "the stream sent nothing"
        time.sleep(1)  # several re-checks pass while the user is signed in
        assert not ended.is_set()
        assert http.post(f"{base}/api/v1/users/{uid}/{action}", headers=admin).status_code == 200
        assert ended.wait(5), f"the stream stayed open after {action}"
    again = httpx.get(f"{base}{path}", timeout=10, **auth)
    assert again.status_code == 401 and again.json()["code"] == "not_authenticated"


def test_the_screen_pop_stream_of_a_disabled_user_closes(served: str, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    with httpx.Client(base_url=served) as http:
        agent, admin = login(http, "agent"), login(http, "admin")
    token = agent["Authorization"].split()[1]
    path = "/api/v1/telephony/screen-pop/stream"
    try:
        _stream_ends_when(served, path, {"params": {"token": token}}, "disable", org.users["agent"], admin)
    finally:
        with httpx.Client(base_url=served) as http:
            http.post(f"/api/v1/users/{org.users['agent']}/enable", headers=admin)


def test_the_wallboard_stream_closes_when_its_user_is_signed_out(served: str, pg: tuple[Session, Org]) -> None:
    _session, org = pg
    with httpx.Client(base_url=served) as http:
        supervisor, admin = login(http, "supervisor"), login(http, "admin")
    path = "/api/v1/dashboards/wallboard/stream"
    _stream_ends_when(served, path, {"headers": supervisor}, "sign-out", org.users["supervisor"], admin)


def test_no_event_reaches_a_stream_after_its_user_is_signed_out(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before each event (hotline/streams.py): a screen pop queued after the sign-out,
    before the next periodic re-check, never reaches the signed-out user."""
    import asyncio
    import contextlib
    from collections.abc import AsyncIterator

    from hotline import streams
    from tests.aio import run

    env(stream_auth_recheck_seconds="3600")  # no periodic re-check during the test
    signed_in = [True]
    monkeypatch.setattr(streams, "_check", lambda _user_id, _version: signed_in[0])

    async def scenario() -> list[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def events() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        stream = streams.while_signed_in(User(id=1, token_version=1), events())
        await queue.put("before")
        seen = [await anext(stream)]
        signed_in[0] = False
        await queue.put("after")
        with contextlib.suppress(StopAsyncIteration):  # the stream ends instead
            seen.append(await asyncio.wait_for(anext(stream), 5))
        return seen

    assert run(scenario()) == ["before"]
