"""Excel exports (openpyxl): every dashboard table as a real .xlsx — a header row, number formats,
the header frozen — and the 月报 workbook with its charts. Nothing personal is written."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from dashboards.definitions import catalogue
from dashboards.period import local_tz

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERCENT, COUNT, DECIMAL, SECONDS, DAY, MOMENT = "0.0%", "#,##0", "0.00", "0.0", "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
UNIT_FORMATS = {"%": PERCENT, "秒": SECONDS, "件": COUNT, "通": COUNT, "分": DECIMAL}


@dataclass(frozen=True)
class Col:
    header: str
    value: str | Callable[[dict[str, Any]], Any]
    fmt: str | Callable[[dict[str, Any]], str | None] | None = None
    width: int = 12

    def cell(self, row: dict[str, Any]) -> Any:
        value = self.value(row) if callable(self.value) else row.get(self.value)
        if isinstance(value, datetime):  # Excel has no time zones: local time
            return value.astimezone(local_tz()).replace(tzinfo=None)
        if isinstance(value, (list, tuple)):
            value = "、".join(str(v) for v in value)
        if isinstance(value, str):  # stored text may hold controls a worksheet cannot
            return ILLEGAL_CHARACTERS_RE.sub("", value)
        return value

    def format_of(self, row: dict[str, Any]) -> str | None:
        return self.fmt(row) if callable(self.fmt) else self.fmt


def write_table(ws: Worksheet, cols: Sequence[Col], rows: Iterable[dict[str, Any]], *, first_row: int = 1) -> int:
    """Header at ``first_row`` (bold, filled, frozen below), then the rows; returns the last row."""
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=first_row, column=j, value=col.header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[cell.column_letter].width = col.width
    r = first_row
    for r, row in enumerate(rows, start=first_row + 1):
        for j, col in enumerate(cols, start=1):
            cell = ws.cell(row=r, column=j, value=col.cell(row))
            if cell.data_type == "f":  # a citizen's "=..." is text, never a formula
                cell.data_type = "s"
            fmt = col.format_of(row)
            if fmt:
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    return r


def workbook_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _about(wb: Workbook, title: str, period: dict[str, Any] | None, scope: dict[str, Any], now: datetime) -> None:
    """A last sheet saying what the workbook is: period, scope, when, and the counting rule."""
    ws = wb.create_sheet("说明")
    rows = [("报表", title), ("范围", scope.get("label", ""))]
    if period:
        rows.append(("统计周期", period["label"]))
    rows += [
        ("生成时间", now.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M")),
        ("归属规则", catalogue()["attribution"]),
    ]
    write_table(ws, [Col("项目", "k", width=12), Col("内容", "v", width=100)], [{"k": k, "v": v} for k, v in rows])


# ---------------------------------------------------------------- the tables


def _figure(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row["figures"][key]


KPI_COLS = [
    Col("指标", "name", width=18),
    Col("数值", "value", lambda r: UNIT_FORMATS.get(r["unit"]), width=12),
    Col("分子", "numerator", lambda r: DECIMAL if isinstance(r.get("numerator"), float) else COUNT),
    Col("分母", "denominator", COUNT),
    Col("单位", "unit", width=6),
    Col("口径", "definition", width=90),
]
TREND_COLS = [
    Col("周期", "label"),
    Col("受理量", "tickets", COUNT),
    Col("呼入量", "calls_offered", COUNT),
    Col("接通率", "answer_rate", PERCENT),
    Col("15秒接通率", "answer_rate_15s", PERCENT),
    Col("按时办结率", "ontime_rate", PERCENT),
    Col("满意率（承办单位）", "satisfaction_rate", PERCENT, 16),
    Col("综合得分", "score", DECIMAL),
]
MIX_COLS = [Col("名称", "name", width=22), Col("件数", "count", COUNT), Col("占比", "share", PERCENT)]
TICKET_COLS = [
    Col("工单编号", "number", width=18),
    Col("标题", "title", width=40),
    Col("状态", "status_label"),
    Col("业务领域", "category", width=16),
    Col("诉求类型", "appeal_type"),
    Col("紧急程度", "urgency"),
    Col("主办单位", "department", width=18),
    Col("期限", lambda r: _moment(r.get("due")), MOMENT, 18),
    Col("超期（小时）", "overdue_hours", "0.0"),
    Col("督办级别", "escalation_level", COUNT),
]
RANK_FIGURES = [
    ("响应率", "response_rate"),
    ("解决率", "resolution_rate"),
    ("满意率", "satisfaction_rate"),
    ("及时签收率", "sign_rate"),
    ("按时办结率", "ontime_rate"),
    ("回退率", "return_rate"),
    ("重办率", "reopen_rate"),
    ("延期率", "extension_rate"),
    ("回访率", "callback_rate"),
]
RANK_COLS = [
    Col("名次", "rank", COUNT, 6),
    Col("榜单", "list", width=8),
    Col("单位", "name", width=18),
    Col("综合得分", "score", DECIMAL),
    *[Col(name, _figure(key), PERCENT) for name, key in RANK_FIGURES],
    Col("承办件数", "cases", COUNT),
    Col("受理量", "tickets", COUNT),
]
TOPIC_COLS = [
    Col("排名", "rank", COUNT, 6),
    Col("热度", "heat", "0.0", 8),
    Col("代表标题", "title", width=40),
    Col("地点", "place", width=16),
    Col("诉求件数", "size", COUNT),
    Col("诉求人数", "citizens", COUNT),
    Col("本周", "this_week", COUNT, 8),
    Col("上周", "last_week", COUNT, 8),
    Col("上升", lambda r: "是" if r.get("rising") else "", width=6),
    Col("首次", lambda r: _day(r.get("first")), DAY),
    Col("最近", lambda r: _day(r.get("last")), DAY),
    Col("关键词", "keywords", width=30),
]
RECORD_COLS = [
    Col("级别", "level", COUNT, 6),
    Col("名称", "level_name", width=14),
    Col("通报", lambda r: "是" if r.get("notice") else "", width=6),
    Col("工单编号", "number", width=18),
    Col("标题", "title", width=40),
    Col("主办单位", "department", width=18),
    Col("触发", "trigger", width=16),
    Col("时间", lambda r: _moment(r.get("at")), MOMENT, 18),
]


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> Any:
    return datetime.fromisoformat(value).date() if value else None


def with_shares(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    total = sum(i["count"] for i in items)
    return [{**i, "share": round(i["count"] / total, 4) if total else None} for i in items]


def ranked_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    red = {r["department_id"] for r in result["red"]}
    black = {r["department_id"] for r in result["black"]}
    return [
        {**r, "list": "红榜" if r["department_id"] in red else "黑榜" if r["department_id"] in black else ""}
        for r in result["rows"]
    ]


def table_workbook(
    title: str, sheets: Sequence[tuple[str, Sequence[Col], Iterable[dict[str, Any]]]], meta: dict[str, Any]
) -> bytes:
    """One sheet per (name, columns, rows), then 说明."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, cols, rows in sheets:
        write_table(wb.create_sheet(name), cols, rows)
    _about(wb, title, meta.get("period"), meta["scope"], meta["now"])
    return workbook_bytes(wb)


