"""Staff console benchmark: the screen pop as the agent sees it, and the application's first load.

    .venv/bin/python benchmarks/bench_console.py [--agents 50] [--rounds 4] [--rate 10]

1. Screen pop in the page: the product (uvicorn, its own process) on a fresh PostgreSQL database,
   the bridge (own process) publishing through Redis, the AMI server (own process, real time)
   replaying the recorded answered call. ``--agents`` agents' desks (/console/agent) are open in
   headless Chromium, each logged in as its own agent with the SSE stream connected. Each round
   rings every agent once (``--rate`` new calls a second); each caller has an open ticket, so
   every pop carries a history. Latency = AMI event time (the ``Timestamp`` Asterisk stamps,
   here the AMI server's clock) → the pop in the agent's page (the page's
   ``performance.mark('screen-pop-shown')`` after Vue has patched the DOM; same machine clock).
2. First load on loopback: a fresh browser context (empty cache) opens /console/ (the login)
   and, with a session, /console/agent; time to the login form / the agent's desk shown, and the
   compressed (brotli, as served) JavaScript transferred; plus the whole application's JS.

Needs PostgreSQL (HOTLINE_TEST_PG_ADMIN), Redis (HOTLINE_BENCH_REDIS, default
redis://127.0.0.1:6379/13), the built console and Debian's chromium. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
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

from benchmarks.common import api_proc, bridge_proc, migrated, quantile, seat_agents, wait_http  # noqa: E402
from benchmarks.pgdb import drop_database, fresh_database  # noqa: E402
from tests.browser import free_port  # noqa: E402

DB_NAME = "hotline_bench_console"


# -- the processes (the API's and the bridge's: benchmarks.common) ------------------------------
def ami_proc(port: int, ready: Any, calls: Any) -> None:
    """The AMI server; plays one answered call per (number, agent) put on ``calls``."""
    from telephony.amiserver import AMIServer

    async def main() -> None:
        server = AMIServer("127.0.0.1", port, time_scale=1.0)
        await server.start()
        ready.set()
        loop = asyncio.get_running_loop()
        while True:
            item = await loop.run_in_executor(None, calls.get)
            if item is None:
                return
            number, agent = item
            server.play("01_inbound_answered", numbers=[number], agents=[agent])

    asyncio.run(main())


# -- the data --------------------------------------------------------------------------------------
def seed(agents: int) -> list[dict[str, Any]]:
    """Agents at seats 10000+i, each caller with an open ticket; answers each agent's session."""
    from hotline import lifecycle
    from hotline.auth import issue_token
    from hotline.db import get_sessionmaker
    from hotline.enums import AppealType, Channel
    from hotline.schemas import UserOut
    from hotline.timelimits import ensure_default_policies

    out = []
    with get_sessionmaker()() as s:
        ensure_default_policies(s)
        users = seat_agents(s, agents)
        for i, u in enumerate(users):
            appeal = lifecycle.NewAppeal(
                title="楼下烧烤店夜间噪音扰民",
                content="每天营业到凌晨两点，油烟和噪音严重影响休息。",
                appeal_type=AppealType.complaint,
                channel=Channel.phone,
                phone=f"1390{i:07d}",
                contact_name=f"来电人{i}",
                address="东城区和平街道和平路88号",
            )
            lifecycle.register_ticket(s, u, appeal)
            s.commit()
            out.append(
                {
                    "token": issue_token(u),
                    "user": UserOut.model_validate(u).model_dump(mode="json"),
                    "agent": str(10000 + i),
                    "number": f"1390{i:07d}",
                }
            )
    return out


SESSION_SCRIPT = """
sessionStorage.setItem('hotline.token', %s);
sessionStorage.setItem('hotline.user', %s);
"""
MARKS = """performance.getEntriesByName('screen-pop-shown')
  .map(m => [performance.timeOrigin + m.startTime, m.detail.event_ts])"""


def logged_in(page: Any, session: dict[str, Any]) -> None:
    """The page starts with the agent's session (as after a login in that tab)."""
    page.add_init_script(SESSION_SCRIPT % (json.dumps(session["token"]), json.dumps(json.dumps(session["user"]))))


