"""Working days on the official Chinese calendar, plus the center's own closures.

Where a year's days come from, in order:

1. the State Council's notice (国务院办公厅关于某年部分节假日安排的通知) as ``chinese-calendar``
   carries it for the years it knows, or as an admin imported it (:func:`import_notice`: the
   notice's holidays and 调休 working weekends become calendar overrides, and the year is
   recorded as known);
2. for a year whose notice is known to neither: the statutory holidays the ``holidays``
   package computes (元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆, the lunar ones included) and
   weekends, without the 调休 swaps, and :func:`calendar_status` warns the admins until the
   notice is imported;
3. the center's own overrides on top (closures, extra working days).

A change of the calendar moves the open tickets' future deadlines
(``hotline.lifecycle.recalendar_open_tickets``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
from sqlalchemy import delete, extract, select
from sqlalchemy.orm import Session

from hotline.enums import LimitUnit
from hotline.errors import InvalidInput
from hotline.models import CalendarOverride
from hotline.runtime_settings import read_setting, write_setting
from hotline.settings import get_settings

NOTICES_KEY = "calendar.notices"  # {"2027": {"imported_at": ..., "holidays": n, "workdays": n}}
NOTICE_NOTE = "国务院节假日安排"  # the note of the overrides a notice import wrote


@lru_cache(maxsize=64)
def known_to_library(year: int) -> bool:
    """Whether ``chinese-calendar`` carries the State Council's notice of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[date]:
    """The statutory rest days of ``year`` (lunar festivals computed), without the 调休 swaps."""
    return frozenset(holidays.China(years=year, categories=(holidays.PUBLIC,)).keys())


@lru_cache(maxsize=4096)
def _official_workday(day: date, notice_imported: bool) -> bool:
    """The State Council's calendar (cached: chinese-calendar validates every call, and sweeps
    ask about the same few days thousands of times). A year whose notice was imported has its
    holidays and swaps in the overrides: weekends here; one not known at all: the statutory
    holidays and weekends."""
    if known_to_library(day.year):
        return bool(chinese_calendar.is_workday(day))
    if notice_imported:
        return day.weekday() < 5
    return day.weekday() < 5 and day not in statutory_holidays(day.year)


