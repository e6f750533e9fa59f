"""The load test with faults: the product must recover by itself and lose or double nothing.

Runs ``benchmarks/loadtest.py``'s load on a PostgreSQL cluster and a Redis of its own (``initdb``
in a temporary directory, on free ports: the faults never touch anyone else's services), and
during the run, spread over ``--duration``:

1. restarts Redis (shut down without saving, started again 2 s later: the broker's queue is lost);
2. restarts PostgreSQL (``pg_ctl restart -m fast``: every connection cut);
3. SIGKILLs the Celery worker (the main process; the supervisor starts it again);
4. SIGKILLs one of the API's worker processes (uvicorn starts another);
5. drops the AMI connection (the bridge reconnects and resyncs; calls meanwhile come from the CDR).

At the end loadtest's check must pass: every acknowledged registration exactly once and routed,
every reminder and escalation due recorded once and sent, every call one record. Prints one JSON
object and exits 1 when the check fails.

    .venv/bin/python benchmarks/faults.py [--duration 60] [loadtest options]
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import children  # noqa: E402
from benchmarks.loadtest import Run, parser  # noqa: E402
from tests.browser import free_port  # noqa: E402


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them out of PATH)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    for d in reversed(versions):
        if (d / name).exists():
            return str(d / name)
    raise RuntimeError(f"{name} not found (PostgreSQL server binaries)")


class LocalPostgres:
    """A throwaway PostgreSQL cluster (trust auth, loopback) that may be restarted at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0  # the server refuses to run as root

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def _ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", *args)

    def start(self) -> LocalPostgres:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._ctl("start")
        return self

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


class LocalRedis:
    """A throwaway Redis (no persistence) that may be restarted at will."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LocalRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        import redis

        for _ in range(100):
            try:
                if redis.Redis(port=self.port).ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self, down: float = 2.0) -> None:
        self.stop()
        time.sleep(down)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def kill_worker(run: Run) -> None:
    assert run.stack is not None
    proc = run.stack.service("worker").proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)


def kill_api_process(run: Run) -> None:
    assert run.stack is not None
    proc = run.stack.service("api").proc
    assert proc is not None
    # uvicorn's worker processes are the supervisor's spawned children (not multiprocessing's
    # resource tracker, also a child)
    workers = [pid for pid in children(proc.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert workers, "no API worker process found"
    os.kill(workers[-1], signal.SIGKILL)


def drop_ami(run: Run) -> None:
    assert run.calls is not None
    run.calls.drop()


def run_with_faults(argv: list[str] | None = None) -> dict[str, Any]:
    ap = parser()
    ap.set_defaults(duration=60.0)
    args = ap.parse_args(argv)
    pg = LocalPostgres().start()
    rd = LocalRedis().start()
    try:
        args.pg_admin = pg.admin_dsn
        args.redis = rd.url
        d = args.duration
        faults = [
            (d * 0.12, "redis_restart", lambda _run: rd.restart()),
            (d * 0.28, "postgresql_restart", lambda _run: pg.restart()),
            (d * 0.44, "celery_worker_sigkill", kill_worker),
            (d * 0.60, "api_worker_sigkill", kill_api_process),
            (d * 0.76, "ami_connection_drop", drop_ami),
        ]
        return Run(args).execute(faults)
    finally:
        rd.stop()
        pg.stop()


def main() -> None:
    # a SIGTERM (timeout, Ctrl-C's cousin) unwinds like an exception: the stack is stopped, the database dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run_with_faults()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    sys.exit(0 if result["check"]["ok"] else 1)


if __name__ == "__main__":
    main()
