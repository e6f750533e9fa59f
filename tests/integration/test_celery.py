"""Celery on Redis with a real worker process: tasks leave only after their transaction commits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.celery_app import ROUTING_QUEUE, celery_app, enqueue_after_commit, reconfigure_celery
from hotline.db import get_sessionmaker, utcnow
from hotline.models import LoginFailure
from hotline.tasks import purge_login_failures
from tests.conftest import REDIS_URL, Org

QUEUE = "hotline-test"


@pytest.fixture
def broker(pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """Redis as broker and result backend, on a database of the tests' own, emptied."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    monkeypatch.setenv("HOTLINE_BROKER_URL", REDIS_URL)
    monkeypatch.setenv("HOTLINE_RESULT_BACKEND", REDIS_URL)
    from hotline.settings import reset_settings_cache

    reset_settings_cache()
    reconfigure_celery()
    celery_app.conf.task_default_queue = QUEUE
    yield client
    client.flushdb()


def start_worker(tmp_path: Path, queues: str = QUEUE) -> subprocess.Popen[bytes]:
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    env = dict(os.environ)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hotline.celery_app:celery_app",
            "worker",
            "--concurrency",
            "1",
            "-Q",
            queues,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_tasks_are_sent_only_after_commit(broker: redis.Redis) -> None:
    session = get_sessionmaker()()
    enqueue_after_commit(session, purge_login_failures)
    assert broker.llen(QUEUE) == 0  # nothing leaves before the commit
    session.rollback()
    assert broker.llen(QUEUE) == 0  # and nothing at all after a rollback
    enqueue_after_commit(session, purge_login_failures)
    session.commit()
    assert broker.llen(QUEUE) == 1
    session.close()


def test_a_real_worker_runs_the_task_against_postgresql(
    broker: redis.Redis, pg: tuple[Session, Org], tmp_path: Path
) -> None:
    session, _org = pg
    old = utcnow() - timedelta(days=1)
    session.add_all(
        [LoginFailure(key="user:x", at=old), LoginFailure(key="user:x", at=old), LoginFailure(key="user:y")]
    )
    enqueue_after_commit(session, purge_login_failures)
    session.commit()
    worker = start_worker(tmp_path)
    try:
        deadline = time.monotonic() + 60
        remaining = 3
        while time.monotonic() < deadline:
            session.expire_all()
            remaining = session.scalar(select(func.count()).select_from(LoginFailure)) or 0
            if remaining == 1:
                break
            time.sleep(0.3)
        assert remaining == 1, (tmp_path / "worker.log").read_text()[-2000:]
        result = purge_login_failures.delay()
        assert result.get(timeout=30) == 0
    finally:
        stop(worker)


def test_a_real_worker_routes_each_registration_once(
    broker: redis.Redis, pg: tuple[Session, Org], tmp_path: Path
) -> None:
    """Registration commits a pending row and no routing; the worker's round (beat sends it every
    second) proposes, checks 并单 and dispatches; two rounds at once route the ticket once."""
    from fastapi.testclient import TestClient

    from dispatch.config import set_setting
    from dispatch.models import DispatchDecision, DispatchPending
    from dispatch.tasks import route_pending
    from hotline.app import create_app
    from hotline.models import Ticket
    from tests.conftest import login
    from tests.dispatch.conftest import load_city

    session, org = pg
    load_city(session, org)
    set_setting(session, "agent_hold_seconds", 0)
    session.commit()
    with TestClient(create_app()) as client:
        agent = login(client, "agent")
        body = {
            "appeal_type": "complaint",
            "channel": "phone",
            "phone": "13800000001",
            "title": "井盖丢了",
            "content": "解放路人行道上的井盖丢了，晚上很危险。",
            "address": "东城区解放街道解放路",
        }
        created = client.post("/api/v1/tickets", headers=agent, json=body)
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
    assert created.json()["status"] == "registered"  # the request did not route
    assert session.get(DispatchPending, ticket_id) is not None
    rounds = [route_pending.apply_async(queue=ROUTING_QUEUE) for _ in range(2)]  # two beat ticks
    worker = start_worker(tmp_path, f"{QUEUE},{ROUTING_QUEUE}")
    try:
        outcomes = [r.get(timeout=90) for r in rounds]
        session.expire_all()
        status = session.scalar(select(Ticket.status).where(Ticket.id == ticket_id))
        assert status == "dispatched", (tmp_path / "worker.log").read_text()[-3000:]
        assert sorted(o.get("auto_dispatched", 0) for o in outcomes) == [0, 1]
        initial = session.scalars(
            select(DispatchDecision).where(DispatchDecision.ticket_id == ticket_id, DispatchDecision.kind == "initial")
        ).all()
        assert [d.outcome for d in initial] == ["auto_dispatched"]
        assert session.get(DispatchPending, ticket_id) is None
        # the worker's batch also gave the ticket the model's proposals
        assert (session.get(Ticket, ticket_id).classification or {}).get("model_version")
    finally:
        stop(worker)
