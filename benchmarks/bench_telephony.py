"""Telephony benchmark: AMI events/s through the bridge on one core, and screen-pop latency.

    .venv/bin/python benchmarks/bench_telephony.py [--calls 2000] [--pop-calls 500]

1. Throughput: a separate process blasts a pre-rendered AMI stream (the recorded calls
   01/02/03 renumbered, interleaved so ~hundreds are in progress, every event class incl.
   Newexten/VarSet as with ``read = all``) at a bridge pinned to one CPU core, with a real
   SQLite database behind it. Reports events/s handled by the bridge's loop and end to end
   (all call records written).
2. Screen pop: the AMI server (real time) starts ``--pop-calls`` calls within a few seconds,
   each ringing its own agent, so that many calls are in progress; the bridge (own process)
   publishes pops through Redis (if reachable, else in-process) to a uvicorn API process;
   one SSE client per agent measures AMI event time → SSE receipt. Reports p50/p99.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import api_proc, bridge_proc, migrated, pin, quantile, seat_agents, wait_http  # noqa: E402
from tests.browser import free_port  # noqa: E402


# -- 1. throughput ---------------------------------------------------------------------------
def render_stream(calls: int, spacing: float = 0.05) -> tuple[bytes, int, int]:
    from telephony import scenarios
    from telephony.protocol import encode

    ids = scenarios.IdAllocator()
    events: list[tuple[float, dict[str, str]]] = []
    base = time.time()
    for i in range(calls):
        scen = scenarios.load(scenarios.INBOUND[i % 3])
        start = i * spacing
        agents = [str(10000 + (2 * i + k) % 1000) for k in range(scen.placeholders.get("a", 0))]
        for e in scen.render(ids, numbers=[f"1380{i:07d}"], agents=agents):
            h = dict(e.headers)
            items = []
            for k, v in h.items():
                items.append((k, v))
                if k == "Privilege":
                    items.append(("Timestamp", f"{base + start + e.offset:.6f}"))
            events.append((start + e.offset, dict(items)))
    events.sort(key=lambda x: x[0])
    data = b"".join(encode(h) for _, h in events)
    return data, len(events), calls


def blaster(port: int, data: bytes, ready: Any) -> None:
    pin(1)
    from telephony.protocol import Decoder, encode

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        dec = Decoder(expect_banner=False)
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            for m in dec.feed(chunk):
                aid = m.get("ActionID", "")
                act = m.get("Action", "").lower()
                if act == "login":
                    writer.write(encode({"Response": "Success", "ActionID": aid, "Message": "Authentication accepted"}))
                    # as a booted Asterisk does: the bridge resynchronises on it (without, it waits 60 s)
                    writer.write(encode({"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}))
                elif act == "ping":
                    writer.write(
                        encode(
                            {"Response": "Success", "ActionID": aid, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"}
                        )
                    )
                elif act in ("coreshowchannels", "queuestatus"):
                    writer.write(encode({"Response": "Success", "ActionID": aid, "EventList": "start"}))
                    name = "CoreShowChannelsComplete" if act == "coreshowchannels" else "QueueStatusComplete"
                    writer.write(encode({"Event": name, "ActionID": aid, "EventList": "Complete", "ListItems": "0"}))
                    if act == "queuestatus":
                        await writer.drain()
                        for i in range(0, len(data), 262144):
                            writer.write(data[i : i + 262144])
                            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def bench_throughput(calls: int) -> dict[str, Any]:
    from sqlalchemy import func, select
    from sqlalchemy.orm import sessionmaker

    from hotline.db import make_engine
    from hotline.migrate import upgrade
    from telephony.bridge import Bridge, BridgeConfig
    from telephony.client import AMITarget
    from telephony.models import CallRecord

    data, n_events, n_calls = render_stream(calls)
    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.sqlite3"
    upgrade(url)
    sm = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    port = free_port()
    ready = mp.Event()
    proc = mp.Process(target=blaster, args=(port, data, ready), daemon=True)
    proc.start()
    ready.wait(30)
    pin(0)
    result: dict[str, Any] = {}

    async def run() -> None:
        # events=None: take every class, like read = all (the worst case).
        bridge = Bridge(
            BridgeConfig(AMITarget("127.0.0.1", port, "bench", "x"), events=None, ping_interval=60),
            sm,
            publish=lambda m: None,
        )
        task = asyncio.create_task(bridge.run())
        while bridge.stats.resyncs < 1:
            await asyncio.sleep(0.001)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        while bridge.stats.events < n_events:
            await asyncio.sleep(0.002)
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        await bridge.drain()
        t2 = time.perf_counter()
        result.update(
            events=bridge.stats.events,
            loop_seconds=t1 - t0,
            total_seconds=t2 - t0,
            cpu_seconds=cpu1 - cpu0,
            flushes=bridge.stats.flushes,
        )
        bridge.stop()
        await task

    asyncio.run(run())
    proc.terminate()
    with sm() as s:
        written = s.scalar(select(func.count()).select_from(CallRecord))
        ended = s.scalar(select(func.count()).select_from(CallRecord).where(CallRecord.status == "ended"))
    return {
        "calls": n_calls,
        "events": n_events,
        "call_records_written": written,
        "call_records_ended": ended,
        "events_per_second_loop": round(n_events / result["loop_seconds"]),
        "events_per_second_end_to_end": round(n_events / result["total_seconds"]),
        "seconds": round(result["total_seconds"], 3),
        "db_flushes": result["flushes"],
    }


# -- 2. screen pop latency -------------------------------------------------------------------
def ami_server_proc(port: int, ready: Any, go: Any, calls: int, per_second: float) -> None:
    pin(1)
    from telephony.amiserver import AMIServer

    async def main() -> None:
        server = AMIServer("127.0.0.1", port, time_scale=1.0)
        await server.start()
        ready.set()
        while not go.is_set():
            await asyncio.sleep(0.01)
        # Each call rings its own agent (10000+i); the recorded 01 call talks for 7 s.
        for i in range(calls):
            server.play("01_inbound_answered", numbers=[f"1390{i:07d}"], agents=[str(10000 + i)])
            await asyncio.sleep(1.0 / per_second)
        await asyncio.sleep(3600)

    asyncio.run(main())


def bench_screen_pop(calls: int, per_second: float) -> dict[str, Any]:
    import httpx

    from hotline.auth import issue_token
    from hotline.db import get_sessionmaker

    redis_url = os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/12")
    try:
        import redis

        redis.Redis.from_url(redis_url).ping()
    except Exception:  # noqa: BLE001
        redis_url = ""
    tmp = tempfile.mkdtemp()
    env = migrated(f"sqlite:///{tmp}/pop.sqlite3", tmp, redis_url)
    with get_sessionmaker()() as s:
        tokens = [issue_token(u) for u in seat_agents(s, calls)]
    if not redis_url:
        return {"skipped": "needs Redis for the multi-process fan-out"}
    ami_port, api_port = free_port(), free_port()
    ready, go = mp.Event(), mp.Event()
    procs = [mp.Process(target=ami_server_proc, args=(ami_port, ready, go, calls, per_second), daemon=True)]
    procs[0].start()
    ready.wait(30)
    # the API and the bridge share core 0; the AMI server and the clients have core 1
    procs.append(mp.Process(target=api_proc, args=(api_port, env, 0), daemon=True))
    procs.append(mp.Process(target=bridge_proc, args=(ami_port, env, 0), daemon=True))
    for p in procs[1:]:
        p.start()
    latencies: list[float] = []
    base = f"http://127.0.0.1:{api_port}"

    async def client(http: httpx.AsyncClient, token: str, ready_count: list[int], done: asyncio.Event) -> None:
        async with http.stream("GET", f"{base}/api/v1/telephony/screen-pop/stream", params={"token": token}) as r:
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    if event == "ready":
                        ready_count[0] += 1
                    elif event == "screen_pop":
                        latencies.append(time.time() - json.loads(line[5:])["event_ts"])
                        return

    async def run() -> None:
        limits = httpx.Limits(max_connections=calls + 10, max_keepalive_connections=calls + 10)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            ready_count = [0]
            done = asyncio.Event()
            tasks = [asyncio.create_task(client(http, t, ready_count, done)) for t in tokens]
            while ready_count[0] < calls:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # the bridge has connected and resynced by now
            go.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=calls / per_second + 30)

    wait_http(f"{base}/healthz")
    pin(1)
    asyncio.run(run())
    for p in procs:
        p.terminate()
    lat = sorted(latencies)
    if not lat:
        return {"error": "no screen pops received"}
    return {
        "calls_in_progress_peak": calls,
        "pops_received": len(lat),
        "fan_out": "redis" if redis_url else "in-process",
        "latency_ms_p50": round(statistics.median(lat) * 1000, 1),
        "latency_ms_p99": round(quantile(lat, 0.99) * 1000, 1),
        "latency_ms_max": round(lat[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls in the throughput stream")
    parser.add_argument("--pop-calls", type=int, default=500, help="concurrent calls / agents for screen pop")
    parser.add_argument("--pop-rate", type=float, default=100.0, help="new calls per second")
    args = parser.parse_args()
    mp.set_start_method("spawn", force=True)
    out = {
        "throughput": bench_throughput(args.calls),
        "screen_pop": bench_screen_pop(args.pop_calls, args.pop_rate),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    out["targets"] = {"events_per_second": 20000, "screen_pop_p99_ms": 200}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
