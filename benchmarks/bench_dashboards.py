"""Dashboards at city scale: a month's KPIs (city, one district), the ranking, the wallboard and the
hot topics of a week's appeals, over a generated city in PostgreSQL.

    .venv/bin/python benchmarks/bench_dashboards.py [--db hotline_bench_city] [--tickets 1000000 --calls 3000000]
                                                    [--repeat 5] [--appeals 20000]

Uses the database ``--db`` if it holds a city already (benchmarks/citygen.py), else generates one of
``--tickets``/``--calls`` first (--no-search: the dashboards do not search). Each figure is the
median and the maximum of ``--repeat`` runs after one warm-up run, in one process on one core;
the machine's load average is printed before and after. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import onecore  # noqa: F401  (one BLAS thread, the project on sys.path)
from pgdb import ADMIN_DSN, database_url, fresh_database

HERE = Path(__file__).resolve().parent


def timed(fn: Any, repeat: int) -> dict[str, float]:
    """Median and maximum wall time of ``repeat`` runs after a warm-up (plans cached, pages in memory),
    and this process's median CPU time (the Python side; the database works in its own process)."""
    fn()
    runs, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "median_ms": round(statistics.median(runs) * 1000, 1),
        "max_ms": round(max(runs) * 1000, 1),
        "python_cpu_ms": round(statistics.median(cpu) * 1000, 1),
    }


def ensure_city(db: str, tickets: int, calls: int) -> str:
    import psycopg

    url = database_url(db)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
    if exists:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            count = conn.execute("SELECT count(*) FROM tickets").fetchone()
        if count and count[0]:
            return url
    sys.path.insert(0, str(HERE))
    from citygen import CityShape, load_city

    fresh_database(db)
    load_city(url, CityShape(tickets=tickets, calls=calls, search_documents=False))
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="hotline_bench_city")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--appeals", type=int, default=20_000, help="hot topics: the newest N appeals (≈ a week)")
    args = parser.parse_args()
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    url = ensure_city(args.db, args.tickets, args.calls)
    os.environ["HOTLINE_DATABASE_URL"] = url
    from sqlalchemy import func, select, text

    from dashboards import hot_topics_store, kpis, ranking
    from dashboards.hot_topics import cluster
    from dashboards.models import DashboardCase
    from dashboards.period import parse_period
    from dashboards.scope import OrgTree, Scope
    from dashboards.wallboard import snapshot
    from hotline.db import get_sessionmaker, utcnow
    from hotline.models import Ticket

    session = get_sessionmaker()()
    now = utcnow()
    month = parse_period("month", (now - timedelta(days=31)).date())
    org = OrgTree.load(session)
    city = Scope(None, None)
    by_district: Counter[int] = Counter()
    for department_id, counters in kpis.case_counters(session, month.start, month.end, now).items():
        unit = org.district_of(department_id)
        if unit is not None:
            by_district[unit.id] += counters["cases"]
    busiest = by_district.most_common(1)[0][0]
    district = Scope(org.units[busiest], org.subtree(busiest))
    out.update(
        tickets=session.scalar(select(func.count()).select_from(Ticket)),
        calls=session.scalar(text("SELECT count(*) FROM telephony_calls")),
        cases=session.scalar(select(func.count()).select_from(DashboardCase)),
        month=month.label,
        month_tickets=session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.created_at >= month.start, Ticket.created_at < month.end)
        ),
        district=district.label,
    )
    out["kpis_city"] = timed(lambda: kpis.overview(session, month, city, utcnow()), args.repeat)
    out["kpis_district"] = timed(lambda: kpis.overview(session, month, district, utcnow()), args.repeat)
    out["ranking"] = timed(lambda: ranking.ranking(session, month, city, org, utcnow()), args.repeat)
    out["trend_city"] = timed(lambda: kpis.trend(session, month, city, utcnow()), args.repeat)
    out["wallboard"] = timed(lambda: snapshot(session), args.repeat)
    plans = {}
    for name, sql in {
        "cases": "SELECT department_id, count(*) FROM dashboard_cases WHERE registered_at >= :s AND registered_at < :e "
        "AND NOT merged GROUP BY department_id",
        "tickets": "SELECT primary_department_id, count(*) FROM tickets WHERE created_at >= :s AND created_at < :e "
        "GROUP BY primary_department_id",
        "calls": "SELECT count(*) FROM telephony_calls WHERE started_at >= :s AND started_at < :e",
    }.items():
        rows = session.execute(text("EXPLAIN " + sql), {"s": month.start, "e": month.end}).scalars().all()
        plans[name] = [r for r in rows if "Scan" in r or "Index" in r]
    out["plans"] = plans

    # Hot topics: the newest appeals (about a week of this city), clustered on one core.
    newest = session.execute(
        select(Ticket.created_at).order_by(Ticket.created_at.desc()).offset(args.appeals - 1).limit(1)
    )
    since = newest.scalar_one()
    t0 = time.perf_counter()
    batch = hot_topics_store.appeals(session, since, now + timedelta(seconds=1))
    names = hot_topics_store.gazetteer(session)
    read_s = time.perf_counter() - t0
    t0, cpu0 = time.perf_counter(), time.process_time()
    topics = cluster(batch, gazetteer=names)
    cluster_s, cluster_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    out["hot_topics"] = {
        "appeals": len(batch),
        "days": round((now - since).total_seconds() / 86400, 1),
        "read_s": round(read_s, 2),
        "cluster_s": round(cluster_s, 2),
        "cluster_cpu_s": round(cluster_cpu_s, 2),
        "clusters": len(topics),
        "top": [{"title": t.title, "place": t.place, "size": t.size, "heat": t.heat} for t in topics[:5]],
    }
    session.close()
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, ensure_ascii=False, indent=1, default=str))


if __name__ == "__main__":
    main()
