"""Working days on the official Chinese calendar, plus the center's own closures.

``chinese-calendar`` carries the State Council's holidays and 调休 working weekends for the
years it knows; for a year it does not know yet, weekends are rest days until an admin loads
that year's notice as calendar overrides (and a warning says so once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.enums import LimitUnit
from hotline.models import CalendarOverride
from hotline.settings import get_settings

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


@lru_cache(maxsize=4096)
def _official_workday(day: date) -> bool:
    """The State Council's calendar (cached: chinese-calendar validates every call, and sweeps
    ask about the same few days thousands of times)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "official holidays of %s are not known to chinese-calendar; weekends only "
                "until the year's closures are added as calendar overrides",
                day.year,
            )
        return day.weekday() < 5


class WorkCalendar:
    def __init__(self, overrides: Mapping[date, bool] | None = None, tz: str | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.tz = ZoneInfo(tz or get_settings().timezone)

    @classmethod
    def load(cls, session: Session) -> WorkCalendar:
        rows = session.execute(select(CalendarOverride.day, CalendarOverride.is_workday)).all()
        return cls({day: is_workday for day, is_workday in rows})

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _official_workday(day)

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