def bench_pops(
    base: str, chromium: Any, sessions: list[dict[str, Any]], calls: Any, rounds: int, rate: float
) -> dict[str, Any]:
    # One browser context per agent, as 50 agents have 50 browsers: a browser keeps at most six
    # HTTP/1.1 connections to one server, and each desk holds one open for its stream.
    contexts, pages = [], []
    started = time.monotonic()
    for s in sessions:
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        contexts.append(context)
        page = context.new_page()
        logged_in(page, s)
        page.set_default_timeout(180_000)
        page.goto(f"{base}/console/agent")
        page.wait_for_selector("[data-test=pop-connection]:has-text('弹屏已连接')")
        pages.append(page)
    opened = time.monotonic() - started
    time.sleep(1.0)  # the bridge has resynced every seat by now
    for _ in range(rounds):
        for s in sessions:
            calls.put((s["number"], s["agent"]))
            time.sleep(1.0 / rate)
        time.sleep(9)  # the recorded call talks for 7 s: each seat is free again for the next round
    time.sleep(3)
    latencies: list[float] = []
    for page in pages:
        marks = page.evaluate(MARKS)
        latencies += [shown - event_ts * 1000 for shown, event_ts in marks]
    for context in contexts:
        context.close()
    expected = rounds * len(sessions)
    if not latencies:
        return {"error": "no screen pop shown"}
    return {
        "agents_pages_open": len(pages),
        "pages_opened_and_connected_s": round(opened, 1),
        "calls": expected,
        "pops_shown": len(latencies),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(quantile(latencies, 0.99), 1),
        "latency_ms_max": round(max(latencies), 1),
    }


def bench_first_load(base: str, chromium: Any, session: dict[str, Any], runs: int = 5) -> dict[str, Any]:
    from hotline.console import DIST_DIR

    def one(path: str, ready: str, with_session: bool) -> dict[str, float]:
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        page = context.new_page()
        if with_session:
            logged_in(page, session)
        t0 = time.perf_counter()
        page.goto(f"{base}/console{path}")
        page.wait_for_selector(ready)
        shown = time.perf_counter() - t0
        page.wait_for_load_state("networkidle")
        js = page.evaluate(
            """performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
               .filter(e => e.name.endsWith('.js')).reduce((n, e) => n + e.transferSize, 0)"""
        )
        load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        context.close()
        return {"shown_ms": shown * 1000, "load_event_ms": float(load), "js_transferred_bytes": float(js)}

    login = [one("/", "input[name=password]", False) for _ in range(runs)]
    desk = [one("/agent", "[data-test=intake-form]", True) for _ in range(runs)]
    all_js_br = sum(p.stat().st_size for p in DIST_DIR.rglob("*.js.br"))
    all_js = sum(p.stat().st_size for p in DIST_DIR.rglob("*.js"))

    def summary(rows: list[dict[str, float]]) -> dict[str, float]:
        return {
            "shown_ms_median": round(statistics.median(r["shown_ms"] for r in rows), 1),
            "shown_ms_max": round(max(r["shown_ms"] for r in rows), 1),
            "load_event_ms_median": round(statistics.median(r["load_event_ms"] for r in rows), 1),
            "js_transferred_kb": round(rows[0]["js_transferred_bytes"] / 1024, 1),
        }

    return {
        "runs": runs,
        "login_page": summary(login),
        "agent_desk": summary(desk),
        "whole_app_js_kb_brotli": round(all_js_br / 1024, 1),
        "whole_app_js_kb_uncompressed": round(all_js / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="new calls per second")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    redis_url = os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/13")
    env = migrated(fresh_database(DB_NAME), tempfile.mkdtemp(prefix="bench-console-"), redis_url)
    sessions = seed(args.agents)
    ami_port, api_port = free_port(), free_port()
    ready, calls = mp.Event(), mp.Queue()
    procs = [mp.Process(target=ami_proc, args=(ami_port, ready, calls), daemon=True)]
    procs[0].start()
    ready.wait(30)
    procs.append(mp.Process(target=api_proc, args=(api_port, env), daemon=True))
    procs.append(mp.Process(target=bridge_proc, args=(ami_port, env), daemon=True))
    for p in procs[1:]:
        p.start()
    base = f"http://127.0.0.1:{api_port}"
    out: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    try:
        import httpx

        wait_http(f"{base}/healthz")
        page = httpx.get(f"{base}/console/", timeout=10)
        assert page.status_code == 200 and procs[1].is_alive(), (page.status_code, page.text[:300])
        with sync_playwright() as pw:
            chromium = launch_chromium(pw)
            out["first_load"] = bench_first_load(base, chromium, sessions[0])
            out["screen_pop_in_page"] = bench_pops(base, chromium, sessions, calls, args.rounds, args.rate)
            chromium.close()
    finally:
        calls.put(None)
        for p in procs:
            p.terminate()
            p.join(5)
        drop_database(DB_NAME)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    out["targets"] = {"screen_pop_p99_ms": 300, "first_load_ms": 1000, "first_load_js_kb_compressed": 600}
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
