"""HTTP routes of the dashboards under /api/v1/dashboards (thin: the figures come from the modules).

Every route answers supervisors and admins for the whole city and a department head for their
department and the units below it; everyone else gets 403. Every table route has its .xlsx twin
under ``/api/v1/dashboards/export/``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse

from dashboards import charts, exports, hot_topics_store, kpis, ranking
from dashboards.definitions import catalogue
from dashboards.period import Period, parse_month, parse_period
from dashboards.schemas import SettingsIn
from dashboards.scope import OrgTree, Scope, require_city, require_viewer, resolve_scope
from dashboards.wallboard import broadcaster, snapshot
from hotline.auth import get_current_user, get_stream_user, require_roles
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import Role
from hotline.errors import NotFound
from hotline.models import User
from hotline.runtime_settings import write_setting
from hotline.schemas import MONTH_PATTERN
from hotline.streams import while_signed_in

router = APIRouter(prefix="/api/v1/dashboards", tags=["dashboards"])
DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(get_current_user)]
Admin = Annotated[User, Depends(require_roles(Role.admin))]


@dataclass
class View:
    """What a dashboard request asks for: a period, a scope the user may see, the tree."""

    session: Session
    user: User
    org: OrgTree
    scope: Scope
    period: Period


def view(
    session: DB,
    user: CurrentUser,
    period: Annotated[str, Query(description="day | week | month | custom")] = "month",
    day: Annotated[date | None, Query(alias="date", description="a day inside the period (today)")] = None,
    first: Annotated[date | None, Query(description="custom: first day")] = None,
    last: Annotated[date | None, Query(description="custom: last day (included)")] = None,
    department_id: Annotated[int | None, Query(description="a department and the units below it")] = None,
) -> View:
    require_viewer(user)
    org = OrgTree.load(session)
    return View(session, user, org, resolve_scope(org, user, department_id), parse_period(period, day, first, last))


def month_view(
    session: DB,
    user: CurrentUser,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM (this month)")] = None,
    department_id: int | None = None,
) -> View:
    require_viewer(user)
    org = OrgTree.load(session)
    return View(session, user, org, resolve_scope(org, user, department_id), parse_month(month))


ViewDep = Annotated[View, Depends(view)]
MonthDep = Annotated[View, Depends(month_view)]


@router.get("/definitions")
def definitions(user: CurrentUser) -> dict[str, Any]:
    """Every KPI's definition, the counting rule (归属规则), the score and the ranking."""
    require_viewer(user)
    return catalogue()


@router.get("/kpis")
def kpi_overview(v: ViewDep) -> dict[str, Any]:
    """The KPIs of the period and scope, each with its value, numerator, denominator and definition."""
    return kpis.overview(v.session, v.period, v.scope, utcnow())


@router.get("/trend")
def trend(v: ViewDep) -> dict[str, Any]:
    """受理量, 接通率, 按时办结率, 满意率 and the score per day (per week or month for long periods)."""
    return kpis.trend(v.session, v.period, v.scope, utcnow())


@router.get("/mix")
def mix(v: ViewDep) -> dict[str, Any]:
    """Tickets of the period by 业务领域, 诉求类型, channel and urgency."""
    return charts.mixes(v.session, v.period, v.scope)


@router.get("/districts")
def districts(v: ViewDep) -> dict[str, Any]:
    """Tickets of the period by the district of their 主办 department."""
    return charts.by_district(v.session, v.period, v.scope, v.org)


