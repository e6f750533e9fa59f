"""A forked process opens connections of its own: hotline.db drops the ones its parent pooled
(Celery's prefork pool and the benchmarks' processes fork after the parent used the database)."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from sqlalchemy import text

from hotline.db import get_engine

BACKEND_PID = text("SELECT pg_backend_pid()")


def _child_backend_pid(out: Any) -> None:
    with get_engine().connect() as conn:
        out.put(conn.execute(BACKEND_PID).scalar_one())


def test_a_forked_child_does_not_use_its_parents_pooled_connection(pg: Any) -> None:
    with get_engine().connect() as conn:  # back into the parent's pool when the block ends
        parent_pid = conn.execute(BACKEND_PID).scalar_one()
    fork = mp.get_context("fork")
    out = fork.Queue()
    child = fork.Process(target=_child_backend_pid, args=(out,))
    child.start()
    child_pid = out.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0
    assert child_pid != parent_pid
    # The child left the parent's connection open and usable.
    with get_engine().connect() as conn:
        assert conn.execute(BACKEND_PID).scalar_one() == parent_pid
