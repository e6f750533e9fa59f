"""督办演练 (drill): time limits in seconds, so that a ticket left alone climbs levels 1 to 5 in
about a minute (with HOTLINE_DRILL=1 the sweep runs every second)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.enums import AppealType, Channel, DepartmentKind, LimitKind, LimitUnit, TicketStatus
from hotline.models import Department, TimeLimitPolicy
from hotline.orgs import get_system_user
from hotline.timelimits import ensure_default_policies

# 签收 8 s, 回复 20 s: level 1 at 8 s (签收 overdue), 2 at 20 s, 3 at 30 s, 4 at 40 s, 5 at 50 s
# with the ladder's after_seconds (escalation/default.yaml); 回访 at once.
DRILL_LIMITS = {
    LimitKind.sign: 8,
    LimitKind.reply: 20,
    LimitKind.return_window: 10,
    LimitKind.callback: 5,
}


def apply_drill_limits(session: Session) -> list[dict[str, Any]]:
    """Every sign/reply/return/callback limit in seconds (all types and urgencies)."""
    ensure_default_policies(session)
    changed = []
    kinds = [k.value for k in DRILL_LIMITS]
    for row in session.scalars(select(TimeLimitPolicy).where(TimeLimitPolicy.kind.in_(kinds))):
        row.amount = DRILL_LIMITS[LimitKind(row.kind)]
        row.unit = LimitUnit.seconds.value
        changed.append(
            {"kind": row.kind, "appeal_type": row.appeal_type, "urgency": row.urgency, "seconds": row.amount}
        )
    session.flush()
    return changed


def reset_limits(session: Session) -> int:
    """Back to the defaults of DOMAIN.md (rows in seconds are removed, then re-created)."""
    rows = session.scalars(select(TimeLimitPolicy).where(TimeLimitPolicy.unit == LimitUnit.seconds.value)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    ensure_default_policies(session)
    return len(rows)


def dispatch_drill_ticket(session: Session) -> str | None:
    """A ticket dispatched to the first functional department and then left alone."""
    dept = session.scalar(
        select(Department)
        .where(Department.kind == DepartmentKind.functional.value, Department.active.is_(True))
        .order_by(Department.id)
    )
    if dept is None:
        return None
    system = get_system_user(session)
    ticket = lifecycle.register_ticket(
        session,
        system,
        lifecycle.NewAppeal(
            title="【督办演练】小区路灯损坏无人维修",
            content="督办演练工单：派单后无人签收、无人办理，观察五级督办逐级升级。",
            appeal_type=AppealType.help,
            channel=Channel.web,
            category="城市管理",
        ),
    )
    if ticket.status == TicketStatus.registered:  # (the dispatch rules may have routed it already)
        lifecycle.dispatch_ticket(session, ticket, system, version=None, primary_department_id=dept.id, note="督办演练")
    return ticket.number


def run_drill(session: Session, *, reset: bool = False, ticket: bool = True) -> dict[str, Any]:
    if reset:
        return {"reset_rows": reset_limits(session)}
    result: dict[str, Any] = {"limits": apply_drill_limits(session)}
    if ticket:
        result["ticket"] = dispatch_drill_ticket(session)
    return result
