"""The load test: a realistic mix against the production stack, with a check of what it left behind.

Starts the production processes on a database of its own (a fresh PostgreSQL database, created on
``--pg-admin``'s server and dropped at the end unless ``--keep``): ``hotline api --workers W``,
``hotline worker``, ``hotline beat`` and ``hotline bridge``, all on Redis (``--redis``), with a
supervisor that starts again whatever process ends (what ``restart: unless-stopped`` does in
docker-compose.yml). The bridge listens to the replaying AMI server (telephony.amiserver) run in
this process at a city's call rate (``--calls-per-second``; Guangzhou's 12345 averages about 1.2),
which writes Asterisk's CDR and queue log into the database as Asterisk does.

Then, for ``--duration`` seconds (default 600), on loopback only, with httpx:

* agents (话务员) register appeals from the project's corpus (the form's ``/classify`` first);
* dispatchers open their queue and 派单 what the rules left to them;
* each department's 联络员 opens the inbox, 签收 and 回复;
* supervisors list (first page, each status, overdue, a district with its units), search
  (``q=噪音``, ``q=解放路 噪音``) and open the 督办 board.

Time limits are in seconds by default (``hotline drill``'s: 签收 8 s, 回复 20 s) so that reminders
and the five 督办 levels fall due during the run; ``--real-limits`` keeps DOMAIN.md's.

At the end (after ``--settle`` seconds for the beat, the sweep and the bridge to finish) it checks:
every acknowledged registration exists exactly once (and nothing is left unrouted), every reminder
and escalation due is recorded once and its notices sent, every call played has one record (and
an abandoned one its one 漏接回拨 task). Prints one JSON object: throughput and p50/p95/p99 per
operation, the load average, the processes' restarts, the check.

    .venv/bin/python benchmarks/loadtest.py [--duration 600] [--api-workers 2] [--agents 16] \\
        [--redis redis://127.0.0.1:6379/9] [--pg-admin postgresql://postgres@127.0.0.1:5432/test]

``benchmarks/faults.py`` runs the same load with faults injected (Redis and PostgreSQL restarted,
workers killed, the AMI connection dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import PLACES, wait_http  # noqa: E402
from benchmarks.pgdb import database_url, drop_database, fresh_database  # noqa: E402
from tests.browser import free_port  # noqa: E402

PASSWORD = "loadtest-password-123"
SEARCHES = ["噪音", "解放路 噪音", "路灯", "拖欠工资"]
MARK = "LT"  # registrations carry 「LT-<run>-<n>」 in their title: the check finds each one by it


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


# ---------------------------------------------------------------- the stack


@dataclass
class Service:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0


class Stack:
    """The production processes, each started again when it ends (the supervisor's job)."""

    def __init__(self, env: dict[str, str], log_dir: Path, api_workers: int, celery_concurrency: int) -> None:
        self.env = env
        self.log_dir = log_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        hotline = str(Path(sys.executable).with_name("hotline"))
        self.services = [
            Service("api", [hotline, "api", "--port", str(self.port), "--workers", str(api_workers)]),
            Service("worker", [hotline, "worker", "--concurrency", str(celery_concurrency)]),
            Service("beat", [hotline, "beat"]),
            Service("bridge", [hotline, "bridge"]),
        ]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="supervisor", daemon=True)

    def _start(self, svc: Service) -> None:
        log = open(self.log_dir / f"{svc.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        svc.proc = subprocess.Popen(svc.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def start(self) -> None:
        for svc in self.services:
            self._start(svc)
        self._thread.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            for svc in self.services:
                if svc.proc is not None and svc.proc.poll() is not None and not self._stopping.is_set():
                    svc.restarts += 1
                    time.sleep(1.0)  # docker's restart delay, about
                    self._start(svc)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for svc in self.services:
            if svc.proc is not None and svc.proc.poll() is None:
                svc.proc.send_signal(signal.SIGTERM)
        for svc in self.services:
            if svc.proc is None:
                continue
            try:
                svc.proc.wait(20)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait(5)


# ---------------------------------------------------------------- preparing the city


def prepare(db_url: str, agents: int, real_limits: bool) -> dict[str, Any]:
    """Schema, the demo city (示范市), and a login per agent, dispatcher, supervisor and department."""
    from sqlalchemy import select

    from escalation.drill import apply_drill_limits
    from hotline.auth import hash_password
    from hotline.db import get_sessionmaker
    from hotline.demo.seed import seed_demo
    from hotline.migrate import upgrade
    from hotline.models import Department, User
    from hotline.timelimits import ensure_default_policies
    from hotline.wiring import after_upgrade, install, seed_demo_extras

    upgrade(db_url)
    install()
    with get_sessionmaker()() as s:
        ensure_default_policies(s)
        after_upgrade(s)
        seed_demo(s, password=PASSWORD)
        seed_demo_extras(s)
        if not real_limits:
            apply_drill_limits(s)
        hashed = hash_password(PASSWORD)
        center = s.scalar(select(Department).where(Department.code == "hotline"))
        assert center is not None
        logins: dict[str, list[str]] = {"agent": [], "dispatcher": [], "supervisor": [], "department": []}
        for role, count in (("agent", agents), ("dispatcher", 2), ("supervisor", 2)):
            for i in range(count):
                name = f"lt_{role}{i:03d}"
                s.add(User(username=name, display_name=name, password_hash=hashed, role=role, department_id=center.id))
                logins[role].append(name)
        for dept in s.scalars(select(Department).where(Department.id != center.id, Department.active.is_(True))):
            name = f"lt_dept{dept.id}"
            s.add(
                User(username=name, display_name=name, password_hash=hashed, role="dept_handler", department_id=dept.id)
            )
            logins["department"].append(name)
        district = s.scalar(select(Department.id).where(Department.code == "dc"))
        s.commit()
    return {"logins": logins, "district_id": district}


def corpus_rows() -> list[dict[str, str]]:
    with (REPO / "classifier" / "corpus" / "default_corpus.csv").open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["title"].strip() and r["text"].strip()]


