"""Every KPI's definition, written once: the API returns it beside each figure, the page shows it,
and the README's table is checked against it (tests/dashboards/test_definitions.py).

A KPI is computed from counters (sums the queries return, see :mod:`dashboards.kpis`); its value
is a ratio, an average or a count of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The one rule by which a ticket counts for a period and a department (归属规则).
ATTRIBUTION = (
    "归属规则：工单按受理（登记）时间计入统计周期；承办类指标计入工单现在的主办单位"
    "（已办结的即办结时的主办单位）及其各级上级单位。例外只有回退率：每个曾作为主办收到该工单的单位都计一次"
    "（被改派走的单位照样计其退单）。被并单的工单并入目标工单计算，自身不再计入承办类指标。"
    "话务指标按来电时间计入，只统计全市（来电不属于任何承办单位）。"
    "尚未到期又未完成的环节不计入分母（既非按时也非超时），到期仍未完成的计为超时。"
)


@dataclass(frozen=True)
class Kpi:
    key: str
    name: str
    group: str  # 话务 | 受理 | 承办 | 回访 | 三率
    unit: str  # "%" | "秒" | "件" | "通" | "分"
    definition: str
    numerator: str | None = None  # counter names; a count KPI has only ``numerator``
    denominator: str | None = None
    city_only: bool = False
    average: bool = False  # numerator / denominator is a mean, not a rate

    def value(self, counters: Mapping[str, float]) -> float | None:
        num = counters.get(self.numerator or "", 0.0)
        if self.denominator is None:
            return float(num)
        den = counters.get(self.denominator, 0.0)
        if not den:
            return None
        return round(num / den, 1) if self.average else round(num / den, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "group": self.group,
            "unit": self.unit,
            "definition": self.definition,
            "city_only": self.city_only,
        }


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "calls_offered",
        "呼入量",
        "话务",
        "通",
        "统计周期内开始、已结束的呼入电话数（通话中的不计）。",
        "offered",
        city_only=True,
    ),
    Kpi(
        "answer_rate",
        "接通率",
        "话务",
        "%",
        "人工接通的呼入电话 ÷ 呼入量（GB/T 33358：24小时接通率不低于95%）。",
        "answered",
        "offered",
        city_only=True,
    ),
    Kpi(
        "answer_rate_15s",
        "15秒接通率",
        "话务",
        "%",
        "排队等待不超过15秒即人工接通的电话 ÷ 呼入量；15秒内放弃的电话计入分母，不计入分子。",
        "answered_15s",
        "offered",
        city_only=True,
    ),
    Kpi(
        "avg_wait",
        "平均等待时长",
        "话务",
        "秒",
        "已接通电话从进入排队到接通的平均秒数。",
        "wait_sum",
        "wait_n",
        city_only=True,
        average=True,
    ),
    Kpi(
        "avg_talk",
        "平均通话时长",
        "话务",
        "秒",
        "已接通电话从接通到挂机的平均秒数。",
        "talk_sum",
        "talk_n",
        city_only=True,
        average=True,
    ),
    Kpi(
        "abandoned",
        "放弃呼叫",
        "话务",
        "通",
        "未接通即挂断的呼入电话数（无论等待多久）；每通生成一条漏接回拨任务。",
        "abandoned",
        city_only=True,
    ),
    Kpi(
        "abandoned_called_back",
        "漏接已回拨",
        "话务",
        "通",
        "本周期放弃呼叫中，漏接回拨任务已办结（已回拨）的数量。",
        "called_back",
        city_only=True,
    ),
    Kpi("tickets", "受理量", "受理", "件", "统计周期内登记的诉求（工单）数，各渠道合计。", "registered"),
    Kpi(
        "direct_rate",
        "直办率",
        "受理",
        "%",
        "话务员当场答复办结（直办）的诉求 ÷ 受理量。",
        "direct",
        "registered",
        city_only=True,
    ),
    Kpi(
        "sign_rate",
        "及时签收率",
        "承办",
        "%",
        "在签收时限内签收的次数 ÷ 应签收的次数；派单、驳回退单、重办各需签收一次，"
        "超过时限才签收或未签收即退单的计为超时。",
        "signs_on_time",
        "signs_decided",
    ),
    Kpi(
        "ontime_rate",
        "按时办结率",
        "承办",
        "%",
        "最近一次回复在办理时限内（含已批准的延期）的工单 ÷ 已回复或已超过时限的工单。",
        "reply_on_time",
        "reply_decided",
    ),
    Kpi(
        "return_rate",
        "回退率",
        "承办",
        "%",
        "退单过（一次或多次）的主办承办记录 ÷ 收到的主办承办记录；同一单位对同一工单退两次只计一件。",
        "returned_cases",
        "cases",
    ),
    Kpi(
        "reopen_rate",
        "重办率",
        "承办",
        "%",
        "被重办过的工单 ÷ 回复已通过审核、进入回访的工单。",
        "reopened",
        "callback_due",
    ),
    Kpi(
        "extension_rate",
        "延期率",
        "承办",
        "%",
        "获准延期的工单 ÷ 主办的工单。",
        "extended",
        "current",
    ),
    Kpi(
        "callback_rate",
        "回访率",
        "回访",
        "%",
        "有回访结果的工单 ÷ 进入回访的工单（联系不上而办结的计入分母）。",
        "surveyed",
        "callback_due",
    ),
    Kpi(
        "response_rate",
        "响应率",
        "三率",
        "%",
        "首次交办后在签收时限内作出响应（签收或说明理由退单）的承办记录 ÷ 已响应或已超过签收时限的承办记录。",
        "respond_on_time",
        "respond_decided",
    ),
    Kpi(
        "resolution_rate",
        "解决率",
        "三率",
        "%",
        "回访时诉求人表示“已解决”的工单 ÷ 回访中回答了是否解决的工单（以最近一次回访为准）。",
        "resolved_yes",
        "resolved_answered",
    ),
    Kpi(
        "satisfaction_rate",
        "满意率（承办单位）",
        "三率",
        "%",
        "对承办单位办理的评价：（满意 + 基本满意 × 基本满意权重）÷ 有评价的工单（以最近一次回访为准）。",
        "satisfied_points",
        "surveyed_rated",
    ),
    Kpi(
        "service_satisfaction_rate",
        "满意率（热线服务）",
        "回访",
        "%",
        "对12345热线自身服务的评价，与承办单位的满意率分开：（满意 + 基本满意 × 基本满意权重）÷ 有服务评价的工单。",
        "service_points",
        "service_rated",
    ),
)

SCORE_DEFINITION = (
    "综合得分 = 响应率 × 响应权重 + 解决率 × 解决权重 + 满意率（承办单位） × 满意权重（默认 30% / 35% / 35%，"
    "管理员可调），满分100分；三率中任一项无数据时不计分、不参加排名。"
)
RANKING_DEFINITION = (
    "月度红黑榜：各区和市直部门（各含其全部下级单位）按当月综合得分由高到低排序，前五名为红榜、后五名为黑榜；"
    "当月承办记录少于最少件数（默认10件）的单位不参加排名。"
)

BY_KEY = {k.key: k for k in KPIS}
THREE_RATES = {"response": "response_rate", "resolution": "resolution_rate", "satisfaction": "satisfaction_rate"}

# Settings (the ``settings`` table, namespaced): what an admin may change, and the defaults.
SETTING_DEFAULTS: dict[str, Any] = {
    "dashboards.weights": {"response": 30, "resolution": 35, "satisfaction": 35},
    "dashboards.basic_satisfied_weight": 1.0,
    "dashboards.ranking_min_cases": 10,
}


def score(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """The weighted 三率 score (0–100), or None when one of the three has no data."""
    total = sum(weights.values())
    parts = [(values.get(THREE_RATES[name]), weight) for name, weight in weights.items()]
    if total <= 0 or any(v is None for v, _w in parts):
        return None
    return round(sum(float(v) * w for v, w in parts if v is not None) / total * 100, 2)


def catalogue() -> dict[str, Any]:
    """Every definition, for the API and the page."""
    return {
        "attribution": ATTRIBUTION,
        "kpis": [k.to_dict() for k in KPIS],
        "score": SCORE_DEFINITION,
        "ranking": RANKING_DEFINITION,
    }
