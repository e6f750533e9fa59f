"""Registration throughput on the production stack, beside raw PostgreSQL inserts in the same run.

Starts its own stack on a fresh PostgreSQL database: ``hotline api --workers W`` (uvicorn), one
Celery worker on Redis, and drives ``POST /api/v1/tickets`` with ``wrk`` (Debian's package): C
connections, each an agent of its own with a bearer token, posting the project's own corpus of
appeals (classifier/corpus/default_corpus.csv) with random callers and addresses. Then ``pgbench``
inserts the same ticket row into the same table with the same indexes, as the machine's ceiling.
After the run it checks that every acknowledged registration exists once and was routed.

    .venv/bin/python benchmarks/bench_registration.py [--tickets 1000000] [--workers 2] \\
        [--connections 32] [--duration 60] [--redis redis://127.0.0.1:6379/9]

Prints one JSON object. ``--tickets`` first fills the table with that many tickets
(benchmarks/bulkdata.py when present). Loopback only; everything it starts it stops.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import PLACES, tree_pids, wait_http  # noqa: E402
from benchmarks.pgdb import ADMIN_DSN, drop_database, fresh_database  # noqa: E402
from tests.browser import free_port  # noqa: E402

PASSWORD = "bench-password-123"

WRK_SCRIPT = r"""
local bodies, tokens = {}, {}
local function lines(path) local t = {} for l in io.lines(path) do t[#t + 1] = l end return t end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args)
  bodies = lines(args[1]); tokens = lines(args[2]); n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  n = n + 1
  local token = tokens[((id * 7919 + n) % #tokens) + 1]
  local body = bodies[((id * 104729 + n) % #bodies) + 1]
  return wrk.format(nil, "/api/v1/tickets",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local out = {requests = summary.requests, errors_status = summary.errors.status,
    errors_connect = summary.errors.connect, errors_read = summary.errors.read,
    errors_write = summary.errors.write, errors_timeout = summary.errors.timeout,
    duration_us = summary.duration, p50_ms = latency:percentile(50) / 1000,
    p90_ms = latency:percentile(90) / 1000, p99_ms = latency:percentile(99) / 1000,
    max_ms = latency.max / 1000}
  local parts = {}
  for k, v in pairs(out) do parts[#parts + 1] = string.format('"%s": %s', k, v) end
  io.write("WRKJSON {" .. table.concat(parts, ", ") .. "}\n")
end
"""

PGBENCH_SCRIPT = """
\\set n random(1, 1000000000)
INSERT INTO tickets (number, channel, status, title, content, address, appeal_type, category, urgency,
  confidential, enterprise, extension_count, repeat_count, reopen_count, return_count, escalation_level,
  created_at, updated_at, version, search_document)
VALUES ('R' || :n || '-' || txid_current(), 'phone', 'registered', '小区门口路灯不亮',
  '和平路88号新苑小区门口的路灯坏了一周了，晚上很黑，老人出门不方便。', '东城区和平街道新苑小区', 'complaint',
  '城市管理', 'normal', false, false, 0, 0, 0, 0, 0, now(), now(), 1,
  '''小区'':1A ''门口'':2A ''路灯'':3A');
"""


def corpus_bodies(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    with (REPO / "classifier" / "corpus" / "default_corpus.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["title"].strip() and r["text"].strip()]
    bodies = []
    for i in range(count):
        row = rows[i % len(rows)]
        phone = f"139{rng.randrange(10**8):08d}"
        body = {
            "channel": "phone",
            "phone": phone,
            "contact_name": "市民",
            # unique text: the model runs for every registration (no proposal cached from a form)
            "title": f"{row['title'][:180]}（{i}）",
            "content": row["text"][:2000],
            "address": rng.choice(PLACES) or None,
            "appeal_type": "complaint",
        }
        bodies.append(json.dumps(body, ensure_ascii=False))
    return bodies


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` (what they have used so far)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def backend_pids(dsn: str, database: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(r[0]) for r in rows]


def prepare(db_url: str, agents: int, tickets: int) -> None:
    from hotline.auth import hash_password
    from hotline.db import get_sessionmaker
    from hotline.demo.seed import seed_demo
    from hotline.migrate import upgrade
    from hotline.models import Department, User
    from hotline.wiring import install, seed_demo_extras

    upgrade(db_url)
    install()
    with get_sessionmaker()() as s:
        seed_demo(s, password=PASSWORD)
        seed_demo_extras(s)
        center = s.query(Department).filter_by(code="hotline").one()
        hashed = hash_password(PASSWORD)
        for i in range(agents):
            s.add(
                User(
                    username=f"bench{i:03d}",
                    display_name=f"压测话务员{i}",
                    password_hash=hashed,
                    role="agent",
                    department_id=center.id,
                )
            )
        s.commit()
    if tickets:
        bulk = REPO / "benchmarks" / "bulkdata.py"
        if not bulk.exists():
            raise SystemExit("--tickets needs benchmarks/bulkdata.py")
        subprocess.run([sys.executable, str(bulk), "--database-url", db_url, "--tickets", str(tickets)], check=True)


def login_all(base: str, agents: int) -> list[str]:
    import httpx

    tokens = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for i in range(agents):
            r = c.post("/api/v1/auth/token", data={"username": f"bench{i:03d}", "password": PASSWORD})
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
    return tokens


def run_wrk(base: str, bodies: Path, tokens: Path, connections: int, duration: int, threads: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
        script = f.name
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "30s",
            "-s",
            script,
            base,
            "--",
            str(bodies),
            str(tokens),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"WRKJSON (\{.*\})", out)
    assert match, out
    result = json.loads(match.group(1))
    result["rate_per_s"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    return result


def run_pgbench(dsn_name: str, clients: int, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(PGBENCH_SCRIPT)
        script = f.name
    out = subprocess.run(
        [
            "pgbench",
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-f",
            script,
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            dsn_name,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tickets", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--celery-concurrency", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--raw-seconds", type=int, default=20)
    ap.add_argument("--redis", default=os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/9"))
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    ap.add_argument("--profile", help="py-spy the API processes during the run into this file (raw format)")
    args = ap.parse_args()

    name = f"bench_reg_{uuid.uuid4().hex[:8]}"
    db_url = fresh_database(name)
    base_dsn = ADMIN_DSN.rsplit("/", 1)[0]
    data_dir = Path(tempfile.mkdtemp(prefix="bench-reg-"))
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": db_url,
        "HOTLINE_DATA_DIR": str(data_dir),
        "HOTLINE_BROKER_URL": args.redis,
        "HOTLINE_RESULT_BACKEND": args.redis,
        "HOTLINE_REDIS_URL": args.redis,
        "HOTLINE_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("HOTLINE_")})
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    procs: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {
        "tickets_before": args.tickets,
        "api_workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
    }
    try:
        prepare(db_url, args.connections, args.tickets)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        hotline = str(Path(sys.executable).with_name("hotline"))
        procs.append(subprocess.Popen([hotline, "api", "--port", str(port), "--workers", str(args.workers)], env=env))
        procs.append(subprocess.Popen([hotline, "worker", "--concurrency", str(args.celery_concurrency)], env=env))
        procs.append(subprocess.Popen([hotline, "beat"], env=env))  # sends the routing round every second
        wait_http(f"{base}/healthz")
        tokens = login_all(base, args.connections)
        work = Path(tempfile.mkdtemp(prefix="bench-reg-wrk-"))
        (work / "bodies.txt").write_text("\n".join(corpus_bodies(20000)) + "\n", encoding="utf-8")
        (work / "tokens.txt").write_text("\n".join(tokens) + "\n")
        with psycopg.connect(f"{base_dsn}/{name}") as conn:
            before = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]  # type: ignore[index]
        load_before = os.getloadavg()[0]
        api_pids, worker_pids = tree_pids(procs[0].pid), tree_pids(procs[1].pid)
        # warm-up: the classifier loads, the pools fill
        run_wrk(base, work / "bodies.txt", work / "tokens.txt", args.connections, 5, args.wrk_threads)
        with psycopg.connect(f"{base_dsn}/{name}") as conn:
            warmed = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]  # type: ignore[index]
        pg_pids = backend_pids(f"{base_dsn}/{name}", name)
        cpu0 = (cpu_seconds(api_pids), cpu_seconds(worker_pids), cpu_seconds(pg_pids))
        spy = None
        if args.profile:
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--subprocesses",
                    "-p",
                    str(procs[0].pid),
                    "-d",
                    str(args.duration),
                    "-r",
                    "49",
                    "-f",
                    "raw",
                    "-o",
                    args.profile,
                    "--nonblocking",
                ],
            )
        wrk = run_wrk(base, work / "bodies.txt", work / "tokens.txt", args.connections, args.duration, args.wrk_threads)
        cpu1 = cpu_seconds(api_pids)
        if spy is not None:
            spy.wait(60)
        result["registration"] = wrk
        result["load_average_before"] = round(load_before, 2)
        # every acknowledged registration exists once, and is routed within seconds
        deadline = time.monotonic() + 120
        with psycopg.connect(f"{base_dsn}/{name}") as conn:
            made = conn.execute("SELECT count(*) FROM tickets").fetchone()[0] - warmed  # type: ignore[index]
            dupes = conn.execute(
                "SELECT count(*) FROM (SELECT number FROM tickets GROUP BY number HAVING count(*) > 1) d"
            ).fetchone()[0]  # type: ignore[index]
            while time.monotonic() < deadline:
                unrouted = conn.execute(
                    "SELECT count(*) FROM tickets t WHERE t.id > %s AND NOT EXISTS "
                    "(SELECT 1 FROM dispatch_decisions d WHERE d.ticket_id = t.id)",
                    (before,),
                ).fetchone()[0]  # type: ignore[index]
                if unrouted == 0:
                    break
                time.sleep(1)
        pg_pids = sorted(set(pg_pids) | set(backend_pids(f"{base_dsn}/{name}", name)))
        cpu2 = (cpu_seconds(worker_pids), cpu_seconds(pg_pids))
        done = max(1, wrk["requests"])
        # CPU per registration, what the two cores pay for each: the API during the run, the worker's
        # routing and PostgreSQL until every ticket was routed (backends that closed meanwhile are lost)
        result["cpu_ms_per_registration"] = {
            "api": round((cpu1 - cpu0[0]) * 1000 / done, 2),
            "worker": round((cpu2[0] - cpu0[1]) * 1000 / done, 2),
            "postgresql": round((cpu2[1] - cpu0[2]) * 1000 / done, 2),
        }
        result["check"] = {
            "acknowledged": wrk["requests"] - wrk["errors_status"],
            "stored": made,
            "duplicate_numbers": dupes,
            "unrouted_after_wait": unrouted,
        }
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        procs.clear()
        raw = run_pgbench(name, min(args.connections, 16), args.raw_seconds)
        result["raw_insert_per_s"] = round(raw, 1)
        result["ratio_to_raw"] = round(wrk["rate_per_s"] / raw, 4) if raw else None
        result["load_average_after"] = round(os.getloadavg()[0], 2)
    finally:
        for p in procs:
            p.kill()
        if not args.keep:
            drop_database(name)
        else:
            result["database"] = name
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
