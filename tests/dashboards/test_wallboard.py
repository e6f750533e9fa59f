"""The wallboard's snapshot and its live stream; hot topics kept on the product's tickets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from dashboards import hot_topics_store
from dashboards.scope import OrgTree, Scope
from dashboards.wallboard import Broadcaster, snapshot
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import TicketStatus
from telephony.models import AgentStatus, CallRecord
from tests import aio
from tests.conftest import Org, login
from tests.core.factory import ticket_in, user
from tests.dashboards.seed import hot_topic_appeals


def live_call(linkedid: str, *, waited: int, answered: bool, ended: bool, wait: int = 3) -> CallRecord:
    now = utcnow()
    began = now - timedelta(seconds=waited)
    return CallRecord(
        linkedid=linkedid,
        status="ended" if ended else ("connected" if answered else "queued"),
        caller_e164="+8613800000001",
        started_at=began,
        enter_queue_at=began,
        answered_at=began + timedelta(seconds=wait) if answered else None,
        ended_at=now if ended else None,
        wait_seconds=wait if ended or answered else None,
        talk_seconds=10 if answered and ended else None,
        answered=answered,
        abandoned=ended and not answered,
    )


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    from hotline.app import create_app

    with TestClient(create_app()) as c:
        yield c


def test_the_snapshot(pg: tuple[Session, Org], client: TestClient) -> None:
    session, org = pg
    session.add_all(
        [
            AgentStatus(interface="Local/8001@a/n", state="on_call", queues="hotline"),
            AgentStatus(interface="Local/8002@a/n", state="idle", queues="hotline"),
            AgentStatus(interface="Local/8003@a/n", state="paused", paused=True, pause_reason="午休", queues="hotline"),
            live_call("w1", waited=40, answered=False, ended=False),
            live_call("w2", waited=12, answered=False, ended=False),
            live_call("t1", waited=90, answered=True, ended=False),
            live_call("a1", waited=60, answered=True, ended=True, wait=5),
            live_call("a2", waited=60, answered=True, ended=True, wait=20),
            live_call("x1", waited=60, answered=False, ended=True, wait=14),
        ]
    )
    session.commit()
    ticket_in(session, org, TicketStatus.closed, direct=True)
    late = ticket_in(session, org, TicketStatus.dispatched)
    supervisor = user(session, org, "supervisor")
    lifecycle.escalate_ticket(session, late, supervisor, level=3, cause="manual")
    session.commit()
    snap = snapshot(session, utcnow() + timedelta(hours=2))  # two hours on: the 签收 is overdue
    assert snap["queue"]["waiting"] == 2 and snap["queue"]["talking"] == 1
    assert snap["queue"]["longest_wait_seconds"] >= 40
    assert snap["agents"] == {"idle": 1, "paused": 1, "ringing": 0, "on_call": 1, "wrapup": 0, "logged_out": 0}
    today = snap["today"]
    assert (today["calls_offered"], today["calls_answered"], today["calls_abandoned"]) == (3, 2, 1)
    assert today["answer_rate_15s"] == round(1 / 3, 4)  # a1 (5 s); not a2 (20 s), not x1 (abandoned)
    assert (today["tickets"], today["direct"]) == (2, 1)
    assert snap["overdue"] == 1
    assert [e["count"] for e in snap["escalations"]] == [0, 0, 1, 0, 0]
    assert "13800000001" not in str(snap)  # nobody's number on the wall

    assert client.get("/api/v1/dashboards/wallboard", headers=login(client, "supervisor")).status_code == 200
    assert client.get("/api/v1/dashboards/wallboard", headers=login(client, "dc_head")).status_code == 403


def test_the_stream_sends_a_snapshot_when_a_call_arrives(pg: tuple[Session, Org]) -> None:
    session, _org = pg
    board = Broadcaster(interval=0.05)

    async def watch() -> list[dict[str, object]]:
        seen = []
        stream = board.changes()
        seen.append(await anext(stream))
        session.add(live_call("new", waited=1, answered=False, ended=False))
        session.commit()
        seen.append(await asyncio.wait_for(anext(stream), 10))
        await stream.aclose()
        return seen

    first, second = aio.run(watch())
    assert first["queue"]["waiting"] == 0 and second["queue"]["waiting"] == 1  # type: ignore[index]


def test_hot_topics_on_the_tickets(pg: tuple[Session, Org], client: TestClient) -> None:
    session, org = pg
    agent = user(session, org, "agent")
    run = hot_topic_appeals(session, org)
    assert run.appeals == 5 and run.clusters == 2
    tree = OrgTree.load(session)
    city = hot_topics_store.current(session, Scope(None, None))
    assert [t["size"] for t in city["items"]] == [3, 2] and city["items"][0]["citizens"] == 3
    assert city["items"][0]["place"].startswith("新苑")
    xc = hot_topics_store.current(session, Scope(tree.units[org.dept["xc"]], tree.subtree(org.dept["xc"])))
    assert [t["size"] for t in xc["items"]] == [2]  # a district sees the topics it handles
    head = client.get("/api/v1/dashboards/hot-topics", headers=login(client, "dc_head")).json()
    assert [t["size"] for t in head["items"]] == [3]
    assert agent  # the agent registered them
