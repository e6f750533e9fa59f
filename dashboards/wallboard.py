"""The wallboard (数据大屏): the center now, in one snapshot (no citizen's name or number in it).

``snapshot`` reads the calls waiting and talking and the agents' states (the rows the telephony
bridge keeps current), today's calls and tickets, the overdue count, the open 督办 by level and the
newest hot topics. ``Broadcaster`` computes it once per interval for every stream of an API process
and tells each stream only when something changed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboards import sources
from dashboards.charts import LEVEL_NAMES, OPEN
from dashboards.definitions import BY_KEY
from dashboards.kpis import call_counters, count_where
from dashboards.models import HotTopic
from dashboards.period import day_start, today
from hotline.db import get_sessionmaker, utcnow
from hotline.models import Ticket
from hotline.service import overdue_clause

AGENT_STATES = {
    "idle": "示闲",
    "paused": "示忙",
    "ringing": "振铃",
    "on_call": "通话中",
    "wrapup": "话后",
    "logged_out": "未登录",
}
INTERVAL_SECONDS = 2.0


def _agents(session: Session, now: datetime) -> dict[str, int]:
    a = sources.agents.c
    counts: Counter[str] = Counter()
    for state, paused, wrapup_until in session.execute(select(a.state, a.paused, a.wrapup_until)):
        if state == "wrapup" and wrapup_until is not None and wrapup_until <= now:
            state = "idle"
        elif paused and state in ("idle", "paused"):
            state = "paused"
        counts[state if state in AGENT_STATES else "idle"] += 1
    return {state: counts.get(state, 0) for state in AGENT_STATES}


def _queue(session: Session, now: datetime) -> dict[str, int]:
    c = sources.calls.c
    live = c.ended_at.is_(None)
    waiting = session.execute(
        select(func.count(), func.min(c.enter_queue_at)).where(
            live, c.answered.is_(False), c.enter_queue_at.is_not(None)
        )
    ).one()
    talking = session.scalar(select(func.count()).where(live, c.answered.is_(True))) or 0
    oldest = waiting[1]
    return {
        "waiting": int(waiting[0]),
        "longest_wait_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0,
        "talking": int(talking),
    }


def snapshot(session: Session, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    start = day_start(today())
    calls = call_counters(session, start, now)
    offered = calls["offered"]
    tickets_today, direct_today = session.execute(
        select(func.count(), count_where(Ticket.resolution == "direct")).where(Ticket.created_at >= start)
    ).one()
    overdue = session.scalar(select(func.count()).select_from(Ticket).where(overdue_clause(now))) or 0
    levels = dict(
        session.execute(
            select(Ticket.escalation_level, func.count())
            .where(Ticket.escalation_level > 0, Ticket.status.in_(OPEN))
            .group_by(Ticket.escalation_level)
        ).all()
    )
    topics = session.scalars(select(HotTopic).order_by(HotTopic.rank).limit(5)).all()
    return {
        "at": now.isoformat(),
        "queue": _queue(session, now),
        "agents": _agents(session, now),
        "agent_labels": AGENT_STATES,
        "today": {
            "calls_offered": offered,
            "calls_answered": calls["answered"],
            "calls_abandoned": calls["abandoned"],
            "answer_rate": round(calls["answered"] / offered, 4) if offered else None,
            "answer_rate_15s": round(calls["answered_15s"] / offered, 4) if offered else None,
            "tickets": int(tickets_today),
            "direct": int(direct_today),
        },
        "answer_rate_15s_definition": BY_KEY["answer_rate_15s"].definition,
        "overdue": int(overdue),
        "escalations": [{"level": lv, "name": LEVEL_NAMES[lv], "count": int(levels.get(lv, 0))} for lv in range(1, 6)],
        "hot_topics": [
            {"title": t.title, "place": t.place, "heat": t.heat, "size": t.size, "rising": t.rising} for t in topics
        ],
    }


def _fingerprint(snap: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in snap.items() if k != "at"}, sort_keys=True, ensure_ascii=False)


class Broadcaster:
    """One snapshot per interval for all of a process's wallboard streams (computed in a thread)."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._snap: dict[str, Any] | None = None
        self._taken = 0.0

    def latest(self) -> dict[str, Any]:
        with self._lock:
            if self._snap is None or time.monotonic() - self._taken >= self.interval:
                with get_sessionmaker()() as session:
                    self._snap = snapshot(session)
                self._taken = time.monotonic()
            return self._snap

    async def changes(self) -> Any:
        """Yield a snapshot now and each time it changes (checked every interval)."""
        last = ""
        while True:
            snap = await asyncio.to_thread(self.latest)
            mark = _fingerprint(snap)
            if mark != last:
                last = mark
                yield snap
            await asyncio.sleep(self.interval)


broadcaster = Broadcaster()
