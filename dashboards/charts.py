"""What the dashboard draws besides the KPIs: the mixes, appeals by district, the overdue list and
the escalation board by level. Nothing here carries a citizen's name or number."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from dashboards import sources
from dashboards.period import Period
from dashboards.scope import OrgTree, Scope
from hotline.enums import APPEAL_TYPE_LABELS, OPEN_STATUSES, URGENCY_LABELS, Channel
from hotline.lifecycle import STATUS_LABELS
from hotline.models import Ticket
from hotline.service import overdue_clause

CHANNEL_LABELS = {
    Channel.phone: "电话",
    Channel.web: "网站",
    Channel.wechat: "微信",
    Channel.app: "移动应用",
    Channel.transfer_110: "110转办",
    Channel.grid: "网格员上报",
    Channel.province: "省平台转办",
}
LEVEL_NAMES = {1: "预警/催办", 2: "督办单", 3: "黄牌督办", 4: "红牌督办/约谈", 5: "通报/问责"}
OPEN = [s.value for s in OPEN_STATUSES]


def _scoped(query: Any, scope: Scope) -> Any:
    """``query`` restricted to tickets whose 主办 lies in ``scope``."""
    if scope.ids is None:
        return query
    return query.where(Ticket.primary_department_id.in_(sorted(scope.ids)))


def _label(mapping: dict[Any, str], value: str | None) -> str:
    if value is None:
        return "未分类"
    for key, label in mapping.items():
        if key.value == value:
            return label
    return value


def mixes(session: Session, period: Period, scope: Scope) -> dict[str, Any]:
    """Tickets registered in the period by 业务领域, 诉求类型, channel and urgency."""
    out: dict[str, Any] = {"period": period.to_dict(), "scope": scope.to_dict()}
    window = (Ticket.created_at >= period.start, Ticket.created_at < period.end)
    for name, column, labels in (
        ("category", Ticket.category, None),
        ("appeal_type", Ticket.appeal_type, APPEAL_TYPE_LABELS),
        ("channel", Ticket.channel, CHANNEL_LABELS),
        ("urgency", Ticket.urgency, URGENCY_LABELS),
    ):
        rows = session.execute(_scoped(select(column, func.count()).where(*window).group_by(column), scope)).all()
        items = [
            {"key": value, "name": (value or "未分类") if labels is None else _label(labels, value), "count": n}
            for value, n in rows
        ]
        out[name] = sorted(items, key=lambda i: (-i["count"], i["name"]))
    return out


def by_district(session: Session, period: Period, scope: Scope, org: OrgTree) -> dict[str, Any]:
    """Tickets registered in the period by the district (区/县) of their 主办 department; city-level
    departments' tickets under 市直部门, tickets never dispatched (直办, 转办, …) under 未派单."""
    rows = session.execute(
        _scoped(
            select(Ticket.primary_department_id, func.count())
            .where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
            .group_by(Ticket.primary_department_id),
            scope,
        )
    ).all()
    counts: Counter[str] = Counter()
    for department_id, n in rows:
        if department_id is None or department_id not in org.units:
            counts["未派单"] += n
            continue
        district = org.district_of(department_id)
        counts[district.name if district else "市直部门"] += n
    items = [{"name": name, "count": n} for name, n in counts.most_common()]
    return {"period": period.to_dict(), "scope": scope.to_dict(), "items": items}


def due_now(now: datetime) -> Any:
    """SQL: the deadline that matters now: 签收 while a dispatched ticket is late to sign, else the reply."""
    late_to_sign = and_(Ticket.status == "dispatched", Ticket.sign_due < now)
    return case((late_to_sign, Ticket.sign_due), else_=Ticket.reply_due)


