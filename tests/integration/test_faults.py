"""The product under load survives its faults by itself (benchmarks/faults.py, a one-minute run).

On a PostgreSQL cluster and a Redis of the test's own (initdb in a temporary directory, free
ports: the shared services are never touched), with the production processes (two API worker
processes, a Celery worker, beat, the AMI bridge) and the replaying AMI server at a city's call
rate: Redis restarted, PostgreSQL restarted, the Celery worker and an API worker SIGKILLed, the AMI
connection dropped. Afterwards every acknowledged registration exists exactly once and was routed,
every reminder and escalation due was recorded once and its notices sent, every call has one
record (an abandoned one its one 漏接回拨 task).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.mark.timeout(1200)
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
@pytest.mark.skipif(
    shutil.which("initdb") is None and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
    reason="needs the PostgreSQL server programs (initdb, pg_ctl) for a cluster of its own",
)
def test_faults_under_load_lose_and_double_nothing() -> None:
    # A process of its own with none of the run's HOTLINE_* settings (earlier tests leave queue
    # names, data dirs and the like in this process's environment, and the stack it starts would
    # inherit them) and none of its event loops (the run's Chromium keeps one in this thread).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") or k.startswith("HOTLINE_TEST_")}
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "faults.py"), "--duration", "60", "--agents", "4", "--settle", "10"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
    ).stdout
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")  # faults.py prints its JSON last
    result = json.loads("\n".join(lines[start:]))
    done = [f["fault"] for f in result["faults"]]
    assert done == [
        "redis_restart",
        "postgresql_restart",
        "celery_worker_sigkill",
        "api_worker_sigkill",
        "ami_connection_drop",
    ], result
    assert result["restarts"]["worker"] >= 1, result  # started again by the supervisor
    check = result["check"]
    assert check["registrations"]["acknowledged"] > 0, result
    assert check["calls"]["played"] > 0, result
    assert check["escalation"]["escalations"] > 0, result  # the drill limits made some due
    assert check["ok"], result
    ops = result["operations"]
    assert ops["register"]["ok"] > 0 and ops["sign"]["ok"] + ops["reply"]["ok"] > 0, result
