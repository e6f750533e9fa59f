"""Channel intake throughput with idempotency keys, as a ratio to the phone agents' registration,
measured in the same run on PostgreSQL over HTTP.

    .venv/bin/python benchmarks/bench_channels.py [--n 200] [--concurrency 4] [--rounds 3]

The demo city (departments, 派单目录, gazetteer) in a dedicated database; the API served by uvicorn
in this process. Each round posts the same ``--n`` appeals (tests/dispatch/labelled_appeals.csv,
texts the project wrote) ``--concurrency`` at a time, first as an agent (``POST /api/v1/tickets``,
bearer token), then as a channel client (``POST /api/v1/intake/appeals``, ``X-API-Key``, a fresh
``client_ref`` each), then the same channel posts again (retries: the same ``client_ref``s, answered
from the claim). Both paths classify, write the ticket and leave its routing (proposals, repeats,
直派) to a worker after the commit (``dispatch.route_registered``; no worker runs here, the task waits
in the broker: ``HOTLINE_BENCH_REDIS``, default redis://127.0.0.1:6379/13). Rounds alternate which
path goes first, so drift of a shared machine falls on both. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import quantile  # noqa: E402

DB_NAME = "hotline_bench_channels"


def appeals(n: int) -> list[dict[str, str]]:
    with (REPO / "tests" / "dispatch" / "labelled_appeals.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        {"title": r["title"], "content": r["content"], "address": r["address"], "appeal_type": r["appeal_type"]}
        for r in (rows * (n // len(rows) + 1))[:n]
    ]


def run(post: Any, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(body: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        status = post(body)
        with lock:
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, bodies))
    wall = time.perf_counter() - t0
    return {
        "per_s": round(len(bodies) / wall, 1),
        "p50_ms": round(1000 * quantile(latencies, 0.5), 1),
        "p95_ms": round(1000 * quantile(latencies, 0.95), 1),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="appeals per path per round")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    import httpx
    from pgdb import drop_database, fresh_database

    url = fresh_database(DB_NAME)
    os.environ["HOTLINE_DATABASE_URL"] = url
    os.environ.setdefault("HOTLINE_DATA_DIR", "/tmp/hotline-bench-channels")
    os.environ.setdefault("HOTLINE_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("HOTLINE_BROKER_URL", os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/13"))

    from channels import clients
    from hotline import wiring
    from hotline.db import get_sessionmaker
    from hotline.demo.seed import seed_demo
    from hotline.enums import Channel
    from hotline.migrate import upgrade
    from tests.browser import serve_app

    upgrade(url)
    wiring.install()
    password = "bench-password-0123"
    with get_sessionmaker()() as session:
        seed_demo(session, password)
        _client, issued = clients.register_client(session, None, code="bench-app", name="压测App", channel=Channel.app)
        session.commit()
        assert issued is not None
        api_key = issued.raw

    texts = appeals(args.n)
    out: dict[str, Any] = {
        "n": args.n,
        "concurrency": args.concurrency,
        "rounds": [],
        "load_before": os.getloadavg(),
    }
    with serve_app() as base_url, httpx.Client(base_url=base_url, timeout=120) as http:
        token = http.post("/api/v1/auth/token", data={"username": "agent1", "password": password})
        token.raise_for_status()
        agent = {"Authorization": f"Bearer {token.json()['access_token']}"}
        key = {"X-API-Key": api_key}
        # Warm-up: the classifier model and the connection pool.
        for i, body in enumerate(texts[:10]):
            http.post("/api/v1/tickets", headers=agent, json={**body, "phone": f"1390000{i:04d}"})
            http.post("/api/v1/intake/appeals", headers=key, json={**body, "client_ref": f"warm-{i}"})

        def phone(body: dict[str, Any]) -> int:
            return http.post("/api/v1/tickets", headers=agent, json=body).status_code

        def channel(body: dict[str, Any]) -> int:
            return http.post("/api/v1/intake/appeals", headers=key, json=body).status_code

        for r in range(args.rounds):
            phone_bodies = [{**b, "phone": f"138{r:02d}{i:06d}"} for i, b in enumerate(texts)]
            channel_bodies = [
                {**b, "phone": f"137{r:02d}{i:06d}", "client_ref": f"r{r}-{i}"} for i, b in enumerate(texts)
            ]
            result: dict[str, Any] = {}
            order = ["phone", "channel"] if r % 2 == 0 else ["channel", "phone"]
            for name in order:
                if name == "phone":
                    result["phone"] = run(phone, phone_bodies, args.concurrency)
                else:
                    result["channel"] = run(channel, channel_bodies, args.concurrency)
            result["channel_retry"] = run(channel, channel_bodies, args.concurrency)
            result["ratio"] = round(result["channel"]["per_s"] / result["phone"]["per_s"], 3)
            out["rounds"].append(result)
            print(json.dumps({"round": r, **result}, ensure_ascii=False), file=sys.stderr)
    ratios = [r["ratio"] for r in out["rounds"]]
    out["summary"] = {
        "phone_per_s_median": statistics.median(r["phone"]["per_s"] for r in out["rounds"]),
        "channel_per_s_median": statistics.median(r["channel"]["per_s"] for r in out["rounds"]),
        "channel_retry_per_s_median": statistics.median(r["channel_retry"]["per_s"] for r in out["rounds"]),
        "ratio_channel_to_phone_median": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
    }
    out["load_after"] = os.getloadavg()
    with get_sessionmaker()() as session:
        from sqlalchemy import text

        out["tickets_by_channel"] = dict(
            session.execute(text("SELECT channel, count(*) FROM tickets GROUP BY 1")).all()
        )
        out["intakes"] = session.execute(text("SELECT count(*) FROM channel_intakes")).scalar()
    if not args.keep:
        drop_database(DB_NAME)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