class WorkCalendar:
    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        tz: str | None = None,
        notice_years: Iterable[int] = (),
    ) -> None:
        self.overrides = dict(overrides or {})
        self.tz = ZoneInfo(tz or get_settings().timezone)
        self.notice_years = frozenset(notice_years)

    @classmethod
    def load(cls, session: Session) -> WorkCalendar:
        rows = session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all()
        return cls({day: is_workday for day, is_workday in rows}, notice_years=imported_notices(session))

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _official_workday(day, day.year in self.notice_years)

    def next_workday(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End (24:00 local) of the ``days``-th working day after the day of ``start``.

        A ticket dispatched on Friday afternoon with a 2-working-day limit is due at the end of
        Tuesday; one dispatched on a holiday starts counting on the next working day.
        """
        if days <= 0:
            return start
        local = start.astimezone(self.tz)
        # 24:00 belongs to the day that ends: extending a deadline of "end of Tuesday" by one
        # working day gives "end of Wednesday".
        local_day = (local - timedelta(microseconds=1)).date() if local.time() == time(0, 0) else local.date()
        for _ in range(days):
            local_day = self.next_workday(local_day)
        end_of_day = datetime.combine(local_day + timedelta(days=1), time(0, 0), tzinfo=self.tz)
        return end_of_day.astimezone(start.tzinfo)

    def add(self, start: datetime, amount: int, unit: LimitUnit | str) -> datetime:
        unit = LimitUnit(unit)
        if unit is LimitUnit.working_days:
            return self.add_working_days(start, amount)
        seconds = {LimitUnit.seconds: 1, LimitUnit.minutes: 60, LimitUnit.hours: 3600}[unit]
        return start + timedelta(seconds=amount * seconds)

    def next_workday_start(self, moment: datetime, opening: time = time(9, 0)) -> datetime:
        """Opening time of the next working day after ``moment`` (回访: the working day after)."""
        local_day = self.next_workday(moment.astimezone(self.tz).date())
        return datetime.combine(local_day, opening, tzinfo=self.tz).astimezone(moment.tzinfo)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days from ``start``'s day (exclusive) to ``end``'s day (inclusive)."""
        first = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def carry_over(self, due: datetime, now: datetime, before: WorkCalendar) -> datetime:
        """A future working-day deadline ``due`` (24:00 of a day) computed on the calendar
        ``before``, on this one: the same number of working days after today.

        The days already past count the same on both calendars, so this is what the limit
        gives when counted from its start on this calendar. Deadlines of the past, of today
        and of hours (not at midnight) stay."""
        local_due = due.astimezone(self.tz)
        if due <= now or local_due.time() != time(0, 0):
            return due
        left = before.working_days_between(now, due - timedelta(microseconds=1))
        if left <= 0:
            return due
        return self.add_working_days(now, left).astimezone(due.tzinfo)


# ---------------------------------------------------------------- the year's notice


def imported_notices(session: Session) -> set[int]:
    return {int(year) for year in (read_setting(session, NOTICES_KEY) or {})}


def import_notice(
    session: Session, year: int, rest_days: Iterable[date], workdays: Iterable[date], now: datetime
) -> dict[str, Any]:
    """The State Council's notice of ``year`` in one step: its holidays (rest days) and 调休
    working weekends become the year's notice overrides (replacing an earlier import's; the
    center's own overrides stay), and the year is recorded as known (the warning goes)."""
    rest, work = sorted(set(rest_days)), sorted(set(workdays))
    for field, days in (("holidays", rest), ("workdays", work)):
        if any(day.year != year for day in days):
            raise InvalidInput(f"日期须在 {year} 年内", field=field)
    if set(rest) & set(work):
        raise InvalidInput("同一天不能既是假日又是调休上班日", field="workdays")
    if not rest:
        raise InvalidInput("通知至少应有一个假日", field="holidays")
    session.execute(
        delete(CalendarOverride).where(
            extract("year", CalendarOverride.day) == year, CalendarOverride.note == NOTICE_NOTE
        )
    )
    session.flush()
    for day, is_workday in [*((d, False) for d in rest), *((d, True) for d in work)]:
        row = session.get(CalendarOverride, day) or CalendarOverride(day=day)
        row.is_workday = is_workday
        row.note = NOTICE_NOTE
        session.add(row)
    notices = dict(read_setting(session, NOTICES_KEY) or {})
    notices[str(year)] = {"imported_at": now.isoformat(), "holidays": len(rest), "workdays": len(work)}
    write_setting(session, NOTICES_KEY, notices)
    session.flush()
    return notices[str(year)]


def calendar_status(session: Session, now: datetime, horizon_days: int = 120) -> dict[str, Any]:
    """Where each year's days come from, for this year and any year deadlines can reach within
    ``horizon_days``; ``warnings`` for admins (a banner) while a year's notice is missing."""
    tz = ZoneInfo(get_settings().timezone)
    today = now.astimezone(tz).date()
    years = sorted({today.year, (today + timedelta(days=horizon_days)).year})
    notices = read_setting(session, NOTICES_KEY) or {}
    out: list[dict[str, Any]] = []
    warnings: list[str] = []
    for year in years:
        if known_to_library(year):
            source = "official"
        elif str(year) in notices:
            source = "notice"
        else:
            source = "statutory"
            warnings.append(
                f"尚未导入 {year} 年国务院节假日安排通知：目前按法定节假日（不含调休）计算工作日，"
                "期限可能与正式安排不符；请在通知发布后导入"
            )
        out.append({"year": year, "source": source, "imported": notices.get(str(year))})
    return {"years": out, "warnings": warnings}
