"""A city's worth of hotline data in PostgreSQL, fast (COPY), for benchmarks at scale.

    from benchmarks.citygen import CityShape, load_city
    summary = load_city("postgresql+psycopg://postgres@127.0.0.1/bench", CityShape(tickets=1_000_000))

    .venv/bin/python benchmarks/citygen.py --db hotline_bench_city --tickets 1000000 --calls 3000000

What it writes (into an empty, migrated database; ``load_city`` runs the migrations itself):

* **departments**: the 12345 center, ``bureaus`` city bureaus (市住建局 …), ``districts`` districts
  each with ``streets`` streets each with ``communities`` communities (四级联动, materialised paths);
* **users**: agents with seat extensions, dispatchers, callback agents, supervisors, an admin, one
  handler per department and a head per district and bureau (one argon2 hash of ``password``);
* **citizens** (synthetic E.164 numbers in the 170 virtual-operator range, a few frequent callers);
* **tickets** registered over ``days`` days up to ``end`` with a weekday and office-hours profile,
  through the channels, 诉求类型, 业务领域 and urgencies of DOMAIN.md, with realistic Chinese titles
  and texts about generated places (roads, 小区) and a few hot matters that many citizens raise
  in the same place in the same week (what 热点诉求 clustering looks for); each ticket walks the
  real route as far as its age allows: 直办 (≈45%), 不予受理, 即时转办, 并单, or 派单 to a street,
  community, district or bureau, 签收 (some late), 退单 (改派 or 驳回), 延期, 回复 (some late),
  审核 (some 补办), 回访 (满意/基本满意/不满意, 已解决/未解决, the hotline's service apart), 重办,
  办结 — with its assignments, extension requests, callers, and a timeline whose events carry the
  same data as ``hotline.lifecycle`` writes, deadlines from the default time limits on the
  official calendar, and the escalation level (and ``escalation_records``) of late tickets;
* **dashboard_cases**: folded from each ticket's events by ``dashboards.facts.fold``, the function
  the product's hook uses;
* **telephony_calls**: ``calls`` inbound calls (each phone ticket has the call it came from as
  ``source_call_id``), ≈91% answered (most within 15 s), the rest abandoned with a 漏接回拨 task,
  a few waiting or talking now; **telephony_agents** with their states now.

Every table goes through one ``COPY ... FROM STDIN`` per chunk, ids are assigned here and the
sequences set at the end; secondary indexes are dropped for the load and built again after it; then
``VACUUM ANALYZE``. PostgreSQL only. The command line drops and creates ``--db`` and leaves it
filled for the benchmarks that use it (issue 12: lists and search at a million tickets; the
dashboards: benchmarks/bench_dashboards.py); drop it yourself when done.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):  # the project, and this folder (citygen_city) when imported from elsewhere
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from citygen_city import SURNAMES, City, CityShape, call_row  # noqa: E402

# ---------------------------------------------------------------- COPY


def _escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


_FORMAT: dict[type, Any] = {
    str: _escape,
    int: str,
    float: repr,
    bool: lambda v: "t" if v else "f",
    type(None): lambda _v: "\\N",
    datetime: datetime.isoformat,
    date: date.isoformat,
    dict: lambda v: _escape(json.dumps(v, ensure_ascii=False)),
    list: lambda v: _escape(json.dumps(v, ensure_ascii=False)),
}


def drop_secondary_indexes(conn: Any, tables: Sequence[str]) -> list[str]:
    """Drop the indexes that back no constraint (faster COPY); returns their definitions."""
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [list(tables)],
    ).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


def copy_rows(conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """``COPY table (columns) FROM STDIN`` in text format, formatted here (≈2.5× psycopg's write_row)."""
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buf: list[str] = []
        for row in rows:
            buf.append("\t".join([_FORMAT[type(v)](v) for v in row]))
            n += 1
            if len(buf) >= 20_000:
                copy.write(("\n".join(buf) + "\n").encode())
                buf = []
        if buf:
            copy.write(("\n".join(buf) + "\n").encode())
    return n


# ---------------------------------------------------------------- loading

BULK_TABLES = (
    "tickets", "timeline_events", "ticket_assignments", "ticket_callers", "extension_requests", "escalation_records",
    "dashboard_cases", "telephony_calls", "telephony_callback_tasks", "citizens",
)  # fmt: skip
TICKET_COLUMNS = [
    "id", "number", "channel", "status", "citizen_id", "contact_name", "address", "title", "content", "appeal_type",
    "category", "urgency", "confidential", "enterprise", "source_call_id", "primary_department_id", "sign_due",
    "reply_due", "return_due", "callback_due", "dispatched_at", "signed_at", "replied_at", "closed_at",
    "extension_count", "repeat_count", "reopen_count", "return_count", "merged_into_id", "resolution",
    "transfer_target", "answer_text", "handling_text", "public_answer", "resolved", "satisfaction",
    "service_satisfaction", "callback_resolved", "escalation_level", "classification", "created_by_id", "created_at",
    "updated_at", "version",
]  # fmt: skip
EVENT_COLUMNS = [
    "id",
    "ticket_id",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "from_status",
    "to_status",
    "note",
    "data",
]
ASSIGNMENT_COLUMNS = [
    "id", "ticket_id", "department_id", "role", "status", "parent_assignment_id", "dispatched_by_id", "dispatched_at",
    "signed_at", "signed_by_id",
]  # fmt: skip
EXTENSION_COLUMNS = [
    "id", "ticket_id", "requested_by_id", "requested_at", "working_days", "reason", "status", "decided_by_id",
    "decided_at", "decision_note", "new_reply_due",
]  # fmt: skip
RECORD_COLUMNS = [
    "id", "ticket_id", "kind", "level", "cause", "instance", "trigger", "due_at", "department_id", "level_before",
    "level_after", "recipients", "actions", "note", "actor_id", "timeline_event_id", "created_at",
]  # fmt: skip
CALL_COLUMNS = [
    "id", "linkedid", "status", "caller_number", "caller_e164", "dialled_number", "queue", "started_at",
    "enter_queue_at", "ring_at", "answered_at", "ended_at", "agent_interface", "agent_name", "agent_user_id",
    "ring_attempts", "hangup_by", "wait_seconds", "talk_seconds", "answered", "abandoned", "reconciled",
    "created_at", "updated_at",
]  # fmt: skip


def load_city(url: str, shape: CityShape, *, log: Any = None) -> dict[str, Any]:
    """Migrate the (empty) database at ``url`` and fill it; returns counts and timings."""
    import psycopg

    from dashboards.facts import COLUMNS as CASE_COLUMNS
    from dashboards.facts import as_row, fold
    from hotline.migrate import upgrade
    from hotline.models import TICKET_SEARCH
    from hotline.timelimits import ensure_default_policies

    say = log or (lambda *_: None)
    t0 = time.perf_counter()
    upgrade(url)
    city = City(shape)
    city.build_org()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    out: dict[str, Any] = {
        "shape": {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in shape.__dict__.items() if k != "password"
        }
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        indexes = drop_secondary_indexes(conn, BULK_TABLES)
        copy_rows(
            conn,
            "departments",
            [
                "id",
                "code",
                "name",
                "level",
                "kind",
                "parent_id",
                "path",
                "liaison_name",
                "liaison_phone",
                "contacts",
                "active",
                "created_at",
            ],
            city.org.dept_rows,
        )
        copy_rows(
            conn,
            "users",
            [
                "id",
                "username",
                "display_name",
                "password_hash",
                "role",
                "department_id",
                "extension",
                "phone",
                "email",
                "active",
                "created_at",
            ],
            city.user_rows(),
        )
        rng = city.rng
        n_citizens = max(10, int(shape.tickets * 0.6))
        since = shape.end - timedelta(days=shape.days + 30)
        copy_rows(
            conn,
            "citizens",
            ["id", "phone", "name", "confidential", "created_at"],
            (
                (i, f"+86170{i:08d}", rng.choice(SURNAMES) + rng.choice(["先生", "女士"]), rng.random() < 0.01, since)
                for i in range(1, n_citizens + 1)
            ),
        )
        say("org, users, citizens", time.perf_counter() - t0)
        search = shape.search_documents and bool(
            conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = 'tickets' AND column_name = %s",
                [TICKET_SEARCH.column],
            ).fetchone()
        )
        ticket_columns = [*TICKET_COLUMNS, TICKET_SEARCH.column] if search else TICKET_COLUMNS
        times = city.creation_times(shape.tickets)
        city.hot_matters(times)
        open_ids: list[int] = []
        counts = {"tickets": 0, "events": 0, "assignments": 0, "cases": 0, "calls": 0, "records": 0}
        frequent = [rng.randrange(1, n_citizens + 1) for _ in range(max(1, n_citizens // 200))]
        linked_calls = 0
        for first in range(0, shape.tickets, shape.chunk):
            chunk = times[first : first + shape.chunk]
            lives = []
            calls = []
            for i, at in enumerate(chunk):
                tid = first + i + 1
                citizen = rng.choice(frequent) if rng.random() < 0.1 else rng.randrange(1, n_citizens + 1)
                life = city.ticket(tid, at, citizen, open_ids)
                if life["ticket"]["channel"] == "phone" and linked_calls < shape.calls:
                    started = at - timedelta(seconds=rng.randint(120, 600))
                    row = call_row(city, started, f"+86170{citizen:08d}", answered=True)
                    life["ticket"]["source_call_id"] = row[1]
                    calls.append(row)
                    linked_calls += 1
                lives.append(life)
            if len(open_ids) > 5000:
                del open_ids[:-2000]
            if search:
                for life in lives:
                    ticket = life["ticket"]
                    ticket["search_document"] = TICKET_SEARCH.document("postgresql", SimpleNamespace(**ticket))
            counts["tickets"] += copy_rows(
                conn, "tickets", ticket_columns, ([life["ticket"][c] for c in ticket_columns] for life in lives)
            )
            counts["events"] += copy_rows(
                conn, "timeline_events", EVENT_COLUMNS, (e for life in lives for e in life["events"])
            )
            counts["assignments"] += copy_rows(
                conn, "ticket_assignments", ASSIGNMENT_COLUMNS, (a for life in lives for a in life["assignments"])
            )
            copy_rows(conn, "extension_requests", EXTENSION_COLUMNS, (x for life in lives for x in life["extensions"]))
            counts["records"] += copy_rows(
                conn, "escalation_records", RECORD_COLUMNS, (r for life in lives for r in life["records"])
            )
            copy_rows(
                conn,
                "ticket_callers",
                ["ticket_id", "citizen_id", "added_at"],
                ((life["ticket"]["id"], life["ticket"]["citizen_id"], life["ticket"]["created_at"]) for life in lives),
            )
            cases = (
                [row[c] for c in CASE_COLUMNS]
                for life in lives
                for row in (
                    as_row(case)
                    for case in fold(
                        life["ticket"]["id"],
                        life["ticket"]["created_at"],
                        ((e[5], e[2], e[9]) for e in life["events"]),
                    )
                )
            )
            counts["cases"] += copy_rows(conn, "dashboard_cases", CASE_COLUMNS, cases)
            counts["calls"] += copy_rows(conn, "telephony_calls", CALL_COLUMNS, calls)
            say(f"tickets {first + len(chunk):,}", time.perf_counter() - t0)
        # The calls that made no ticket, answered ≈91%; abandoned ones get a 漏接回拨 task.
        rest = max(0, shape.calls - linked_calls)
        call_times = city.creation_times(rest)
        for first in range(0, rest, shape.chunk * 2):
            chunk = call_times[first : first + shape.chunk * 2]
            rows = [
                call_row(city, at, f"+86170{rng.randrange(1, n_citizens + 1):08d}", answered=rng.random() < 0.91)
                for at in chunk
            ]
            counts["calls"] += copy_rows(conn, "telephony_calls", CALL_COLUMNS, rows)
            tasks = [
                (
                    r[1],
                    r[3],
                    r[4],
                    "hotline",
                    r[8],
                    r[11],
                    r[17],
                    "done" if r[7] < shape.end - timedelta(days=1) else "open",
                    r[11],
                )
                for r in rows
                if r[20]
            ]
            copy_rows(
                conn,
                "telephony_callback_tasks",
                [
                    "linkedid",
                    "caller_number",
                    "caller_e164",
                    "queue",
                    "called_at",
                    "abandoned_at",
                    "wait_seconds",
                    "status",
                    "created_at",
                ],
                tasks,
            )
            say(f"calls {counts['calls']:,}", time.perf_counter() - t0)
        # Now: a few callers waiting, some talking; every agent's state.
        phone = lambda: f"+86170{rng.randrange(1, n_citizens + 1):08d}"  # noqa: E731
        now_rows = [
            call_row(city, shape.end - timedelta(seconds=rng.randint(*ago)), phone(), answered=talking, ended=False)
            for talking, ago, n in ((False, (5, 90), 8), (True, (30, 600), min(40, shape.agents // 3)))
            for _ in range(n)
        ]
        counts["calls"] += copy_rows(conn, "telephony_calls", CALL_COLUMNS, now_rows)
        states = []
        for i, (uid, name, iface) in enumerate(city.people.agents):
            state = (
                "on_call"
                if i < 40
                else rng.choices(["idle", "paused", "wrapup", "logged_out"], weights=[55, 20, 10, 15])[0]
            )
            states.append(
                (
                    iface,
                    name,
                    uid,
                    "hotline",
                    state,
                    state == "paused",
                    "午休" if state == "paused" else None,
                    None,
                    None,
                    shape.end - timedelta(seconds=rng.randint(5, 1800)),
                    shape.end,
                )
            )
        copy_rows(
            conn,
            "telephony_agents",
            [
                "interface",
                "member_name",
                "user_id",
                "queues",
                "state",
                "paused",
                "pause_reason",
                "linkedid",
                "wrapup_until",
                "state_since",
                "updated_at",
            ],
            states,
        )
        copy_rows(conn, "ticket_counters", ["day", "last"], sorted(city.counters.items()))
        for table, column in (
            ("departments", "id"), ("users", "id"), ("citizens", "id"), ("tickets", "id"), ("timeline_events", "id"),
            ("ticket_assignments", "id"), ("extension_requests", "id"), ("escalation_records", "id"),
            ("telephony_calls", "id"), ("ticket_callers", "id"), ("telephony_callback_tasks", "id"),
        ):  # fmt: skip
            highest = f"(SELECT coalesce(max({column}), 1) FROM {table})"
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), {highest})")
        say("indexes", time.perf_counter() - t0)
        for definition in indexes:
            conn.execute(definition)
        say("analyze", time.perf_counter() - t0)
        conn.execute("VACUUM ANALYZE")
    from sqlalchemy.orm import Session

    from hotline.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        ensure_default_policies(session)
        session.commit()
    engine.dispose()
    out.update(counts=counts, hot_matters=len(city.hot), seconds=round(time.perf_counter() - t0, 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="hotline_bench_city", help="database name (dropped and created)")
    parser.add_argument("--tickets", type=int, default=CityShape.tickets)
    parser.add_argument("--calls", type=int, default=CityShape.calls)
    parser.add_argument("--days", type=int, default=CityShape.days)
    parser.add_argument("--seed", type=int, default=CityShape.seed)
    parser.add_argument("--no-search", action="store_true", help="leave the tickets' search documents empty")
    args = parser.parse_args()
    from pgdb import fresh_database  # benchmarks/ on sys.path: run as a script

    url = fresh_database(args.db)
    shape = CityShape(
        tickets=args.tickets, calls=args.calls, days=args.days, seed=args.seed, search_documents=not args.no_search
    )
    summary = load_city(url, shape, log=lambda what, s: print(f"{s:7.1f}s {what}", file=sys.stderr))
    summary["database"] = args.db
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
