"""Escalation benchmark: the deadlines sweep over 1,000,000 open tickets in PostgreSQL.

    .venv/bin/python benchmarks/bench_escalation.py [--tickets 1000000] [--due 1000] [--keep]

1. Loads ``--tickets`` open tickets (95% 办理中, 5% 待签收; reply deadlines spread over the next
   20 days) into a dedicated database with ``generate_series``, and the sweep's watch rows with
   ``escalation.service.resync`` (one INSERT ... SELECT).
2. Steady state: every ticket's next look is set to its level-1 moment (80% of the reply limit,
   or 签收 for unsigned tickets), as the sweep leaves it after a first pass.
3. Sweep time: one sweep with nothing due (the index probe), and one with ``--due`` tickets due
   (evaluated, level 1 claimed, the outbox filled and delivered).
4. Delay from a deadline to its notice: ``--due`` tickets get their level-1 moment spread over
   the next 10 s; a beat-like loop runs the Celery task's body (sweep, callbacks, outbox) every
   ``--interval`` seconds; reports deadline → notice sent (inbox/SMS outbox), p50/p95/max.

Prints one JSON object. Needs PostgreSQL at HOTLINE_TEST_PG_ADMIN (default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DB_NAME = "hotline_bench_escalation"


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the burst sweep into FILE (pstats)")
    parser.add_argument("--burst-only", action="store_true", help="stop after the burst sweep")
    args = parser.parse_args()

    import psycopg
    from pgdb import fresh_database

    url = fresh_database(DB_NAME)
    os.environ["HOTLINE_DATABASE_URL"] = url
    os.environ.setdefault("HOTLINE_DATA_DIR", str(Path("/tmp/hotline-bench-escalation")))
    os.environ["HOTLINE_DRILL"] = "0"
    from sqlalchemy import text

    from escalation import callbacks, channels, service
    from hotline import wiring
    from hotline.db import get_sessionmaker, utcnow
    from hotline.migrate import upgrade
    from hotline.models import Department, User
    from hotline.orgs import get_system_user
    from hotline.timelimits import ensure_default_policies

    out: dict[str, Any] = {"tickets": args.tickets, "due": args.due, "sweep_interval_s": args.interval}
    upgrade(url)
    wiring.install()
    sm = get_sessionmaker()
    with sm() as s:
        ensure_default_policies(s)
        dept = Department(
            code="zjj",
            name="市住建局",
            level="city",
            kind="functional",
            path="/1/",
            liaison_name="王联络",
            liaison_phone="+8613700000001",
        )
        s.add(dept)
        s.flush()
        s.add(
            User(
                username="zjj",
                display_name="住建局承办人",
                password_hash="x",
                role="dept_handler",
                department_id=dept.id,
            )
        )
        s.add(User(username="supervisor", display_name="督办员", password_hash="x", role="supervisor"))
        get_system_user(s)
        s.commit()
        dept_id = dept.id

    load_sql = """
    INSERT INTO tickets (number, channel, status, title, content, appeal_type, urgency, confidential, enterprise,
        primary_department_id, dispatched_at, signed_at, sign_due, reply_due, return_due, extension_count,
        repeat_count, reopen_count, return_count, escalation_level, created_at, updated_at, version)
    SELECT 'B' || lpad(g::text, 9, '0'), 'phone',
        CASE WHEN g % 20 = 0 THEN 'dispatched' ELSE 'in_progress' END,
        '批量工单 ' || g, '基准测试工单', 'complaint', 'normal', false, false, :dept,
        d.at, CASE WHEN g % 20 = 0 THEN NULL ELSE d.at + interval '10 minutes' END,
        CASE WHEN g % 20 = 0 THEN now() + interval '1 hour' + (g % 3600) * interval '1 second' ELSE NULL END,
        d.at + interval '15 days' + (g % 432000) * interval '1 second',
        NULL, 0, 0, 0, 0, 0, d.at, d.at, 1
    FROM generate_series(1, :n) AS g,
         LATERAL (SELECT now() - interval '1 hour' - (g % 172800) * interval '1 second' AS at) AS d
    """
    with sm() as s:
        _, load_s = _timed(lambda: (s.execute(text(load_sql), {"dept": dept_id, "n": args.tickets}), s.commit()))
        s.execute(
            text(
                "INSERT INTO ticket_assignments (ticket_id, department_id, role, status, dispatched_at) "
                "SELECT id, :dept, 'primary', 'dispatched', dispatched_at FROM tickets"
            ),
            {"dept": dept_id},
        )
        s.commit()
        _, resync_s = _timed(service.resync, s)
        watched = s.execute(text("SELECT count(*) FROM escalation_due")).scalar_one()
        # Steady state: the next look of each ticket is its level-1 moment (what a first pass leaves).
        s.execute(
            text("""
            UPDATE escalation_due d SET next_at = CASE
                WHEN t.status = 'dispatched' THEN t.sign_due - interval '12 minutes'
                ELSE t.dispatched_at + (t.reply_due - t.dispatched_at) * 0.8 END
            FROM tickets t WHERE t.id = d.ticket_id""")
        )
        s.execute(text("UPDATE escalation_due SET next_at = now() + interval '1 minute' WHERE next_at <= now()"))
        s.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tickets")
        conn.execute("VACUUM ANALYZE escalation_due")
        # The sweep loads each due ticket's assignments (ticket_id IN (...)); without statistics
        # on the freshly loaded million rows the planner scans the whole table (≈0.2 s a batch).
        conn.execute("VACUUM ANALYZE ticket_assignments")
        plan = conn.execute(
            "EXPLAIN SELECT * FROM escalation_due d JOIN tickets t ON t.id = d.ticket_id "
            "WHERE d.next_at <= now() ORDER BY d.next_at LIMIT 500 FOR UPDATE OF d, t SKIP LOCKED"
        ).fetchall()
    out.update(
        load_seconds=round(load_s, 1),
        resync_seconds=round(resync_s, 2),
        watched=watched,
        due_query_plan=[row[0] for row in plan],
    )

    # Sweep with nothing due: the index probe.
    empty = [_timed(service.run_sweep, sm)[1] for _ in range(5)]
    out["sweep_nothing_due_ms"] = round(statistics.median(empty) * 1000, 2)

    # Sweep with --due tickets due at once (level 1 claimed, outbox filled), then delivery.
    with sm() as s:
        s.execute(
            text("""
            UPDATE tickets SET dispatched_at = now() - interval '5 hours', reply_due = now() + interval '1 hour'
            WHERE id IN (SELECT id FROM tickets WHERE status = 'in_progress' ORDER BY id LIMIT :k)"""),
            {"k": args.due},
        )
        s.execute(
            text(
                "UPDATE escalation_due SET next_at = now() - interval '1 second' WHERE ticket_id IN "
                "(SELECT id FROM tickets WHERE status = 'in_progress' ORDER BY id LIMIT :k)"
            ),
            {"k": args.due},
        )
        s.commit()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        stats, sweep_s = _timed(profiler.runcall, service.run_sweep, sm)
        profiler.dump_stats(args.profile)
    else:
        stats, sweep_s = _timed(service.run_sweep, sm)
    delivered, deliver_s = _timed(channels.deliver_due, sm)
    out.update(
        sweep_due_seconds=round(sweep_s, 3),
        sweep_due_tickets=stats.tickets,
        sweep_due_fired=stats.fired,
        sweep_tickets_per_second=round(stats.tickets / sweep_s) if sweep_s else None,
        deliver_seconds=round(deliver_s, 3),
        delivered=delivered.sent,
    )
    if args.burst_only:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        _drop(args.keep)
        return

    # Deadline → notice: level-1 moments spread over the next 10 s, a beat-like loop every interval.
    with sm() as s:
        ids = [
            r[0]
            for r in s.execute(
                text("SELECT id FROM tickets WHERE status = 'in_progress' ORDER BY id DESC LIMIT :k"), {"k": args.due}
            )
        ]
        now = utcnow()
        for i, tid in enumerate(ids):
            offset = 10.0 * i / max(1, len(ids))
            s.execute(
                text("""
                UPDATE tickets SET dispatched_at = :now - interval '80 seconds' + :off * interval '1 second',
                    reply_due = :now + interval '20 seconds' + :off * interval '1 second' WHERE id = :id"""),
                {"now": now, "off": offset, "id": tid},
            )
            s.execute(text("UPDATE escalation_due SET next_at = :at WHERE ticket_id = :id"), {"at": now, "id": tid})
        s.commit()
    # The first pass evaluates them all (as after the change that set these deadlines).
    service.run_sweep(sm)
    end = time.monotonic() + 13.0
    sweeps: list[float] = []
    while time.monotonic() < end:
        t0 = time.monotonic()
        service.run_sweep(sm)
        callbacks.process_due(sm)
        channels.deliver_due(sm)
        sweeps.append(time.monotonic() - t0)
        time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    with sm() as s:
        delays = [
            row[0]
            for row in s.execute(
                text("""
            SELECT EXTRACT(EPOCH FROM (m.sent_at - r.due_at)) FROM escalation_records r
            JOIN notification_messages m ON m.record_id = r.id
            WHERE r.ticket_id = ANY(:ids) AND r.trigger = 'reply_80pct' AND m.status = 'sent'"""),
                {"ids": ids},
            )
        ]
    delays = sorted(float(d) for d in delays)
    out.update(
        notices=len(delays),
        notice_delay_p50_s=round(statistics.median(delays), 3) if delays else None,
        notice_delay_p95_s=round(delays[int(len(delays) * 0.95) - 1], 3) if delays else None,
        notice_delay_max_s=round(max(delays), 3) if delays else None,
        loop_sweep_median_ms=round(statistics.median(sweeps) * 1000, 1),
        loop_sweep_max_ms=round(max(sweeps) * 1000, 1),
        target_sweep_below_s=1.0,
        target_delay_below_s=args.interval + 5,
    )
    print(json.dumps(out, ensure_ascii=False, indent=1))
    _drop(args.keep)


def _drop(keep: bool) -> None:
    if keep:
        return
    from pgdb import drop_database

    drop_database(DB_NAME)


if __name__ == "__main__":
    main()
