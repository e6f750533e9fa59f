"""回退率: per department, tickets received as 主办 and sent back, from the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Department, TimelineEvent


def return_rates(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    within: int | None = None,
) -> list[dict[str, Any]]:
    """Per department: tickets received as 主办, 退单, accepted and rejected 退单, and the 回退率.

    From the timeline (全程留痕), so any period can be asked; ``within`` limits to a subtree.
    """
    query = select(TimelineEvent.action, TimelineEvent.data).where(
        TimelineEvent.action.in_(("dispatch", "accept_return", "return", "reject_return"))
    )
    if since is not None:
        query = query.where(TimelineEvent.at >= since)
    if until is not None:
        query = query.where(TimelineEvent.at < until)
    stats: dict[int, dict[str, int]] = {}

    def bump(dept: Any, key: str) -> None:
        if isinstance(dept, int):
            row = stats.setdefault(dept, {"received": 0, "returned": 0, "accepted": 0, "rejected": 0})
            row[key] += 1

    for action, data in session.execute(query):
        data = data or {}
        if action == "dispatch":
            bump(data.get("primary_department_id"), "received")
        elif action == "accept_return":
            bump(data.get("primary_department_id"), "received")
            bump(data.get("from_department_id"), "accepted")
        elif action == "return":
            bump(data.get("department_id"), "returned")
        elif action == "reject_return":
            bump(data.get("department_id"), "rejected")
    rows = session.execute(select(Department.id, Department.code, Department.name, Department.path)).all()
    allowed: set[int] | None = None
    if within is not None:
        prefix = next((r.path for r in rows if r.id == within), None)
        allowed = {r.id for r in rows if prefix and r.path.startswith(prefix)}
    out = []
    for r in rows:
        if r.id not in stats or (allowed is not None and r.id not in allowed):
            continue
        s = stats[r.id]
        out.append(
            {
                "department_id": r.id,
                "code": r.code,
                "name": r.name,
                **s,
                "return_rate": round(s["returned"] / s["received"], 4) if s["received"] else 0.0,
            }
        )
    return sorted(out, key=lambda x: (-x["return_rate"], x["code"]))
