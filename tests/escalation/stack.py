"""Real Celery worker and beat processes on Redis (a database and queue of the tests' own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.conftest import REPO

REDIS_URL = os.environ.get("HOTLINE_TEST_ESCALATION_REDIS", "redis://127.0.0.1:6379/12")
QUEUE = "hotline-escalation-test"


class Stack:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = dict(os.environ)
        self.env.update(
            HOTLINE_BROKER_URL=REDIS_URL,
            HOTLINE_RESULT_BACKEND=REDIS_URL,
            HOTLINE_DRILL="1",
            ESCALATION_TEST_QUEUE=QUEUE,
            PYTHONPATH=str(REPO),
            **env,
        )
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        redis.Redis.from_url(REDIS_URL).flushdb()

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "escalation" / "run_celery.py"), *args],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
        )
        self.procs[name] = proc
        return proc

    def worker(
        self, name: str = "worker", concurrency: int = 1, queues: str = QUEUE, **env: str
    ) -> subprocess.Popen[bytes]:
        return self._start(
            name,
            [
                "worker",
                "-Q",
                queues,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}@%h",
            ],
            **env,
        )

    def beat(self) -> subprocess.Popen[bytes]:
        return self._start("beat", ["beat", "--loglevel", "INFO", "--schedule", str(self.tmp_path / "beat-schedule")])

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def log(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in ("worker", "worker2", "beat"))

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
        redis.Redis.from_url(REDIS_URL).flushdb()


def wait_for(cond: Callable[[], bool], timeout: float, what: str, stack: Stack | None = None) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}\n{stack.logs() if stack else ''}")
        time.sleep(0.2)