# ---------------------------------------------------------------- the load


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    acknowledged: dict[str, int] = field(default_factory=dict)  # marker -> ticket id
    attempted: set[str] = field(default_factory=set)

    def ok(self, op: str, seconds: float) -> None:
        self.latencies[op].append(seconds * 1000)

    def error(self, op: str, why: str) -> None:
        self.errors[op][why] += 1

    def table(self, duration: float) -> dict[str, Any]:
        out = {}
        for op in sorted(set(self.latencies) | set(self.errors)):
            values = sorted(self.latencies.get(op, []))
            out[op] = {
                "ok": len(values),
                "per_s": round(len(values) / duration, 2),
                "p50_ms": round(percentile(values, 50), 1),
                "p95_ms": round(percentile(values, 95), 1),
                "p99_ms": round(percentile(values, 99), 1),
                "max_ms": round(values[-1], 1) if values else 0.0,
                "errors": dict(self.errors.get(op, {})),
            }
        return out


class Load:
    """The actors; each loops until ``deadline``, pacing itself with its own interval."""

    def __init__(self, base: str, plan: dict[str, Any], args: argparse.Namespace, run_id: str) -> None:
        self.base = base
        self.plan = plan
        self.args = args
        self.run_id = run_id
        self.stats = Stats()
        self.rows = corpus_rows()
        self.rng = random.Random(args.seed)
        self.counter = 0
        self.deadline = 0.0
        self.started = 0.0
        self.tokens: dict[str, str] = {}

    async def call(
        self, client: httpx.AsyncClient, op: str, method: str, url: str, user: str, **kw: Any
    ) -> httpx.Response | None:
        """One request, timed; None (and an error counted) unless it answered 2xx."""
        token = self.tokens.get(user) or await self.login(client, user)
        if not token:
            self.stats.error(op, "not_logged_in")
            return None
        started = time.perf_counter()
        try:
            r = await client.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
        except httpx.HTTPError as exc:
            self.stats.error(op, type(exc).__name__)
            return None
        if r.status_code == 401:
            self.tokens.pop(user, None)
        if r.status_code >= 300:
            self.stats.error(op, str(r.status_code))
            return None
        self.stats.ok(op, time.perf_counter() - started)
        return r

    async def login(self, client: httpx.AsyncClient, user: str) -> str | None:
        """A bearer token (one try; the password hash costs CPU on purpose, so logins are few)."""
        started = time.perf_counter()
        try:
            r = await client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=120)
        except httpx.HTTPError as exc:
            self.stats.error("login", type(exc).__name__)
            return None
        if r.status_code != 200:
            self.stats.error("login", str(r.status_code))
            return None
        self.stats.ok("login", time.perf_counter() - started)
        self.tokens[user] = r.json()["access_token"]
        return self.tokens[user]

    async def login_all(self, client: httpx.AsyncClient, users: list[str], timeout: float = 600) -> None:
        """Every actor logs in before the clock starts, a few at a time."""
        gate = asyncio.Semaphore(4)
        end = time.monotonic() + timeout

        async def one(user: str) -> None:
            async with gate:
                while user not in self.tokens and time.monotonic() < end:
                    if await self.login(client, user) is None:
                        await asyncio.sleep(1)

        await asyncio.gather(*(one(u) for u in users))

    async def paced(self, interval: float, step: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(self.rng.random() * interval)  # actors out of step
        while time.monotonic() < self.deadline:
            started = time.monotonic()
            try:
                await step()
            except Exception as exc:  # noqa: BLE001 - an actor never dies of one bad answer
                self.stats.error("actor", type(exc).__name__)
            await asyncio.sleep(max(0.05, interval - (time.monotonic() - started)))

    # -- agents: the form proposes, the agent registers
    async def agent(self, client: httpx.AsyncClient, user: str) -> None:
        async def step() -> None:
            row = self.rows[self.counter % len(self.rows)]
            self.counter += 1
            marker = f"{MARK}-{self.run_id}-{self.counter}"
            text = row["text"][:2000]
            await self.call(
                client,
                "classify",
                "POST",
                "/api/v1/classify",
                user,
                json={"title": row["title"][:150], "content": text},
            )
            body = {
                "channel": "phone",
                "phone": f"139{self.rng.randrange(10**8):08d}",
                "contact_name": "市民",
                "title": f"{row['title'][:150]}「{marker}」",
                "content": text,
                "address": self.rng.choice(PLACES) or None,
                "appeal_type": "complaint",
            }
            self.stats.attempted.add(marker)
            r = await self.call(client, "register", "POST", "/api/v1/tickets", user, json=body)
            if r is not None and r.status_code == 201:
                self.stats.acknowledged[marker] = r.json()["id"]

        await self.paced(self.args.agent_interval, step)

    # -- dispatchers: the queue, then 派单 of what waits
    async def dispatcher(self, client: httpx.AsyncClient, user: str) -> None:
        async def step() -> None:
            r = await self.call(client, "dispatch_queue", "GET", "/api/v1/dispatch/queue?limit=20", user)
            items = [i["ticket"] for i in (r.json() if r is not None else [])]
            waiting = [t for t in items if t.get("status") == "registered"]
            if waiting:
                t = self.rng.choice(waiting)
                await self.call(
                    client,
                    "dispatch",
                    "POST",
                    f"/api/v1/tickets/{t['id']}/dispatch",
                    user,
                    json={"version": t["version"]},
                )

        await self.paced(self.args.dispatcher_interval, step)

    # -- departments: inbox, 签收, 回复
    async def department(self, client: httpx.AsyncClient, user: str) -> None:
        async def step() -> None:
            for status, op, path, extra in (
                ("dispatched", "sign", "sign", {}),
                (
                    "in_progress",
                    "reply",
                    "reply",
                    {"handling": "已现场核实并处理。", "resolved": True, "public_answer": "已处理，感谢反映。"},
                ),
            ):
                r = await self.call(client, "dept_inbox", "GET", f"/api/v1/tickets?status={status}&page_size=20", user)
                items = r.json()["items"] if r is not None else []
                if items:
                    t = self.rng.choice(items)
                    await self.call(
                        client,
                        op,
                        "POST",
                        f"/api/v1/tickets/{t['id']}/{path}",
                        user,
                        json={"version": t["version"], **extra},
                    )

        await self.paced(self.args.department_interval, step)

    # -- supervisors: lists, search, the 督办 board
    async def supervisor(self, client: httpx.AsyncClient, user: str) -> None:
        district = self.plan["district_id"]
        reads = [
            ("list", "/api/v1/tickets?page_size=20"),
            ("list_status", "/api/v1/tickets?status=dispatched&page_size=20"),
            ("list_status", "/api/v1/tickets?status=closed&page_size=20"),
            ("list_overdue", "/api/v1/tickets?overdue=true&page_size=20"),
            ("list_district", f"/api/v1/tickets?department_id={district}&page_size=20"),
            ("escalation_board", "/api/v1/escalation/board"),
        ] + [("search", f"/api/v1/tickets?q={q}&page_size=20") for q in SEARCHES]

        async def step() -> None:
            op, url = self.rng.choice(reads)
            await self.call(client, op, "GET", url, user)

        await self.paced(self.args.supervisor_interval, step)

    async def run(self, duration: float, on_start: Callable[[], None] = lambda: None) -> None:
        logins = self.plan["logins"]
        # keep-alive shorter than uvicorn's 5 s: a connection the server is closing is never reused
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=4)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as client:
            await self.login_all(client, [u for users in logins.values() for u in users])
            self.stats = Stats()  # the logins are no part of the figures
            self.started = time.monotonic()
            self.deadline = self.started + duration
            on_start()
            actors = (
                [self.agent(client, u) for u in logins["agent"]]
                + [self.dispatcher(client, u) for u in logins["dispatcher"]]
                + [self.department(client, u) for u in logins["department"]]
                + [self.supervisor(client, u) for u in logins["supervisor"]]
            )
            await asyncio.gather(*actors)


