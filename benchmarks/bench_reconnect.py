"""How long after an AMI disconnect a missed call's record exists (issue 16), in real time.

    .venv/bin/python benchmarks/bench_reconnect.py [--outages 5 60] [--runs 3] [--runs-long 1]

For each outage D: the bridge (production settings) is connected to the replaying AMI server,
which writes Asterisk's CDR and queue log into the database (PostgreSQL when reachable, else
SQLite) as Asterisk does. At t0 the AMI link drops and Asterisk refuses AMI logins for D seconds;
meanwhile a citizen calls and gives up (the recorded abandoned call, played 4x faster: 3 s).
At t0 + D the AMI is back. Measured: when the call's record and its 漏接回拨 task exist, from t0
and from the moment the AMI was back. The same with the old settings (reconnect wait growing to
30 s, no CDR reconciliation) for comparison: there the call is never recorded.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TIME_SCALE = 0.25  # the 12-second recording of an abandoned call lasts 3 s


def _database() -> tuple[str, Any]:
    """A fresh migrated database: PostgreSQL (production) if reachable, else SQLite."""
    from hotline.migrate import upgrade

    try:
        from tests.conftest import create_pg_database, drop_pg_database, pg_url

        name = create_pg_database("hotline_bench_reconnect")
        url = pg_url(name)
        upgrade(url)
        return url, lambda: drop_pg_database(name)
    except Exception:
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        return url, lambda: None


def one_run(url: str, outage: float, *, new: bool) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from hotline.db import make_engine
    from telephony.amiserver import AMIServer, AMIServerThread, AMIUser
    from telephony.bridge import Bridge, BridgeConfig
    from telephony.client import AMITarget
    from telephony.models import CallbackTask, CallRecord
    from telephony.records_writer import RecordWriter

    engine = make_engine(url)
    sm = sessionmaker(bind=engine, expire_on_commit=False)
    with engine.begin() as conn:
        for table in ("telephony_callback_tasks", "telephony_calls", "telephony_agents", "cdr", "queue_log"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    writer = RecordWriter(engine)
    ami = AMIServerThread(
        AMIServer(time_scale=TIME_SCALE, users={"hotline": AMIUser("secret")}, records=writer)
    ).start()
    target = AMITarget("127.0.0.1", ami.server.port, "hotline", "secret")
    cfg = BridgeConfig(target) if new else BridgeConfig(target, backoff_max=30.0, reconcile_cdr=False)
    bridge = Bridge(cfg, sm, publish=lambda m: None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(bridge.run()), daemon=True)
    thread.start()
    try:
        while bridge.stats.resyncs < 1:
            time.sleep(0.01)
        time.sleep(1.0)
        ami.call(ami.server.refuse_connections, True)
        t0 = time.monotonic()
        ami.call(ami.server.drop_clients)
        time.sleep(0.5)
        play = ami.call(ami.server.play, "02_inbound_abandoned", numbers=["13800000002"])
        ami.call(play.done.wait)
        call_end = time.monotonic() - t0
        time.sleep(max(0.0, outage - (time.monotonic() - t0)))
        ami.call(ami.server.refuse_connections, False)
        back = time.monotonic() - t0
        deadline = t0 + outage + 45.0  # the old settings wait up to 30 s (+jitter) more
        recorded = tasked = reconnected = None
        while time.monotonic() < deadline:
            now = time.monotonic() - t0
            if reconnected is None and bridge.stats.resyncs >= 2:
                reconnected = now
            with sm() as s:
                if recorded is None and s.scalar(
                    select(CallRecord.id).where(CallRecord.caller_e164 == "+8613800000002")
                ):
                    recorded = now
                if tasked is None and s.scalar(select(CallbackTask.id)):
                    tasked = now
            if recorded is not None and tasked is not None:
                break
            if reconnected is not None and now - reconnected > 5.0:
                break  # reconnected and reconciled long ago: the call is not coming
            time.sleep(0.05)
        return {
            "outage_s": outage,
            "call_ended_after_s": round(call_end, 2),
            "ami_back_after_s": round(back, 2),
            "reconnected_after_s": round(reconnected, 2) if reconnected is not None else None,
            "record_after_disconnect_s": round(recorded, 2) if recorded is not None else None,
            "record_after_ami_back_s": round(recorded - back, 2) if recorded is not None else None,
            "callback_task_after_disconnect_s": round(tasked, 2) if tasked is not None else None,
        }
    finally:
        loop.call_soon_threadsafe(bridge.stop)
        thread.join(15)
        ami.stop()
        writer.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outages", type=float, nargs="+", default=[5.0, 60.0])
    parser.add_argument("--runs", type=int, default=3, help="runs per outage shorter than 30 s")
    parser.add_argument("--runs-long", type=int, default=1, help="runs per outage of 30 s or more")
    args = parser.parse_args()
    url, drop = _database()
    load_before = os.getloadavg()
    out: dict[str, Any] = {"database": url.split(":", 1)[0], "time_scale_of_the_call": TIME_SCALE, "results": []}
    try:
        for outage in args.outages:
            for new in (True, False):
                runs = [one_run(url, outage, new=new) for _ in range(args.runs if outage < 30 else args.runs_long)]
                times = [r["record_after_disconnect_s"] for r in runs if r["record_after_disconnect_s"] is not None]
                out["results"].append(
                    {
                        "settings": "issue 16 (2 s reconnect cap, FullyBooted, CDR reconciliation)"
                        if new
                        else "before (reconnect wait up to 30 s, no CDR)",
                        "outage_s": outage,
                        "missed_call_recorded": f"{len(times)}/{len(runs)}",
                        "record_after_disconnect_s_median": statistics.median(times) if times else None,
                        "runs": runs,
                    }
                )
    finally:
        drop()
    out["loadavg_before"] = [round(x, 2) for x in load_before]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
