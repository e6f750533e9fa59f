"""Every KPI of November 2026 against figures worked out by hand from tests/dashboards/seed.py,
on PostgreSQL and SQLite; the facts table kept by the hook equals the one rebuilt from the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dashboards import charts, facts, kpis, ranking
from dashboards.models import DashboardCase
from dashboards.period import parse_period
from dashboards.scope import OrgTree, Scope
from hotline.models import Setting
from hotline.runtime_settings import write_setting
from tests.conftest import Org
from tests.dashboards.seed import NOW, seed_november

NOVEMBER = parse_period("month", date(2026, 11, 15))

# Worked out by hand (see seed.py): 12 tickets registered in November, 7 cases of 6 tickets.
CITY = {
    "calls_offered": 5.0,  # C1–C5; C6 is December's, C7 has not ended
    "answer_rate": 0.6,  # C1, C2, C3
    "answer_rate_15s": 0.4,  # C1 (5 s), C2 (15 s); not C3 (16 s), not C4 (abandoned after 14 s)
    "avg_wait": 12.0,  # (5 + 15 + 16) / 3
    "avg_talk": 200.0,  # (100 + 200 + 300) / 3
    "abandoned": 2.0,  # C4, C5
    "abandoned_called_back": 1.0,  # C4's task is done
    "tickets": 12.0,  # T1–T8, T11–T14 (not T10 of Oct 31 23:30, not T9 of December)
    "direct_rate": round(2 / 12, 4),  # T1, T2
    "sign_rate": 0.625,  # on time: T5, T6@zjj, T7 again, T8, T12 = 5 of 8 (late: T6@cgj 2nd, T7 1st, T11 never)
    "ontime_rate": 0.6,  # T5, T6, T8 of 5 decided (T12 late, T11 overdue; T7's new deadline ahead)
    "return_rate": round(1 / 7, 4),  # T6@cgj (twice, counted once) of 7 cases (T4 merged: none)
    "reopen_rate": 0.2,  # T7 of 5 in 回访 (T5, T6, T7, T8, T12)
    "extension_rate": round(1 / 6, 4),  # T7 of 6 current cases
    "callback_rate": 0.8,  # T5, T6, T7, T8 of 5 (T12 closed unreachable)
    "response_rate": round(5 / 7, 4),  # late: T7 (signed at 12:00 for 11:10), T11 (never)
    "resolution_rate": 0.75,  # T5, T6, T8 yes; T7 no (its latest 回访)
    "satisfaction_rate": 0.75,  # 满意 T5, T8 + 基本满意 T6 of 4 (T7 不满意)
    "service_satisfaction_rate": 1.0,  # 满意 T5, T6 + 基本满意 T7 of 3 (T8 gave none)
}
# 东城区 (dc, 和平街道, 新苑社区): T5 at the street, T11 at the community (T4 merged away).
DISTRICT = {
    "tickets": 3.0,  # T4, T5, T11 (a merged ticket is still an appeal registered)
    "sign_rate": 0.5,
    "ontime_rate": 0.5,
    "response_rate": 0.5,
    "return_rate": 0.0,
    "callback_rate": 1.0,
    "satisfaction_rate": 1.0,
    "resolution_rate": 1.0,
    "reopen_rate": 0.0,
    "extension_rate": 0.0,
    "answer_rate": None,  # calls and 直办 are the hotline's, city-wide only
    "direct_rate": None,
}


def by_key(overview: dict[str, Any]) -> dict[str, Any]:
    return {k["key"]: k["value"] for k in overview["kpis"]}


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Org]]:
    """November seeded once per backend for the module; the tests only read (settings restored)."""
    from hotline.db import get_sessionmaker
    from tests.conftest import _prepare

    url = request.getfixturevalue("pg_database" if request.param == "postgresql" else "sqlite_database")
    org = _prepare(url, tmp_path_factory.mktemp("november"))
    session = get_sessionmaker()()
    with pytest.MonkeyPatch.context() as monkeypatch:
        seed_november(session, org, monkeypatch)
    yield session, org
    session.close()


@contextmanager
def changed_settings(session: Session, values: dict[str, Any]) -> Iterator[None]:
    for key, value in values.items():
        write_setting(session, key, value)
    session.commit()
    try:
        yield
    finally:
        session.execute(delete(Setting).where(Setting.key.in_(list(values))))
        session.commit()


def test_every_kpi_of_the_month_city_wide(city: tuple[Session, Org]) -> None:
    session, _org = city
    overview = kpis.overview(session, NOVEMBER, Scope(None, None), NOW)
    assert by_key(overview) == CITY
    # 30/35/35 of 5/7, 0.75, 0.75
    assert overview["score"] == round((5 / 7 * 30 + 0.75 * 35 + 0.75 * 35), 2) == 73.93
    assert {k["key"]: (k["numerator"], k["denominator"]) for k in overview["kpis"]}["sign_rate"] == (5, 8)


def test_the_weight_of_basically_satisfied_and_the_score_weights_are_settings(city: tuple[Session, Org]) -> None:
    session, _org = city
    weights = {"response": 20, "resolution": 40, "satisfaction": 40}
    with changed_settings(session, {"dashboards.basic_satisfied_weight": 0.8, "dashboards.weights": weights}):
        values = kpis.overview(session, NOVEMBER, Scope(None, None), NOW)
    got = by_key(values)
    assert got["satisfaction_rate"] == round((2 + 0.8) / 4, 4)
    assert got["service_satisfaction_rate"] == round((2 + 0.8) / 3, 4)
    assert values["score"] == round(5 / 7 * 20 + 0.75 * 40 + 0.7 * 40, 2)


def test_a_district_counts_its_streets_and_communities(city: tuple[Session, Org]) -> None:
    session, org = city
    tree = OrgTree.load(session)
    dc = Scope(tree.units[org.dept["dc"]], tree.subtree(org.dept["dc"]))
    got = by_key(kpis.overview(session, NOVEMBER, dc, NOW))
    assert {k: got[k] for k in DISTRICT} == DISTRICT
    assert kpis.overview(session, NOVEMBER, dc, NOW)["score"] == 85.0  # 0.5·30 + 1·35 + 1·35


def test_the_monthly_ranking(city: tuple[Session, Org]) -> None:
    session, org = city
    tree = OrgTree.load(session)
    result = ranking.ranking(session, NOVEMBER, Scope(None, None), tree, NOW)
    assert [r["code"] for r in result["rows"] if r["rank"]] == []  # nobody has the default 10 cases
    with changed_settings(session, {"dashboards.ranking_min_cases": 1}):
        result = ranking.ranking(session, NOVEMBER, Scope(None, None), tree, NOW)
        dc = Scope(tree.units[org.dept["dc"]], tree.subtree(org.dept["dc"]))
        below = ranking.ranking(session, NOVEMBER, dc, tree, NOW)
    # Only the test org's departments: the run's PostgreSQL database keeps departments other tests made.
    ranked = [(r["code"], r["score"], r["rank"]) for r in result["rows"] if r["code"] in org.dept]
    # 市城管局: T6 answered in time (sent back), T8 all good; 东城区 85; 市住建局: T6 basic, T7 bad.
    # 西城区 (T12) has no 回访 answer: no 解决率, no score, not ranked. The hotline is never ranked.
    assert ranked == [("cgj", 100.0, 1), ("dc", 85.0, 2), ("zjj", 50.0, 3), ("xc", None, None)]
    assert [r["code"] for r in result["red"]] == ["cgj", "dc", "zjj"]
    assert result["black"] == []  # fewer than six ranked: nobody is both
    zjj = next(r for r in result["rows"] if r["code"] == "zjj")
    assert zjj["figures"]["response_rate"] == 0.5 and zjj["figures"]["reopen_rate"] == 0.5
    # A district's ranking compares the units below it.
    assert [(r["code"], r["score"]) for r in below["rows"] if r["code"] in org.dept] == [("dc.hp", 85.0)]


def test_trend_mix_districts_overdue(city: tuple[Session, Org]) -> None:
    session, org = city
    tree = OrgTree.load(session)
    scope = Scope(None, None)
    series = kpis.trend(session, NOVEMBER, scope, NOW)["series"]
    assert len(series) == 30 and sum(d["tickets"] for d in series) == 12
    nov5 = series[4]
    assert nov5["label"] == "11-05" and nov5["tickets"] == 1 and nov5["calls_offered"] == 1
    assert nov5["answer_rate"] == 0.0  # C4 abandoned
    mix = charts.mixes(session, NOVEMBER, scope)
    assert {i["name"]: i["count"] for i in mix["appeal_type"]} == {"投诉": 7, "咨询": 4, "求助": 1}
    districts = {i["name"]: i["count"] for i in charts.by_district(session, NOVEMBER, scope, tree)["items"]}
    assert districts == {"未派单": 5, "东城区": 3, "市直部门": 3, "西城区": 1}
    late = charts.overdue(session, scope, tree, NOW)  # open now, whatever the period: T10 never signed either
    assert [i["number"] for i in late["items"]] == [_number(session, "T10"), _number(session, "T11")]
    assert late["total"] == 2 and late["items"][1]["department"] == "新苑社区"
    dc = Scope(tree.units[org.dept["dc"]], tree.subtree(org.dept["dc"]))
    assert charts.overdue(session, dc, tree, NOW)["total"] == 1
    xc = Scope(tree.units[org.dept["xc"]], tree.subtree(org.dept["xc"]))
    assert charts.overdue(session, xc, tree, NOW)["total"] == 0


def _number(session: Session, key: str) -> str:
    from hotline.models import Ticket

    return session.scalars(select(Ticket.number).where(Ticket.title == f"{key} 诉求")).one()


def test_the_hooks_facts_equal_the_facts_rebuilt_from_the_timeline(city: tuple[Session, Org]) -> None:
    session, _org = city

    def snapshot() -> list[dict[str, Any]]:
        rows = session.scalars(select(DashboardCase).order_by(DashboardCase.ticket_id, DashboardCase.department_id))
        return [facts.as_row(r) for r in rows]

    kept = snapshot()
    assert len(kept) == 10  # T4–T8, T11, T12 (T6 twice) and T9, T10 outside November
    session.expunge_all()
    assert facts.rebuild(session) == 10
    session.commit()
    session.expunge_all()
    assert snapshot() == kept
    # An installation upgraded with tickets but no facts yet gets them once (hotline db upgrade).
    assert facts.backfill_if_empty(session) == 0
    session.execute(delete(DashboardCase))
    assert facts.backfill_if_empty(session) == 10
    session.commit()
    assert snapshot() == kept
