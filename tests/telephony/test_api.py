"""The telephony HTTP API and the screen pop over SSE, against a real uvicorn server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from telephony import screenpop
from telephony.client import AMITarget
from telephony.config import set_embedded_target
from tests.conftest import REDIS_URL, use_database
from tests.telephony.conftest import add_user, play, wait_play

AGENT_IFACE = "Local/8001@hotline-agents/n"


class Api:
    def __init__(self) -> None:
        from hotline.app import create_app
        from telephony.api import router

        app = create_app()
        if not any(getattr(r, "path", "").startswith("/api/v1/telephony") for r in app.routes):
            app.include_router(router)  # until the lead wires it into create_app()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.base = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(10)


def token(user_id: int) -> str:
    from hotline.auth import issue_token
    from hotline.db import get_sessionmaker
    from hotline.models import User

    with get_sessionmaker()() as s:
        return issue_token(s.get(User, user_id))


def seed_ticket(sm: sessionmaker[Session], phone: str, linkedid: str | None = None) -> int:
    from hotline.models import Citizen, Ticket, TicketCaller

    with sm() as s:
        citizen = s.scalar(select(Citizen).where(Citizen.phone == phone)) or Citizen(phone=phone, name="张三")
        s.add(citizen)
        s.flush()
        t = Ticket(
            number=f"T{time.time_ns()}",
            channel="phone",
            title="噪音扰民",
            content="夜间施工",
            appeal_type="complaint",
            citizen_id=citizen.id,
            source_call_id=linkedid,
        )
        s.add(t)
        s.flush()
        s.add(TicketCaller(ticket_id=t.id, citizen_id=citizen.id))
        s.commit()
        return t.id


def run_api_env(url: str, tmp: Path, **extra: str) -> None:
    use_database(url, tmp, **extra)


@pytest.fixture
def api(sm: sessionmaker[Session], ami: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.delenv("HOTLINE_AMI_HOST", raising=False)
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    use_database(str(sm.kw["bind"].url), tmp_path)
    set_embedded_target(AMITarget("127.0.0.1", ami.server.port, "hotline", "secret"))
    server = Api()
    yield server
    server.stop()
    set_embedded_target(None)


def read_sse(resp: httpx.Response, out: list[tuple[str, dict[str, Any]]], stop: threading.Event) -> None:
    event = None
    try:
        for line in resp.iter_lines():
            if stop.is_set():
                break
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                out.append((event, json.loads(line.split(":", 1)[1].strip())))
                event = None
    except httpx.HTTPError:
        pass  # the test closed the stream


def screen_pop_flow(api: Api, ami: Any, start_bridge: Any, sm: sessionmaker[Session], publish: Any) -> None:
    agent = add_user(sm, "tel-agent", "agent", AGENT_IFACE)
    ticket_id = seed_ticket(sm, "+8613800000001")
    runner = start_bridge(publish=publish)
    runner.wait_connected()
    got: list[tuple[str, dict[str, Any]]] = []
    stop = threading.Event()
    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", f"{api.base}/api/v1/telephony/screen-pop/stream", params={"token": token(agent)}) as resp,
    ):
        assert resp.status_code == 200
        reader = threading.Thread(target=read_sse, args=(resp, got, stop), daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got[0][0] == "ready"
        for _ in range(2):
            wait_play(ami, play(ami, "01_inbound_answered"))
            runner.drain()
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
    pops = [d for e, d in got if e == "screen_pop"]
    assert len(pops) == 2
    assert pops[0]["caller"] == "+8613800000001" and pops[0]["interface"] == AGENT_IFACE
    assert [p["prior_calls"] for p in pops] == [0, 1]
    assert [t["id"] for t in pops[0]["open_tickets"]] == [ticket_id]


def test_screen_pop_reaches_the_agent_in_process(api: Api, ami: Any, start_bridge: Any, sm: Any) -> None:
    screen_pop_flow(api, ami, start_bridge, sm, screenpop.hub.publish)


def test_calls_api_filters_and_ticket_link(api: Api, ami: Any, start_bridge: Any, sm: Any) -> None:
    agent = add_user(sm, "tel-agent", "agent", AGENT_IFACE)
    sup = add_user(sm, "tel-sup", "supervisor", None)
    runner = start_bridge()
    runner.wait_connected()
    for name in ("01_inbound_answered", "02_inbound_abandoned"):
        wait_play(ami, play(ami, name))
    runner.drain()
    h = {"Authorization": f"Bearer {token(sup)}"}
    with httpx.Client(base_url=api.base, headers=h, timeout=10) as c:
        page = c.get("/api/v1/calls").json()
        assert page["total"] == 2
        answered = next(i for i in page["items"] if i["answered"])
        assert answered["agent_user_id"] == agent and answered["talk_seconds"] == 7
        tid = seed_ticket(sm, "+8613800000001", answered["linkedid"])
        assert c.get(f"/api/v1/calls/{answered['linkedid']}").json()["ticket_ids"] == [tid]
        assert c.get("/api/v1/calls", params={"abandoned": True}).json()["total"] == 1
        found = c.post("/api/v1/calls/search", json={"caller": "13800000002"}).json()
        assert found["total"] == 1 and found["items"][0]["abandoned"]
        assert c.post("/api/v1/calls/search", json={"caller": "13800000002", "abandoned": False}).json()["total"] == 0
        assert c.get("/api/v1/calls", params={"caller": "13800000002"}).status_code == 422  # not in a URL
        assert c.get("/api/v1/calls", params={"agent_id": agent}).json()["total"] == 1
        assert c.get("/api/v1/calls", params={"date_from": "2999-01-01T00:00:00Z"}).json()["total"] == 0
        assert c.get("/api/v1/calls", params={"page_size": 1, "page": 2}).json()["items"][0]
        tasks = c.get("/api/v1/telephony/callbacks").json()
        assert len(tasks) == 1 and tasks[0]["caller"] == "+8613800000002"
        done = c.post(f"/api/v1/telephony/callbacks/{tasks[0]['id']}", json={"status": "done", "note": "已回拨"})
        assert done.json()["status"] == "done"
        live = c.get("/api/v1/telephony/live").json()
        assert live["agent_counts"].get("idle", 0) >= 3 and live["calls_in_progress"] == 0
    with httpx.Client(base_url=api.base, headers={"Authorization": f"Bearer {token(agent)}"}) as c:
        assert c.get("/api/v1/calls").json()["total"] == 1  # an agent sees their own calls
        assert c.get("/api/v1/telephony/live").status_code == 403


def test_transfer_and_pause_through_ami(api: Api, ami: Any, start_bridge: Any, sm: Any) -> None:
    ami.server.set_time_scale(0.2)  # long enough to transfer while the agent talks
    agent = add_user(sm, "tel-agent", "agent", AGENT_IFACE)
    seed_ticket(sm, "+8613900000009")  # the first ticket loads the search tokenizer (seconds): not during the call
    runner = start_bridge()
    runner.wait_connected()
    p = play(ami, "01_inbound_answered")
    from telephony.models import CallRecord

    def live_call() -> CallRecord | None:
        with sm() as s:
            return s.scalar(select(CallRecord).where(CallRecord.answered.is_(True)))

    runner.wait(lambda: live_call() is not None, timeout=10)
    lid = live_call().linkedid
    ticket_id = seed_ticket(sm, "+8613800000001", lid)  # registered during the call
    with httpx.Client(base_url=api.base, headers={"Authorization": f"Bearer {token(agent)}"}, timeout=10) as c:
        assert c.post(f"/api/v1/calls/{lid}/transfer", json={"target": "999"}).status_code == 422
        r = c.post(f"/api/v1/calls/{lid}/transfer", json={"target": "110"})
        assert r.status_code == 200, r.text
        assert r.json()["transfer_target"] == "110"
        (redirect,) = [m for _u, m in ami.server.actions if m.get("Action") == "Redirect"]
        assert redirect["Context"] == "emergency-transfer" and redirect["Exten"] == "110"
        wait_play(ami, p)
        runner.wait(lambda: live_call().status == "ended", timeout=10)
        runner.drain()
        rec = live_call()
        assert rec.transfer_target == "110" and rec.transferred_by_id == agent
        ticket = c.get(f"/api/v1/tickets/{ticket_id}").json()
        assert ticket["status"] == "transferred" and ticket["transfer_target"] == "110"
        assert ticket["timeline"][-1]["action"] == "transfer_emergency"
        assert c.post(f"/api/v1/calls/{lid}/transfer", json={"target": "120"}).status_code == 409
        r = c.post("/api/v1/telephony/agents/pause", json={"paused": True, "reason": "午休"})
        assert r.status_code == 200 and r.json()["message"] == "Interface paused successfully"
    from telephony.models import AgentStatus

    def agent_row() -> AgentStatus | None:
        with sm() as s:
            return s.get(AgentStatus, "Local/8001@hotline-agents")

    runner.wait(lambda: agent_row() is not None and agent_row().state == "paused", timeout=5)
    assert agent_row().pause_reason == "午休" and agent_row().user_id == agent


@pytest.mark.integration
def test_screen_pop_through_redis_on_postgresql(
    pg_sm: sessionmaker[Session], ami: Any, start_bridge: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.telephony.conftest import _clean

    _clean(pg_sm)
    monkeypatch.delenv("HOTLINE_AMI_HOST", raising=False)
    use_database(str(pg_sm.kw["bind"].url.render_as_string(hide_password=False)), tmp_path, HOTLINE_REDIS_URL=REDIS_URL)
    server = Api()
    try:
        publish = screenpop.make_publisher(REDIS_URL)  # the bridge publishes to Redis, not to the hub

        def start(**kw: Any) -> Any:
            return start_bridge(session_maker=pg_sm, **kw)

        screen_pop_flow(server, ami, start, pg_sm, publish)
    finally:
        server.stop()
        monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)


def test_the_agents_own_seat_and_calling_back_a_missed_caller(api: Api, ami: Any, start_bridge: Any, sm: Any) -> None:
    agent = add_user(sm, "tel-agent", "agent", AGENT_IFACE)
    nobody = add_user(sm, "tel-noseat", "agent", None)
    runner = start_bridge()
    runner.wait_connected()
    wait_play(ami, play(ami, "02_inbound_abandoned"))
    runner.drain()
    h = {"Authorization": f"Bearer {token(agent)}"}
    with httpx.Client(base_url=api.base, headers=h, timeout=10) as c:
        me = c.get("/api/v1/telephony/agents/me").json()
        assert me["state"] == "idle" and me["paused"] is False and "Local/8001@hotline-agents" in me["interfaces"]
        assert c.post("/api/v1/telephony/agents/pause", json={"paused": True, "reason": "培训"}).status_code == 200
        runner.wait(lambda: c.get("/api/v1/telephony/agents/me").json()["state"] == "paused", timeout=5)
        assert c.get("/api/v1/telephony/agents/me").json()["pause_reason"] == "培训"
        (task,) = c.get("/api/v1/telephony/callbacks").json()
        dialled = c.post(f"/api/v1/telephony/callbacks/{task['id']}/dial")
        assert dialled.status_code == 200, dialled.text
        assert dialled.json()["status"] == "open" and dialled.json()["handled_by_id"] == agent
        (originate,) = [m for _u, m in ami.server.actions if m.get("Action") == "Originate"]
        assert originate["Channel"] == AGENT_IFACE and originate["Exten"] == "13800000002"
        assert originate["Context"] == "outbound-trunk"
        assert c.post("/api/v1/telephony/callbacks/999999/dial").status_code == 404
        done = c.post(f"/api/v1/telephony/callbacks/{task['id']}", json={"status": "done", "note": "已回拨"})
        assert done.status_code == 200
        again = c.post(f"/api/v1/telephony/callbacks/{task['id']}/dial")
        assert again.status_code == 409 and again.json()["code"] == "callback_handled"
    with httpx.Client(base_url=api.base, headers={"Authorization": f"Bearer {token(nobody)}"}, timeout=10) as c:
        assert c.get("/api/v1/telephony/agents/me").json()["state"] == "logged_out"