# ---------------------------------------------------------------- 月报


def _chart(
    ws: Worksheet,
    chart: Any,
    anchor: str,
    title: str,
    *,
    values: tuple[int, int, int, int],
    labels: tuple[int, int, int],
    header: bool = True,
    fmt: str | None = None,
) -> None:
    """A chart of the cells ``values`` (first col, last col, first row, last row; the first row is
    the series' name when ``header``) against the labels (col, first row, last row)."""
    min_col, max_col, min_row, max_row = values
    chart.add_data(
        Reference(ws, min_col=min_col, max_col=max_col, min_row=min_row, max_row=max_row), titles_from_data=header
    )
    col, first, last = labels
    chart.set_categories(Reference(ws, min_col=col, min_row=first, max_row=last))
    if fmt:
        chart.y_axis.number_format = fmt
    chart.title = title
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, anchor)


def monthly_report(report: dict[str, Any], now: datetime) -> bytes:
    """月报: 概览, 红黑榜, 业务领域, 趋势, 督办通报, 热点诉求 (with charts), 说明."""
    wb = Workbook()
    ws = wb.active
    ws.title = "概览"
    kpis = report["kpis"]["kpis"]
    last = write_table(ws, KPI_COLS, kpis)
    ws.cell(row=last + 2, column=1, value="综合得分").font = Font(bold=True)
    ws.cell(row=last + 2, column=2, value=report["kpis"]["score"]).number_format = DECIMAL
    three = [
        i for i, k in enumerate(kpis, start=2) if k["key"] in ("response_rate", "resolution_rate", "satisfaction_rate")
    ]
    if three:
        span = (three[0], three[-1])
        _chart(ws, BarChart(), "H2", "三率", values=(2, 2, *span), labels=(1, *span), header=False, fmt=PERCENT)

    ws = wb.create_sheet("红黑榜")
    rows = ranked_rows(report["ranking"])
    last = write_table(ws, RANK_COLS, rows)
    if rows:
        bar = BarChart()
        bar.type = "bar"
        _chart(ws, bar, "Q2", "综合得分", values=(4, 4, 1, last), labels=(3, 2, last))

    ws = wb.create_sheet("业务领域")
    categories = with_shares(report["mix"]["category"])
    last = write_table(ws, MIX_COLS, categories)
    if categories:
        _chart(ws, PieChart(), "E2", "业务领域构成", values=(2, 2, 1, last), labels=(1, 2, last))
    types = with_shares(report["mix"]["appeal_type"])
    start = last + 3
    last = write_table(ws, [Col("诉求类型", "name", width=22), *MIX_COLS[1:]], types, first_row=start)
    ws.freeze_panes = "A2"
    if types:
        _chart(ws, BarChart(), "E20", "诉求类型", values=(2, 2, start, last), labels=(1, start + 1, last))

    ws = wb.create_sheet("趋势")
    series = report["trend"]["series"]
    last = write_table(ws, TREND_COLS, series)
    if series:
        _chart(ws, LineChart(), "J2", "受理量", values=(2, 2, 1, last), labels=(1, 2, last))
        rates = "接通率、按时办结率、满意率"
        _chart(ws, LineChart(), "J20", rates, values=(4, 7, 1, last), labels=(1, 2, last), fmt=PERCENT)

    write_table(wb.create_sheet("督办通报"), RECORD_COLS, report["records"])
    write_table(wb.create_sheet("热点诉求"), TOPIC_COLS, report["hot_topics"]["items"])
    ws = wb.create_sheet("口径说明")
    definitions = catalogue()
    rows = [{"name": k["name"], "definition": k["definition"]} for k in definitions["kpis"]]
    rows += [
        {"name": "综合得分", "definition": definitions["score"]},
        {"name": "红黑榜", "definition": definitions["ranking"]},
    ]
    write_table(ws, [Col("指标", "name", width=18), Col("口径", "definition", width=100)], rows)
    _about(wb, f"{report['period']['label']}月报", report["period"], report["scope"], now)
    return workbook_bytes(wb)