# ---------------------------------------------------------------- calls


class Calls:
    """The replaying AMI server (Asterisk, in this process) and the calls it plays."""

    def __init__(self, db_url: str, per_second: float) -> None:
        from hotline.db import make_engine
        from telephony.amiserver import AMIServer, AMIServerThread, AMIUser
        from telephony.records_writer import RecordWriter

        self.secret = uuid.uuid4().hex
        self.engine = make_engine(db_url)
        self.server = AMIServerThread(
            AMIServer(users={"hotline": AMIUser(self.secret)}, records=RecordWriter(self.engine))
        ).start()
        self.per_second = per_second
        self.plays: list[Any] = []
        self._task: Any = None

    @property
    def port(self) -> int:
        return int(self.server.server.port)

    def start(self, duration: float) -> None:
        async def player() -> None:
            from telephony import scenarios

            server = self.server.server
            end = time.monotonic() + duration
            i = 0
            while time.monotonic() < end and self.per_second > 0:
                scen = scenarios.load(scenarios.INBOUND[i % len(scenarios.INBOUND)])
                agents = [str(8001 + (i * 2 + k) % 200) for k in range(scen.placeholders.get("a", 0))]
                self.plays.append(server.play(scen, numbers=[f"1380{i % 10_000_000:07d}"], agents=agents))
                i += 1
                await asyncio.sleep(1.0 / self.per_second)

        self._task = asyncio.run_coroutine_threadsafe(player(), self.server.loop)

    def drop(self) -> None:
        """The network between the bridge and Asterisk drops (every AMI connection, no Logoff)."""
        self.server.call(self.server.server.drop_clients)

    def wait(self, timeout: float) -> None:
        if self._task is not None:
            self._task.result(timeout)
        end = time.monotonic() + timeout
        while time.monotonic() < end and any(not p.done.is_set() for p in self.plays):
            time.sleep(0.5)

    def linkedids(self) -> set[str]:
        out: set[str] = set()
        for p in self.plays:
            out |= set(p.linkedids)
        return out

    def stop(self) -> None:
        self.server.stop()
        self.engine.dispose()