def _ticket_row(t: Any, org: OrgTree, now: datetime) -> dict[str, Any]:
    due = t.due
    return {
        "ticket_id": t.id,
        "number": t.number,
        "title": t.title,
        "status": t.status,
        "status_label": STATUS_LABELS.get(t.status, t.status),  # type: ignore[call-overload]
        "category": t.category,
        "appeal_type": _label(APPEAL_TYPE_LABELS, t.appeal_type),
        "urgency": _label(URGENCY_LABELS, t.urgency),
        "department_id": t.primary_department_id,
        "department": org.units[t.primary_department_id].name if t.primary_department_id in org.units else None,
        "due": due.isoformat() if due else None,
        "overdue_hours": round((now - due).total_seconds() / 3600, 1) if due and due < now else None,
        "escalation_level": t.escalation_level,
    }


TICKET_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.title,
    Ticket.status,
    Ticket.category,
    Ticket.appeal_type,
    Ticket.urgency,
    Ticket.primary_department_id,
    Ticket.escalation_level,
)


def _ticket_columns(now: datetime) -> tuple[Any, ...]:
    return (*TICKET_COLUMNS, due_now(now).label("due"))


def overdue(session: Session, scope: Scope, org: OrgTree, now: datetime, *, limit: int = 100) -> dict[str, Any]:
    """Open tickets past their 签收 or reply deadline now, the longest overdue first."""
    where = overdue_clause(now)
    total = session.scalar(_scoped(select(func.count()).select_from(Ticket).where(where), scope)) or 0
    rows = session.execute(
        _scoped(select(*_ticket_columns(now)).where(where), scope).order_by(due_now(now), Ticket.id).limit(limit)
    ).all()
    return {"scope": scope.to_dict(), "total": total, "items": [_ticket_row(r, org, now) for r in rows]}


def escalation_board(
    session: Session, scope: Scope, org: OrgTree, now: datetime, *, limit: int = 100
) -> dict[str, Any]:
    """Open tickets under 督办 by level (the level is on the ticket row; escalation/ writes it)."""
    open_escalated = (Ticket.escalation_level > 0, Ticket.status.in_(OPEN))
    counts: dict[int, int] = dict(
        session.execute(
            _scoped(
                select(Ticket.escalation_level, func.count()).where(*open_escalated).group_by(Ticket.escalation_level),
                scope,
            )
        ).all()
    )
    rows = session.execute(
        _scoped(select(*_ticket_columns(now)).where(*open_escalated), scope)
        .order_by(Ticket.escalation_level.desc(), Ticket.reply_due.asc().nulls_last(), Ticket.id)
        .limit(limit)
    ).all()
    levels = [{"level": lv, "name": LEVEL_NAMES[lv], "count": int(counts.get(lv, 0))} for lv in range(1, 6)]
    return {"scope": scope.to_dict(), "levels": levels, "items": [_ticket_row(r, org, now) for r in rows]}


def escalation_records(session: Session, period: Period, scope: Scope, org: OrgTree) -> list[dict[str, Any]]:
    """The month's 督办 (level 2 and up) and 通报 (level 5) records, for the 月报."""
    r = sources.escalation_records.c
    rows = session.execute(
        select(
            r.id,
            r.level,
            r.trigger,
            r.cause,
            r.created_at,
            r.note,
            Ticket.number,
            Ticket.title,
            Ticket.primary_department_id,
        )
        .join(Ticket, Ticket.id == r.ticket_id)
        .where(r.kind == "escalation", r.level >= 2, r.created_at >= period.start, r.created_at < period.end)
        .order_by(r.level.desc(), r.created_at)
    ).all()
    out = []
    for row in rows:
        if not scope.contains(row.primary_department_id):
            continue
        out.append(
            {
                "level": row.level,
                "level_name": LEVEL_NAMES.get(row.level, str(row.level)),
                "notice": row.level == 5,
                "number": row.number,
                "title": row.title,
                "department": org.units[row.primary_department_id].name
                if row.primary_department_id in org.units
                else None,
                "trigger": row.trigger,
                "at": row.created_at.isoformat(),
                "note": row.note,
            }
        )
    return out
