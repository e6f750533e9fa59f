"""KPI counters from the database, and the KPIs of a period and scope computed from them.

Three queries serve any scope: calls (city-wide), intake per 主办 department (tickets), and
handling per department (``dashboard_cases``). A scope's counters are the sum over the
departments of its subtree (:class:`~dashboards.scope.OrgTree`), so the ranking's units and a
district cost no extra query. Definitions live in :mod:`dashboards.definitions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from dashboards import sources
from dashboards.definitions import BY_KEY, KPIS, SETTING_DEFAULTS, score
from dashboards.models import DashboardCase
from dashboards.period import Period, as_date, local_day
from dashboards.scope import Scope
from hotline.enums import Satisfaction
from hotline.models import Ticket
from hotline.runtime_settings import read_settings

Counters = Counter[str]
ANSWER_WITHIN_SECONDS = 15


def count_where(condition: ColumnElement[bool]) -> Any:
    """SQL: how many rows meet ``condition`` (portable: a SUM of CASE)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum(expr: Any) -> Any:
    return func.coalesce(func.sum(expr), 0)


@dataclass(frozen=True)
class Settings:
    weights: dict[str, float]
    basic_satisfied_weight: float
    ranking_min_cases: int

    @classmethod
    def load(cls, session: Session) -> Settings:
        raw = read_settings(session, SETTING_DEFAULTS)
        return cls(
            weights={k: float(v) for k, v in raw["dashboards.weights"].items()},
            basic_satisfied_weight=float(raw["dashboards.basic_satisfied_weight"]),
            ranking_min_cases=int(raw["dashboards.ranking_min_cases"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "basic_satisfied_weight": self.basic_satisfied_weight,
            "ranking_min_cases": self.ranking_min_cases,
        }


# ---------------------------------------------------------------- counters


def call_columns() -> list[Any]:
    c = sources.calls.c
    return [
        count_where(c.ended_at.is_not(None)).label("offered"),
        count_where(and_(c.ended_at.is_not(None), c.answered.is_(True))).label("answered"),
        count_where(and_(c.ended_at.is_not(None), c.answered.is_(True), c.wait_seconds <= ANSWER_WITHIN_SECONDS)).label(
            "answered_15s"
        ),
        count_where(and_(c.ended_at.is_not(None), c.abandoned.is_(True))).label("abandoned"),
        _sum(case((and_(c.answered.is_(True), c.wait_seconds.is_not(None)), c.wait_seconds), else_=0)).label(
            "wait_sum"
        ),
        count_where(and_(c.answered.is_(True), c.wait_seconds.is_not(None))).label("wait_n"),
        _sum(case((and_(c.answered.is_(True), c.talk_seconds.is_not(None)), c.talk_seconds), else_=0)).label(
            "talk_sum"
        ),
        count_where(and_(c.answered.is_(True), c.talk_seconds.is_not(None), c.ended_at.is_not(None))).label("talk_n"),
    ]


def call_counters(session: Session, start: datetime, end: datetime) -> Counters:
    """Calls that started in [start, end): the hotline's, so city-wide only."""
    c = sources.calls.c
    row = session.execute(select(*call_columns()).where(c.started_at >= start, c.started_at < end)).one()
    out: Counters = Counter({k: int(v) for k, v in row._mapping.items()})
    t = sources.callback_tasks.c  # a task's called_at is its call's arrival: no join with the calls
    out["called_back"] = int(
        session.scalar(select(func.count()).where(t.called_at >= start, t.called_at < end, t.status == "done")) or 0
    )
    return out


def intake_counters(session: Session, start: datetime, end: datetime) -> dict[int | None, Counters]:
    """Tickets registered in [start, end), per 主办 department now (None: never dispatched)."""
    rows = session.execute(
        select(
            Ticket.primary_department_id,
            func.count().label("registered"),
            count_where(Ticket.resolution == "direct").label("direct"),
        )
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .group_by(Ticket.primary_department_id)
    )
    return {r.primary_department_id: Counter(registered=r.registered, direct=int(r.direct)) for r in rows}


def case_columns(now: datetime) -> list[Any]:
    """Handling counters of ``dashboard_cases`` rows; open occasions past their deadline are late."""
    c = DashboardCase
    cur = c.current.is_(True)
    return [
        func.count().label("cases"),
        count_where(c.returns > 0).label("returned_cases"),
        _sum(c.returns).label("returns"),
        count_where(c.responded_on_time.is_(True)).label("respond_on_time"),
        count_where(or_(c.responded_on_time.is_not(None), c.respond_due < now)).label("respond_decided"),
        _sum(c.signs_on_time).label("signs_on_time"),
        (_sum(c.signs_on_time + c.signs_late) + count_where(c.sign_due < now)).label("signs_decided"),
        count_where(cur).label("current"),
        count_where(and_(cur, c.reply_on_time.is_(True))).label("reply_on_time"),
        count_where(and_(cur, or_(c.reply_on_time.is_not(None), c.reply_due < now))).label("reply_decided"),
        count_where(and_(cur, c.extensions > 0)).label("extended"),
        count_where(and_(cur, c.callback_due.is_(True))).label("callback_due"),
        count_where(and_(cur, c.callback_due.is_(True), c.satisfaction.is_not(None))).label("surveyed"),
        count_where(and_(cur, c.reopens > 0)).label("reopened"),
        count_where(and_(cur, c.satisfaction == Satisfaction.satisfied.value)).label("satisfied"),
        count_where(and_(cur, c.satisfaction == Satisfaction.basically_satisfied.value)).label("basic"),
        count_where(and_(cur, c.satisfaction == Satisfaction.unsatisfied.value)).label("unsatisfied"),
        count_where(and_(cur, c.callback_resolved.is_(True))).label("resolved_yes"),
        count_where(and_(cur, c.callback_resolved.is_not(None))).label("resolved_answered"),
        count_where(and_(cur, c.service_satisfaction == Satisfaction.satisfied.value)).label("service_satisfied"),
        count_where(and_(cur, c.service_satisfaction == Satisfaction.basically_satisfied.value)).label("service_basic"),
        count_where(and_(cur, c.service_satisfaction == Satisfaction.unsatisfied.value)).label("service_unsatisfied"),
    ]


def case_counters(session: Session, start: datetime, end: datetime, now: datetime) -> dict[int, Counters]:
    """Handling counters per department for tickets registered in [start, end)."""
    c = DashboardCase
    rows = session.execute(
        select(c.department_id, *case_columns(now))
        .where(c.registered_at >= start, c.registered_at < end, c.merged.is_(False))
        .group_by(c.department_id)
    )
    return {r.department_id: Counter({k: int(v) for k, v in r._mapping.items() if k != "department_id"}) for r in rows}


def in_scope(per_department: Mapping[Any, Counters], scope: Scope) -> Counters:
    """The sum of the departments' counters inside ``scope`` (the city: all, undispatched included)."""
    total: Counters = Counter()
    for department_id, counters in per_department.items():
        if scope.contains(department_id):
            total.update(counters)
    return total


def derive(counters: Counters, settings: Settings) -> Counters:
    """Counters that depend on settings: satisfaction points with 基本满意 weighted."""
    w = settings.basic_satisfied_weight
    out = Counter(counters)
    out["satisfied_points"] = counters["satisfied"] + w * counters["basic"]  # type: ignore[assignment]
    out["surveyed_rated"] = counters["satisfied"] + counters["basic"] + counters["unsatisfied"]
    out["service_points"] = counters["service_satisfied"] + w * counters["service_basic"]  # type: ignore[assignment]
    out["service_rated"] = counters["service_satisfied"] + counters["service_basic"] + counters["service_unsatisfied"]
    return out


# ---------------------------------------------------------------- KPIs


def values(counters: Counters, settings: Settings, *, city: bool) -> dict[str, float | None]:
    """Every KPI's value (None: no data, or not measured at this scope) and the weighted score."""
    full = derive(counters, settings)
    out: dict[str, float | None] = {k.key: (k.value(full) if city or not k.city_only else None) for k in KPIS}
    out["score"] = score(out, settings.weights)
    return out


def kpi_list(counters: Counters, settings: Settings, *, city: bool) -> list[dict[str, Any]]:
    """The KPIs with value, numerator and denominator, each beside its definition."""
    full = derive(counters, settings)
    vals = values(counters, settings, city=city)
    out = []
    for k in KPIS:
        applies = city or not k.city_only
        out.append(
            {
                **k.to_dict(),
                "value": vals[k.key],
                "numerator": full.get(k.numerator or "", 0) if applies else None,
                "denominator": (full.get(k.denominator, 0) if k.denominator else None) if applies else None,
                "applies": applies,
            }
        )
    return out


@dataclass
class PeriodCounters:
    """Every counter of a period, per department where that applies."""

    calls: Counters
    intake: dict[int | None, Counters]
    cases: dict[int, Counters]

    @classmethod
    def load(cls, session: Session, period: Period, now: datetime) -> PeriodCounters:
        return cls(
            call_counters(session, period.start, period.end),
            intake_counters(session, period.start, period.end),
            case_counters(session, period.start, period.end, now),
        )

    def for_scope(self, scope: Scope) -> Counters:
        total: Counters = Counter()
        if scope.is_city:
            total.update(self.calls)
        total.update(in_scope(self.intake, scope))
        total.update(in_scope(self.cases, scope))
        return total


def overview(session: Session, period: Period, scope: Scope, now: datetime) -> dict[str, Any]:
    """The KPIs of a period and scope, with the weighted score and the settings used."""
    settings = Settings.load(session)
    counters = PeriodCounters.load(session, period, now).for_scope(scope)
    vals = values(counters, settings, city=scope.is_city)
    return {
        "period": period.to_dict(),
        "scope": scope.to_dict(),
        "kpis": kpi_list(counters, settings, city=scope.is_city),
        "score": vals["score"],
        "settings": settings.to_dict(),
        "computed_at": now.isoformat(),
    }


def trend(session: Session, period: Period, scope: Scope, now: datetime) -> dict[str, Any]:
    """Per bucket (day, week or month): 受理量, 接通率, 按时办结率, 满意率 and the score."""
    settings = Settings.load(session)
    buckets = period.buckets()
    index = period.bucket_of_day()
    per_bucket: dict[int, Counters] = {i: Counter() for i in range(len(buckets))}

    def add(day: Any, counters: dict[str, Any]) -> None:
        i = index.get(as_date(day))
        if i is not None:
            per_bucket[i].update({k: int(v) for k, v in counters.items()})

    c = DashboardCase
    day = local_day(session, c.registered_at).label("day")
    cases = select(day, *case_columns(now)).where(
        c.registered_at >= period.start, c.registered_at < period.end, c.merged.is_(False)
    )
    if scope.ids is not None:
        cases = cases.where(c.department_id.in_(sorted(scope.ids)))
    for r in session.execute(cases.group_by(day)):
        add(r.day, {k: v for k, v in r._mapping.items() if k != "day"})
    day = local_day(session, Ticket.created_at).label("day")
    tickets = select(
        day, func.count().label("registered"), count_where(Ticket.resolution == "direct").label("direct")
    ).where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
    if scope.ids is not None:
        tickets = tickets.where(Ticket.primary_department_id.in_(sorted(scope.ids)))
    for r in session.execute(tickets.group_by(day)):
        add(r.day, {"registered": r.registered, "direct": r.direct})
    if scope.is_city:
        calls = sources.calls.c
        day = local_day(session, calls.started_at).label("day")
        for r in session.execute(
            select(day, *call_columns())
            .where(calls.started_at >= period.start, calls.started_at < period.end)
            .group_by(day)
        ):
            add(r.day, {k: v for k, v in r._mapping.items() if k != "day"})
    series = []
    for i, (label, start, _end) in enumerate(buckets):
        vals = values(per_bucket[i], settings, city=scope.is_city)
        series.append(
            {
                "label": label,
                "start": start.isoformat(),
                "tickets": int(per_bucket[i]["registered"]),
                "calls_offered": int(per_bucket[i]["offered"]) if scope.is_city else None,
                **{k: vals[k] for k in ("answer_rate", "answer_rate_15s", "ontime_rate", "satisfaction_rate", "score")},
            }
        )
    names = {k: BY_KEY[k].name for k in ("answer_rate", "answer_rate_15s", "ontime_rate", "satisfaction_rate")}
    return {"period": period.to_dict(), "scope": scope.to_dict(), "series": series, "names": names}