# ---------------------------------------------------------------- the check


def check(db_url: str, stats: Stats, linkedids: set[str], run_id: str, grace: float) -> dict[str, Any]:
    """What must hold after any run, faults or not."""
    from datetime import timedelta

    from sqlalchemy import func, select, text
    from sqlalchemy.orm import Session

    from escalation import rules
    from escalation.models import EscalationRecord, NotificationMessage
    from escalation.service import _claimed
    from hotline.db import make_engine, utcnow
    from hotline.models import Ticket

    engine = make_engine(db_url)
    out: dict[str, Any] = {}
    with Session(engine) as s:
        # registrations: every acknowledged one exactly once, under the id the agent was given
        prefix = f"%{MARK}-{run_id}-%"
        found: dict[str, list[int]] = defaultdict(list)
        for tid, title in s.execute(select(Ticket.id, Ticket.title).where(Ticket.title.like(prefix))):
            marker = title.rsplit("「", 1)[-1].rstrip("」")
            found[marker].append(tid)
        acked = stats.acknowledged
        out["registrations"] = {
            "acknowledged": len(acked),
            "missing": sum(1 for m in acked if not found.get(m)),
            "duplicated": sum(1 for m in found if len(found[m]) > 1),
            "wrong_id": sum(1 for m, tid in acked.items() if found.get(m) and acked[m] not in found[m]),
            "stored_unacknowledged": sum(1 for m in found if m not in acked),
            "unrouted": s.scalar(text("SELECT count(*) FROM dispatch_pending")),
        }
        # reminders and escalations: nothing due (as of `grace` ago) unclaimed, each claimed once, sent
        now = utcnow() - timedelta(seconds=grace)
        ctx = rules.Context.load(s)
        watched = s.scalars(select(Ticket).where(Ticket.status.in_(["dispatched", "in_progress", "awaiting_callback"])))
        tickets = list(watched)
        claimed = _claimed(s, [t.id for t in tickets])
        unsent_due = 0
        for t in tickets:
            done, _next = rules.evaluate(t, ctx, claimed.get(t.id, {}), now)
            unsent_due += len(done)
        dup_records = s.scalar(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM escalation_records GROUP BY ticket_id, level, cause, instance "
                "HAVING count(*) > 1) d"
            )
        )
        by_status = dict(
            s.execute(select(NotificationMessage.status, func.count()).group_by(NotificationMessage.status)).all()
        )
        out["escalation"] = {
            "records": s.scalar(select(func.count()).select_from(EscalationRecord)),
            "reminders": s.scalar(select(func.count()).where(EscalationRecord.kind == "reminder")),
            "escalations": s.scalar(select(func.count()).where(EscalationRecord.kind == "escalation")),
            "due_not_sent": unsent_due,
            "duplicated": dup_records,
            "records_without_notice": s.scalar(
                text(
                    "SELECT count(*) FROM escalation_records r WHERE r.recipients::text <> '[]' AND NOT EXISTS "
                    "(SELECT 1 FROM notification_messages m WHERE m.record_id = r.id)"
                )
            ),
            "notices": by_status,
            "sms_twice": s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT 1 FROM notification_sms_outbox "
                    "GROUP BY message_id HAVING count(*) > 1) d"
                )
            ),
        }
        # calls: one record each, ended; an abandoned one has its one 漏接回拨 task
        rows = s.execute(text("SELECT linkedid, ended_at IS NOT NULL, abandoned FROM telephony_calls")).all()
        records: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
        for linkedid, ended, abandoned in rows:
            records[linkedid].append((bool(ended), bool(abandoned)))
        played = [lid for lid in linkedids if lid]
        tasks: dict[str, int] = {
            str(lid): int(n)
            for lid, n in s.execute(text("SELECT linkedid, count(*) FROM telephony_callback_tasks GROUP BY linkedid"))
        }
        seen = [records[lid][0] for lid in played if records.get(lid)]  # (ended, abandoned) of each
        abandoned_ids = [lid for lid in played if records.get(lid) and records[lid][0][1]]
        out["calls"] = {
            "played": len(played),
            "missing": sum(1 for lid in played if lid not in records),
            "duplicated": sum(1 for lid in played if len(records.get(lid, [])) > 1),
            "not_ended": sum(1 for ended, _ab in seen if not ended),
            "abandoned": len(abandoned_ids),
            "abandoned_without_task": sum(1 for lid in abandoned_ids if not tasks.get(lid)),
            "tasks_twice": sum(1 for n in tasks.values() if n > 1),
        }
    engine.dispose()
    reg, esc, calls = out["registrations"], out["escalation"], out["calls"]
    notices_open = sum(n for st, n in esc["notices"].items() if st not in ("sent",))
    out["notices_not_sent"] = notices_open
    out["ok"] = not (
        reg["missing"]
        or reg["duplicated"]
        or reg["wrong_id"]
        or reg["unrouted"]
        or esc["due_not_sent"]
        or esc["duplicated"]
        or esc["records_without_notice"]
        or esc["sms_twice"]
        or notices_open
        or calls["missing"]
        or calls["duplicated"]
        or calls["not_ended"]
        or calls["abandoned_without_task"]
        or calls["tasks_twice"]
    )
    return out


