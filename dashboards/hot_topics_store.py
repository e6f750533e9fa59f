"""Hot topics on the product's tickets: refreshed from the window's appeals, kept, and read by scope."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dashboards import sources
from dashboards.hot_topics import Appeal, Topic, cluster
from dashboards.models import HotTopic, HotTopicRun
from dashboards.period import local_tz
from dashboards.scope import Scope
from hotline.enums import DepartmentLevel
from hotline.models import Department, Ticket

WINDOW_DAYS = 30  # the appeals a refresh looks at
KEEP = 50  # topics kept per refresh


def gazetteer(session: Session) -> list[str]:
    """Place names the center knows: the dispatch gazetteer's and its streets' and communities' names."""
    names = set(session.scalars(select(sources.places.c.name)))
    names.update(
        session.scalars(
            select(Department.name).where(Department.level.in_([DepartmentLevel.street, DepartmentLevel.community]))
        )
    )
    return sorted(names)


def appeals(session: Session, since: datetime, until: datetime) -> list[Appeal]:
    """The window's appeals (every ticket registered in it, whatever became of it)."""
    tz = local_tz()
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.created_at,
            Ticket.title,
            Ticket.content,
            Ticket.address,
            Ticket.citizen_id,
            Ticket.primary_department_id,
        ).where(Ticket.created_at >= since, Ticket.created_at < until)
    )
    return [
        Appeal(
            id=r.id,
            day=r.created_at.astimezone(tz).date(),
            title=r.title,
            text=r.content,
            address=r.address,
            citizen=r.citizen_id,
            department_id=r.primary_department_id,
        )
        for r in rows
    ]


def refresh(session: Session, now: datetime, *, window_days: int = WINDOW_DAYS) -> HotTopicRun:
    """Cluster the window's appeals and replace the kept topics (in the caller's transaction)."""
    started = time.perf_counter()
    batch = appeals(session, now - timedelta(days=window_days), now)
    topics = cluster(batch, gazetteer=gazetteer(session))[:KEEP]
    session.execute(delete(HotTopic))
    session.add_all(_row(rank, topic, now) for rank, topic in enumerate(topics, start=1))
    run = HotTopicRun(
        started_at=now,
        window_days=window_days,
        appeals=len(batch),
        clusters=len(topics),
        seconds=round(time.perf_counter() - started, 2),
    )
    session.add(run)
    session.flush()
    return run


def _row(rank: int, topic: Topic, now: datetime) -> HotTopic:
    return HotTopic(
        rank=rank,
        title=topic.title[:200],
        place=(topic.place or None) and topic.place[:200],
        keywords=topic.keywords,
        heat=topic.heat,
        heat_parts=topic.heat_parts,
        size=topic.size,
        citizens=topic.citizens,
        this_week=topic.this_week,
        last_week=topic.last_week,
        rising=topic.rising,
        first_day=topic.first,
        last_day=topic.last,
        ticket_ids=[int(i) for i in topic.ids],
        department_ids=topic.department_ids,
        refreshed_at=now,
    )


def current(session: Session, scope: Scope, *, limit: int = 20) -> dict[str, Any]:
    """The kept topics a scope sees (a department's: those with members it handles), hottest first."""
    rows = session.scalars(select(HotTopic).order_by(HotTopic.rank)).all()
    run = session.scalars(select(HotTopicRun).order_by(HotTopicRun.id.desc()).limit(1)).first()
    items = []
    for row in rows:
        if scope.ids is not None and not scope.ids.intersection(row.department_ids or []):
            continue
        items.append(topic_out(row, session))
        if len(items) >= limit:
            break
    return {
        "scope": scope.to_dict(),
        "refreshed_at": run.started_at.isoformat() if run else None,
        "window_days": run.window_days if run else WINDOW_DAYS,
        "appeals": run.appeals if run else 0,
        "items": items,
    }


def topic_out(row: HotTopic, session: Session) -> dict[str, Any]:
    numbers = dict(session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(row.ticket_ids[:200]))).all())
    return {
        "id": row.id,
        "rank": row.rank,
        "title": row.title,
        "place": row.place,
        "keywords": row.keywords,
        "heat": row.heat,
        "heat_parts": row.heat_parts,
        "size": row.size,
        "citizens": row.citizens,
        "this_week": row.this_week,
        "last_week": row.last_week,
        "rising": row.rising,
        "first": row.first_day.isoformat(),
        "last": row.last_day.isoformat(),
        "tickets": [{"ticket_id": i, "number": numbers.get(i)} for i in row.ticket_ids[:200]],
    }
