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

from hotline.celery_app import celery_app, enqueue_after_commit, reconfigure_celery
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


def start_worker(tmp_path: Path) -> subprocess.Popen[bytes]:
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
            QUEUE,
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