@router.get("/overdue")
def overdue(v: ViewDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Open tickets past a deadline now, the longest overdue first (the period is not used)."""
    return charts.overdue(v.session, v.scope, v.org, utcnow(), limit=limit)


@router.get("/escalations")
def escalations(v: ViewDep, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Open tickets under 督办, counted by level, highest level first (the period is not used)."""
    return charts.escalation_board(v.session, v.scope, v.org, utcnow(), limit=limit)


@router.get("/ranking")
def department_ranking(v: MonthDep) -> dict[str, Any]:
    """The month's 红黑榜: the scope's units by the weighted score, with each one's figures."""
    return ranking.ranking(v.session, v.period, v.scope, v.org, utcnow())


@router.get("/hot-topics")
def hot_topics(v: ViewDep, limit: Annotated[int, Query(ge=1, le=50)] = 20) -> dict[str, Any]:
    """热点诉求 of the last 30 days as the last refresh found them (a department: those it handles)."""
    return hot_topics_store.current(v.session, v.scope, limit=limit)


@router.get("/wallboard")
def wallboard(session: DB, user: CurrentUser) -> dict[str, Any]:
    """数据大屏: the center now (supervisors and admins)."""
    require_city(user)
    return snapshot(session)


@router.get("/wallboard/stream")
async def wallboard_stream(
    request: Request, session: DB, user: Annotated[User, Depends(get_stream_user)]
) -> EventSourceResponse:
    """数据大屏, live: a ``snapshot`` event now and whenever the figures change (EventSource:
    ``?token=<bearer token>``)."""
    require_city(user)
    session.close()  # the stream lives for hours: give the request's connection back now

    async def events() -> AsyncIterator[dict[str, str]]:
        async for snap in broadcaster.changes():
            if await request.is_disconnected():
                break
            yield {"event": "snapshot", "data": json.dumps(snap, ensure_ascii=False)}

    return EventSourceResponse(while_signed_in(user, events()), ping=15)


# ---------------------------------------------------------------- exports

EXPORTS = ("kpis", "trend", "mix", "districts", "overdue", "escalations", "ranking", "hot-topics")


def _xlsx(content: bytes, filename: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=exports.XLSX, headers={"Content-Disposition": disposition})


def _export_sheets(name: str, v: View, now: datetime) -> tuple[str, list[tuple[str, Any, Any]]]:
    s, scope, period, org = v.session, v.scope, v.period, v.org
    if name == "kpis":
        return "指标", [("指标", exports.KPI_COLS, kpis.overview(s, period, scope, now)["kpis"])]
    if name == "trend":
        return "趋势", [("趋势", exports.TREND_COLS, kpis.trend(s, period, scope, now)["series"])]
    if name == "mix":
        mix = charts.mixes(s, period, scope)
        sheets = [("业务领域", "category"), ("诉求类型", "appeal_type"), ("渠道", "channel"), ("紧急程度", "urgency")]
        return "构成", [(title, exports.MIX_COLS, exports.with_shares(mix[key])) for title, key in sheets]
    if name == "districts":
        items = exports.with_shares(charts.by_district(s, period, scope, org)["items"])
        return "各区诉求", [("各区诉求", exports.MIX_COLS, items)]
    if name == "overdue":
        return "超期工单", [("超期工单", exports.TICKET_COLS, charts.overdue(s, scope, org, now, limit=5000)["items"])]
    if name == "escalations":
        board = charts.escalation_board(s, scope, org, now, limit=5000)
        levels = [{"name": lv["name"], "count": lv["count"]} for lv in board["levels"]]
        return "督办看板", [
            ("督办工单", exports.TICKET_COLS, board["items"]),
            ("各级数量", exports.MIX_COLS[:2], levels),
        ]
    if name == "ranking":
        result = ranking.ranking(s, parse_month(f"{period.first:%Y-%m}"), scope, org, now)
        return "红黑榜", [("红黑榜", exports.RANK_COLS, exports.ranked_rows(result))]
    items = hot_topics_store.current(s, scope, limit=50)["items"]
    return "热点诉求", [("热点诉求", exports.TOPIC_COLS, items)]


@router.get("/export/{name}.xlsx", response_class=Response)
def export_table(name: str, v: ViewDep) -> Response:
    """Any dashboard table as .xlsx (header row, number formats, header frozen), same parameters as
    the table's own route: ``kpis``, ``trend``, ``mix``, ``districts``, ``overdue``, ``escalations``,
    ``ranking`` (the month of ``date``), ``hot-topics``."""
    if name not in EXPORTS:
        raise NotFound(f"没有这张报表：{name}", "name", where="path")
    now = utcnow()
    title, sheets = _export_sheets(name, v, now)
    meta = {"period": v.period.to_dict(), "scope": v.scope.to_dict(), "now": now}
    content = exports.table_workbook(title, sheets, meta)
    return _xlsx(content, f"{title}-{v.scope.label}-{v.period.label}.xlsx")


@router.get("/report.xlsx", response_class=Response)
def monthly_report(v: MonthDep) -> Response:
    """月报: summary KPIs, the 红黑榜, category mix, trend, the 督办 and 通报 list, hot topics, with charts."""
    now = utcnow()
    s, period, scope = v.session, v.period, v.scope
    report = {
        "period": period.to_dict(),
        "scope": scope.to_dict(),
        "kpis": kpis.overview(s, period, scope, now),
        "ranking": ranking.ranking(s, period, scope, v.org, now),
        "mix": charts.mixes(s, period, scope),
        "trend": kpis.trend(s, period, scope, now),
        "records": charts.escalation_records(s, period, scope, v.org),
        "hot_topics": hot_topics_store.current(s, scope, limit=30),
    }
    return _xlsx(exports.monthly_report(report, now), f"12345热线月报-{scope.label}-{period.label}.xlsx")


@router.get("/settings")
def get_settings(session: DB, user: CurrentUser) -> dict[str, Any]:
    """三率 weights, the weight of 基本满意, the fewest cases a ranked unit needs."""
    require_viewer(user)
    return kpis.Settings.load(session).to_dict()


@router.put("/settings")
def put_settings(body: SettingsIn, session: DB, user: Admin) -> dict[str, Any]:
    write_setting(session, "dashboards.weights", body.weights.model_dump())
    write_setting(session, "dashboards.basic_satisfied_weight", body.basic_satisfied_weight)
    write_setting(session, "dashboards.ranking_min_cases", body.ranking_min_cases)
    session.commit()
    return kpis.Settings.load(session).to_dict()
