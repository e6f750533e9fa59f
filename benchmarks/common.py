"""What the benchmark scripts share: the places of their registrations,
waiting for a server to answer, the processes below a process, the settings and seated agents of
a screen-pop run, the product's API and bridge each in a process of its own (``multiprocessing``
targets), a percentile. Imported as ``benchmarks.common`` (the scripts put the repository on
``sys.path``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hotline.models import User


# Where the load's registrations are (the demo city's places; "" none): each a random one of these.
PLACES = [
    "东城区和平街道新苑小区",
    "东城区解放街道解放路",
    "西城区建康街道悦来小区",
    "西城区朝阳街道海燕社区",
    "高新区科技城街道",
    "高新区工业园街道明湖路",
    "西城区西山镇大王村",
    "",
]


def wait_http(url: str, timeout: float = 240) -> None:
    """Until ``url`` answers below 500; RuntimeError after ``timeout`` seconds."""
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _children_by_parent() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (uvicorn's worker processes, Celery's pool)."""
    return sorted(_children_by_parent().get(pid, []))


def tree_pids(root: int) -> list[int]:
    """``root`` and its descendants."""
    by_parent = _children_by_parent()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(by_parent.get(pid, []))
    return out


def pin(cpu: int | None) -> None:
    """This process on one CPU (``cpu`` modulo the machine's; None: where the system likes)."""
    if cpu is not None:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def api_proc(port: int, env: dict[str, str], cpu: int | None = None) -> None:
    """The product's API (uvicorn, one process) on loopback ``port`` with ``env``'s settings."""
    os.environ.update(env)
    pin(cpu)
    import uvicorn

    from hotline.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


def bridge_proc(ami_port: int, env: dict[str, str], cpu: int | None = None) -> None:
    """The AMI bridge to the AMI server on loopback ``ami_port``, publishing screen pops through
    ``env``'s HOTLINE_REDIS_URL."""
    os.environ.update(env)
    pin(cpu)
    from hotline.db import get_sessionmaker
    from telephony import screenpop
    from telephony.bridge import Bridge, BridgeConfig
    from telephony.client import AMITarget

    bridge = Bridge(
        BridgeConfig(AMITarget("127.0.0.1", ami_port, "hotline", "secret")),
        get_sessionmaker(),
        publish=screenpop.make_publisher(env["HOTLINE_REDIS_URL"]),
        pop_workers=8,
    )
    asyncio.run(bridge.run())


def migrated(database_url: str, data_dir: str, redis_url: str) -> dict[str, str]:
    """This process's settings on ``database_url`` (migrated) with screen pops through
    ``redis_url``; the settings, for the API's and the bridge's processes."""
    from hotline.db import reset_engine_cache
    from hotline.migrate import upgrade
    from hotline.settings import reset_settings_cache

    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_DATA_DIR": data_dir,
        "HOTLINE_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
        "HOTLINE_REDIS_URL": redis_url,
    }
    os.environ.update(env)
    reset_settings_cache()
    reset_engine_cache()
    upgrade(database_url)
    return env


def seat_agents(session: Session, count: int) -> list[User]:
    """``count`` agents (bench0, bench1 …), agent i at seat 10000+i: the extension the AMI server
    rings when a recorded call is played with ``agents=[str(10000 + i)]``. Committed."""
    from hotline.models import User

    users = [
        User(
            username=f"bench{i}",
            display_name=f"坐席{i}",
            password_hash="x",
            role="agent",
            extension=f"Local/{10000 + i}@hotline-agents/n",
        )
        for i in range(count)
    ]
    session.add_all(users)
    session.commit()
    return users


def quantile(values: list[float], q: float) -> float:
    """The value at rank ``int(n * q)`` of the sorted values (the largest at most): the p50, p90,
    p95 and p99 the benchmarks report."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
