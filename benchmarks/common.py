"""What the benchmark scripts share: a free loopback port, waiting for a server to answer, the
processes below a process. Imported as ``benchmarks.common`` (the scripts put the repository on
``sys.path``)."""

from __future__ import annotations

import socket
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
