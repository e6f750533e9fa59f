"""The monthly department ranking (红黑榜): units by the weighted 三率 score, top five and bottom five.

The city ranks its top-level units (the districts and the city's bureaus, each with everything
below it); a department head's scope ranks the units directly below their department.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dashboards.definitions import RANKING_DEFINITION, SCORE_DEFINITION
from dashboards.kpis import PeriodCounters, Settings, kpi_list, values
from dashboards.period import Period
from dashboards.scope import OrgTree, Scope, Unit

LIST_SIZE = 5
FIGURES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "sign_rate",
    "ontime_rate",
    "return_rate",
    "reopen_rate",
    "extension_rate",
    "callback_rate",
)


def units_ranked(org: OrgTree, scope: Scope) -> list[Unit]:
    if scope.department is None:
        return org.ranked_units()
    below = [u for u in org.units.values() if u.parent_id == scope.department.id]
    return sorted(below, key=lambda u: u.path)


def ranking(session: Session, period: Period, scope: Scope, org: OrgTree, now: datetime) -> dict[str, Any]:
    settings = Settings.load(session)
    counters = PeriodCounters.load(session, period, now)
    rows: list[dict[str, Any]] = []
    for unit in units_ranked(org, scope):
        unit_scope = Scope(unit, org.subtree(unit.id))
        unit_counters = counters.for_scope(unit_scope)
        vals = values(unit_counters, settings, city=False)
        cases = int(unit_counters["cases"])
        rows.append(
            {
                "department_id": unit.id,
                "code": unit.code,
                "name": unit.name,
                "level": unit.level,
                "cases": cases,
                "tickets": int(unit_counters["registered"]),
                "score": vals["score"],
                "eligible": vals["score"] is not None and cases >= settings.ranking_min_cases,
                "figures": {k: vals[k] for k in FIGURES},
                "kpis": kpi_list(unit_counters, settings, city=False),
            }
        )

    def order(row: dict[str, Any]) -> tuple[float, float, float, str]:  # best first
        figures = row["figures"]
        return (
            -(row["score"] or 0.0),
            -(figures["satisfaction_rate"] or 0.0),
            -(figures["response_rate"] or 0.0),
            row["code"],
        )

    eligible = sorted((r for r in rows if r["eligible"]), key=order)
    for rank, row in enumerate(eligible, start=1):
        row["rank"] = rank
    others = sorted((r for r in rows if not r["eligible"]), key=lambda r: str(r["code"]))
    for row in others:
        row["rank"] = None
    red = eligible[:LIST_SIZE]
    black = list(reversed(eligible[LIST_SIZE:]))[:LIST_SIZE]
    return {
        "period": period.to_dict(),
        "scope": scope.to_dict(),
        "definition": RANKING_DEFINITION,
        "score_definition": SCORE_DEFINITION,
        "settings": settings.to_dict(),
        "red": red,
        "black": black,
        "rows": eligible + others,
    }
