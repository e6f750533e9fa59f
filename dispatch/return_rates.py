"""回退率: per department (tickets received as 主办 and sent back) and per rule of the 派单目录, from the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.models import DispatchRule
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


def rule_return_rates(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """回退率 per rule of the 派单目录: of the dispatches (派单, 直派, 改派) a rule decided, how many
    the department sent back — a rule that keeps sending tickets to the wrong place shows itself.

    A 退单 counts against the rule of the ticket's latest dispatch before it (the rule code is in
    the dispatch event's ``reasons``, written by every dispatch dispatch makes). Dispatches that no
    rule decided (a dispatcher's own choice, 兜底, the model) are grouped under ``rule_code`` None."""
    query = (
        select(TimelineEvent.ticket_id, TimelineEvent.action, TimelineEvent.data)
        .where(TimelineEvent.action.in_(("dispatch", "accept_return", "return")))
        .order_by(TimelineEvent.ticket_id, TimelineEvent.id)
    )
    if since is not None:
        query = query.where(TimelineEvent.at >= since)
    if until is not None:
        query = query.where(TimelineEvent.at < until)
    stats: dict[str | None, dict[str, int]] = {}
    last_rule: dict[int, str | None] = {}
    for ticket_id, action, data in session.execute(query):
        data = data or {}
        if action in ("dispatch", "accept_return"):
            reasons = data.get("reasons") or {}
            code = reasons.get("rule_code") if reasons.get("source") == "rule" else None
            last_rule[ticket_id] = code
            row = stats.setdefault(code, {"dispatched": 0, "auto": 0, "returned": 0})
            row["dispatched"] += 1
            row["auto"] += reasons.get("outcome") in ("auto_dispatched", "held")
        elif action == "return" and ticket_id in last_rule:
            stats[last_rule[ticket_id]]["returned"] += 1
    names = {code: name for code, name in session.execute(select(DispatchRule.code, DispatchRule.name))}
    out = [
        {
            "rule_code": code,
            "rule_name": names.get(code) if code else "（非规则派单：人工、兜底或模型）",
            **s,
            "return_rate": round(s["returned"] / s["dispatched"], 4) if s["dispatched"] else 0.0,
        }
        for code, s in stats.items()
    ]
    return sorted(out, key=lambda x: (-x["return_rate"], -x["dispatched"], x["rule_code"] or ""))