# ---------------------------------------------------------------- a run


Fault = Callable[["Run"], None]


class Run:
    """One load run: database, stack, calls, load, faults at given moments, the check."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = uuid.uuid4().hex[:8]
        self.db_name = f"loadtest_{self.run_id}"
        self.db_url = database_url(self.db_name, args.pg_admin)
        self.work = Path(tempfile.mkdtemp(prefix="loadtest-"))
        self.faults_done: list[dict[str, Any]] = []
        self.stack: Stack | None = None
        self.calls: Calls | None = None

    def environment(self, ami_port: int, ami_secret: str) -> dict[str, str]:
        a = self.args
        return {
            **os.environ,
            "HOTLINE_DATABASE_URL": self.db_url,
            "HOTLINE_DATA_DIR": str(self.work / "data"),
            "HOTLINE_BROKER_URL": a.redis,
            "HOTLINE_RESULT_BACKEND": a.redis,
            "HOTLINE_REDIS_URL": a.redis,
            "HOTLINE_SECRET_KEY": "loadtest-secret-key-0123456789abcdef0123456789",
            "HOTLINE_LOG_LEVEL": "WARNING",
            "HOTLINE_DRILL": "0" if a.real_limits else "1",
            "HOTLINE_AMI_HOST": "127.0.0.1",
            "HOTLINE_AMI_PORT": str(ami_port),
            "HOTLINE_AMI_USERNAME": "hotline",
            "HOTLINE_AMI_SECRET": ami_secret,
        }

    def execute(self, faults: list[tuple[float, str, Fault]] | None = None) -> dict[str, Any]:
        import redis

        a = self.args
        fresh_database(self.db_name, a.pg_admin)
        (self.work / "data").mkdir()
        result: dict[str, Any] = {
            "duration_s": a.duration,
            "api_workers": a.api_workers,
            "celery_concurrency": a.celery_concurrency,
            "agents": a.agents,
            "calls_per_second": a.calls_per_second,
            "time_limits": "DOMAIN.md" if a.real_limits else "drill (签收 8 s, 回复 20 s)",
        }
        try:
            redis.Redis.from_url(a.redis).flushdb()
            self.calls = Calls(self.db_url, a.calls_per_second)
            env = self.environment(self.calls.port, self.calls.secret)
            os.environ.update({k: v for k, v in env.items() if k.startswith("HOTLINE_")})
            from hotline.settings import reset_settings_cache

            reset_settings_cache()
            plan = prepare(self.db_url, a.agents, a.real_limits)
            result["departments"] = len(plan["logins"]["department"])
            self.stack = Stack(env, self.work, a.api_workers, a.celery_concurrency)
            self.stack.start()
            wait_http(f"{self.stack.base}/healthz")
            load = Load(self.stack.base, plan, a, self.run_id)
            calls = self.calls

            def on_start() -> None:
                result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
                calls.start(a.duration)

            async def drive() -> None:
                async def injector() -> None:
                    while not load.started:
                        await asyncio.sleep(0.2)
                    for at, name, fault in sorted(faults or [], key=lambda f: f[0]):
                        await asyncio.sleep(max(0.0, load.started + at - time.monotonic()))
                        t0 = time.monotonic()
                        await asyncio.to_thread(fault, self)
                        self.faults_done.append(
                            {
                                "fault": name,
                                "at_s": round(t0 - load.started, 1),
                                "took_s": round(time.monotonic() - t0, 1),
                            }
                        )

                await asyncio.gather(load.run(a.duration, on_start), injector())

            asyncio.run(drive())
            elapsed = time.monotonic() - load.started
            result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            result["elapsed_s"] = round(elapsed, 1)
            result["operations"] = load.stats.table(elapsed)
            result["faults"] = self.faults_done
            # The calls in flight end, the beat routes, the sweep fires and the outbox drains: the
            # check is repeated until it holds or --settle-max runs out (a process restarted under
            # load may take a minute to load its models); how long that took is reported.
            self.calls.wait(120)
            ended = time.monotonic()
            time.sleep(a.settle)
            while True:
                outcome = check(self.db_url, load.stats, self.calls.linkedids(), self.run_id, grace=5.0)
                if outcome["ok"] or time.monotonic() - ended > a.settle_max:
                    break
                time.sleep(3)
            result["settled_after_s"] = round(time.monotonic() - ended, 1)
            result["restarts"] = {s.name: s.restarts for s in self.stack.services}
            result["check"] = outcome
        finally:
            if self.stack is not None:
                self.stack.stop()
            if self.calls is not None:
                self.calls.stop()
            if not a.keep:
                drop_database(self.db_name, a.pg_admin)  # the engines' cache emptied first
            else:
                from hotline.db import reset_engine_cache

                reset_engine_cache()
                result["database"] = self.db_url
            result["logs"] = str(self.work)
        return result


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--api-workers", type=int, default=2)
    ap.add_argument("--celery-concurrency", type=int, default=2)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--agent-interval", type=float, default=1.0, help="seconds between an agent's registrations")
    ap.add_argument("--dispatcher-interval", type=float, default=2.0)
    ap.add_argument("--department-interval", type=float, default=10.0, help="a department's inbox round")
    ap.add_argument("--supervisor-interval", type=float, default=1.0)
    ap.add_argument("--calls-per-second", type=float, default=1.2)
    ap.add_argument("--real-limits", action="store_true", help="DOMAIN.md's time limits (nothing falls due)")
    ap.add_argument("--settle", type=float, default=10.0, help="seconds before the first check after the load")
    ap.add_argument("--settle-max", type=float, default=300.0, help="longest wait for the check to hold")
    ap.add_argument("--redis", default=os.environ.get("HOTLINE_BENCH_REDIS", "redis://127.0.0.1:6379/9"))
    ap.add_argument(
        "--pg-admin", default=os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    return ap


def main() -> None:
    # a SIGTERM (timeout, Ctrl-C's cousin) unwinds like an exception: the stack is stopped, the database dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parser().parse_args()
    result = Run(args).execute()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    sys.exit(0 if result["check"]["ok"] else 1)


if __name__ == "__main__":
    main()
