"""Periods (日/周/月/自定义) as local calendar days, their UTC bounds and their buckets for trends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import Session

from hotline.errors import InvalidInput
from hotline.settings import get_settings

KINDS = ("day", "week", "month", "custom")
LONGEST_CUSTOM_DAYS = 366


def local_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def today() -> date:
    return datetime.now(local_tz()).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Local days ``first`` … ``last`` (both included), in the center's time zone."""

    kind: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1))

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.first:%Y-%m-%d}"
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }

    def bucket_of_day(self) -> dict[date, int]:
        """Each local day of the period → the index of its trend bucket."""
        out: dict[date, int] = {}
        for i, (_label, start, end) in enumerate(self.buckets()):
            d = start.astimezone(local_tz()).date()
            while day_start(d) < end:
                out[d] = i
                d += timedelta(days=1)
        return out

    def buckets(self) -> list[tuple[str, datetime, datetime]]:
        """Trend buckets: days up to two months, then weeks up to half a year, then months."""
        if self.days <= 62:
            step = [self.first + timedelta(days=i) for i in range(self.days)]
            return [(f"{d:%m-%d}", day_start(d), day_start(d + timedelta(days=1))) for d in step]
        out: list[tuple[str, datetime, datetime]] = []
        if self.days <= 190:
            d = self.first
            while d <= self.last:
                stop = min(d + timedelta(days=7 - d.weekday()), self.last + timedelta(days=1))
                out.append((f"{d:%m-%d}周", day_start(d), day_start(stop)))
                d = stop
            return out
        d = self.first
        while d <= self.last:
            stop = min(next_month(d), self.last + timedelta(days=1))
            out.append((f"{d:%Y-%m}", day_start(d), day_start(stop)))
            d = stop
        return out


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=local_tz()).astimezone(UTC)


def parse_period(
    kind: str = "month", day: date | None = None, first: date | None = None, last: date | None = None
) -> Period:
    """The period of ``kind`` around ``day`` (today when not given); ``custom`` takes first/last."""
    if kind not in KINDS:
        raise InvalidInput(f"统计周期须为 {'/'.join(KINDS)} 之一", "period", where="query", allowed=list(KINDS))
    day = day or today()
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "month":
        return Period(kind, month_start(day), next_month(day) - timedelta(days=1))
    if first is None or last is None:
        raise InvalidInput("自定义周期须给出起止日期", "first" if first is None else "last", where="query")
    if last < first:
        raise InvalidInput("结束日期不能早于开始日期", "last", where="query")
    if (last - first).days + 1 > LONGEST_CUSTOM_DAYS:
        raise InvalidInput(f"自定义周期最长 {LONGEST_CUSTOM_DAYS} 天", "last", where="query")
    return Period(kind, first, last)


def parse_month(value: str | None) -> Period:
    """``YYYY-MM`` (this month when empty) as a month period."""
    if not value:
        return parse_period("month")
    try:
        year, month = (int(x) for x in value.split("-"))
        return parse_period("month", date(year, month, 1))
    except ValueError as exc:
        raise InvalidInput("月份格式须为 YYYY-MM", "month", where="query") from exc


def local_day(session: Session, column: Any) -> Any:
    """SQL: the local calendar day of a UTC timestamp column (grouping by day, then days into
    buckets in Python). PostgreSQL converts with the zone's rules; SQLite, which stores UTC text,
    shifts by the zone's offset now (exact for zones without daylight saving, as Asia/Shanghai)."""
    tz = local_tz()
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(tz.key, column))
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds()):+d} seconds")


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
