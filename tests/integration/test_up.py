"""The first README command as a newcomer uses it: `hotline up` on an empty data directory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.live import work_to_close


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str], int, list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_DATA_DIR=str(tmp_path / "var"), HOTLINE_DEMO_PASSWORD="demo-password-1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotline.cli", "up", "--port", "18080"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    base = None
    worker_pid = 0
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"serving on (http://\S+)", line)
        if match:
            base = match.group(1)
        started = re.search(r"worker \+ beat started \(pid (\d+)", line)
        if started:
            worker_pid = int(started.group(1))
        if "press Ctrl+C" in line:
            break
    assert base, "".join(lines)
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    assert worker_pid, "".join(lines)
    yield base, tmp_path / "var", proc, worker_pid, lines
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_newcomer_runs_the_product_and_works_a_ticket(
    running: tuple[str, Path, subprocess.Popen[str], int, list[str]],
) -> None:
    base, data_dir, proc, worker_pid, banner = running
    assert (data_dir / "hotline.sqlite3").exists()
    health = httpx.get(f"{base}/healthz").json()
    assert health == {"ok": True, "database": {"ok": True}, "broker": {"ok": True}}
    # Every page the banner lists exists; / opens the console.
    pages = [m.group(0) for line in banner for m in [re.search(rf"{re.escape(base)}/\S*", line)] if m]
    assert len(pages) >= 7, banner
    for page in pages:
        assert httpx.get(page, follow_redirects=True).status_code == 200, page
    root = httpx.get(f"{base}/")
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    # The worker places survey calls on the embedded AMI server: it was given its address.
    environ = Path(f"/proc/{worker_pid}/environ").read_bytes().split(b"\0")
    assert any(item.startswith(b"HOTLINE_AMI_HOST=") for item in environ)
    # Every department of the demo has a login that works.
    logins = json.loads((data_dir / "demo_logins.json").read_text())["logins"]
    department_logins = {x["username"] for x in logins if x["role"] in ("dept_handler", "dept_head")}
    assert len(department_logins) >= 52 and "dc_jf_hx" in department_logins

    def login(name: str) -> dict[str, str]:
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": name, "password": "demo-password-1"})
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    agent, dispatcher, zjj, cb = (login(n) for n in ("agent1", "dispatcher", "zjj", "callback"))
    community = login("dc_jf_hx")
    assert httpx.get(f"{base}/api/v1/tickets", headers=community).status_code == 200
    outbox = httpx.get(f"{base}/api/v1/escalation/sms-outbox", headers=login("supervisor"))
    assert outbox.status_code == 200 and isinstance(outbox.json(), list)
    seeded = httpx.get(f"{base}/api/v1/tickets", headers=agent).json()
    assert seeded["total"] >= 10
    depts = {d["code"]: d["id"] for d in httpx.get(f"{base}/api/v1/departments", headers=agent).json()}
    assert len(depts) >= 40
    t = httpx.post(
        f"{base}/api/v1/tickets",
        headers=agent,
        json={
            "title": "小区电梯经常停运",
            "content": "悦来小区2栋电梯一周停运三次，老人上下楼困难。",
            "appeal_type": "complaint",
            "phone": "13812345678",
            "address": "西城区建康街道悦来小区2栋",
        },
    ).json()
    work_to_close(
        base,
        t,
        dispatcher=dispatcher,
        handler=zjj,
        callback_agent=cb,
        department_id=depts["zjj"],
        handling="已督促物业维修电梯",
    )
    # The embedded worker and beat are real processes on the embedded broker.
    log = data_dir / "worker.log"
    for _ in range(100):
        if log.exists() and "ready" in log.read_text():
            break
        time.sleep(0.3)
    assert "ready" in log.read_text() and "beat: Starting" in log.read_text()

    # Stopped the way docker and systemd stop it (SIGTERM), it takes its worker with it.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for _ in range(100):
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the worker (pid {worker_pid}) outlived `hotline up`")
