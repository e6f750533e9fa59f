"""Lists and search at a city's scale: every list the staff and the console use, timed on a city
built by benchmarks/citygen.py (a million tickets), through the product's own query functions.

    .venv/bin/python benchmarks/bench_lists.py --database-url postgresql+psycopg://postgres@127.0.0.1/CITY

Each figure is the median of ``--repeat`` runs after one warm-up, in milliseconds, for the first
page (20 rows) with its count, as the console asks; JSON out. Targets (issue 12): lists below
200 ms, search below 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEARCHES = ["噪音", "拖欠工资", "路灯 不亮", "停水", "物业 收费", "占道经营", "违章停车", "小区 噪音 夜间"]


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, Any]:
    fn()
    runs = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    out: dict[str, Any] = {"median_ms": round(statistics.median(runs), 1), "max_ms": round(max(runs), 1)}
    if isinstance(result, tuple) and len(result) == 3:
        out["total"] = result[1] if result[2] else f"~{result[1]}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-search", action="store_true", help="lists only")
    args = ap.parse_args()
    os.environ["HOTLINE_DATABASE_URL"] = args.database_url
    os.environ.setdefault("HOTLINE_DATA_DIR", "/tmp/hotline-bench-lists")

    from sqlalchemy import func, select

    from dispatch.queue import queue
    from hotline.db import get_sessionmaker
    from hotline.enums import TicketStatus
    from hotline.models import Department, Ticket, User
    from hotline.service import TicketFilter, list_tickets

    session = get_sessionmaker()()
    supervisor = session.scalar(select(User).where(User.role == "supervisor").limit(1))
    head = session.scalar(
        select(User)
        .join(Department, User.department_id == Department.id)
        .where(User.role == "dept_head", Department.level == "district")
        .limit(1)
    )
    # the busiest street office's handler: the department inbox with the most tickets
    busiest = session.scalar(
        select(Ticket.primary_department_id)
        .join(Department, Ticket.primary_department_id == Department.id)
        .where(Department.level == "street")
        .group_by(Ticket.primary_department_id)
        .order_by(func.count().desc())
        .limit(1)
    )
    handler = session.scalar(select(User).where(User.department_id == busiest, User.role == "dept_handler").limit(1))
    assert supervisor and head and handler, "run on a city from benchmarks/citygen.py"
    tickets = session.scalar(select(func.count()).select_from(Ticket))

    def page(user: Any, **flt: Any) -> Callable[[], Any]:
        return lambda: list_tickets(session, user, TicketFilter(**flt), 1, 20)

    cases: dict[str, Callable[[], Any]] = {"all (supervisor)": page(supervisor)}
    for status in TicketStatus:
        cases[f"status={status.value}"] = page(supervisor, status=[status.value])
    cases["overdue"] = page(supervisor, overdue=True)
    cases["a district with its units (supervisor's filter)"] = page(supervisor, department_id=head.department_id)
    cases["a district head's own list"] = page(head)
    cases["a district head's overdue"] = page(head, overdue=True)
    cases["a street office's inbox (all)"] = page(handler)
    for status in ("dispatched", "in_progress", "replied", "closed"):
        cases[f"a street office's inbox: {status}"] = page(handler, status=[status])
    cases["a street office's overdue"] = page(handler, overdue=True)
    cases["the dispatchers' queue (100)"] = lambda: queue(session, limit=100)
    for words in [] if args.no_search else SEARCHES:
        cases[f"search: {words}"] = page(supervisor, q=words)
        cases[f"search by a street office: {words}"] = page(handler, q=words)
    out: dict[str, Any] = {"tickets": tickets, "repeat": args.repeat, "load_average": round(os.getloadavg()[0], 2)}
    out["lists"] = {}
    for name, fn in cases.items():
        out["lists"][name] = timed(fn, args.repeat)
        session.rollback()
    out["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
