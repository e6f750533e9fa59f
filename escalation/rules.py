"""What is due on a ticket: reminders, the five-level ladder and the other causes, from the
deadline columns on the ticket row. Pure functions of the row, the configuration, the calendar
and what was already claimed; the sweep (service.py) acts on the answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalation.config import Config, load_config
from hotline.enums import OPEN_STATUSES, LimitKind, LimitUnit, Satisfaction, TicketStatus
from hotline.models import Ticket, TimeLimitPolicy
from hotline.timelimits import DEFAULT_LIMITS, Limit
from hotline.workcalendar import WorkCalendar

HANDLING = frozenset({TicketStatus.dispatched.value, TicketStatus.in_progress.value})
OPEN = frozenset(s.value for s in OPEN_STATUSES)
UNIT_SECONDS = {LimitUnit.seconds: 1, LimitUnit.minutes: 60, LimitUnit.hours: 3600}

Key = tuple[int, str, str]  # (level, cause, instance)
_DEFAULTS = {(k.value, a.value if a else None, u.value if u else None): v for (k, a, u), v in DEFAULT_LIMITS.items()}


@dataclass(frozen=True)
class Trigger:
    kind: str  # reminder | escalation | callback
    level: int
    cause: str
    instance: str
    trigger: str
    at: datetime
    deadline: datetime | None = None

    @property
    def key(self) -> Key:
        return (self.level, self.cause, self.instance)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class Context:
    """What one sweep batch evaluates against: configuration, calendar, time-limit policies."""

    config: Config
    calendar: WorkCalendar
    policies: dict[tuple[str, str | None, str | None], Limit] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)  # recipients per department, for one batch

    @classmethod
    def load(cls, session: Session) -> Context:
        rows = session.scalars(select(TimeLimitPolicy)).all()
        policies = {(r.kind, r.appeal_type, r.urgency): Limit(r.amount, LimitUnit(r.unit)) for r in rows}
        return cls(load_config(session), WorkCalendar.load(session), policies)

    def limit(self, kind: LimitKind, appeal_type: str | None, urgency: str | None) -> Limit:
        """Same precedence as hotline.timelimits.resolve_limit, without a query per ticket."""
        keys = ((appeal_type, urgency), (None, urgency), (appeal_type, None), (None, None))
        for a, u in keys:
            found = self.policies.get((kind.value, a, u))
            if found is not None:
                return found
        for a, u in keys:
            found = _DEFAULTS.get((kind.value, a, u))
            if found is not None:
                return found
        raise LookupError(f"no time limit for {kind}")

    def is_drill_callback(self, ticket: Ticket) -> bool:
        return self.limit(LimitKind.callback, ticket.appeal_type, ticket.urgency).unit == LimitUnit.seconds


def _working_days_before(cal: WorkCalendar, due: datetime, days: int) -> datetime:
    """``days`` working days before a 24:00 deadline: the start of the last ``days`` working days."""
    local = due.astimezone(cal.tz)
    day = (local - timedelta(microseconds=1)).date()
    count = 0
    while count < days:
        if cal.is_workday(day):
            count += 1
        if count == days:
            break
        day -= timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=cal.tz).astimezone(UTC)


def _reminders_for(
    ctx: Context, name: str, start: datetime, due: datetime, unit: LimitUnit, instance: str
) -> list[Trigger]:
    cfg = ctx.config.reminders
    out: list[Trigger] = []
    if due <= start:
        return out
    at80 = start + (due - start) * float(cfg["at_fraction"])
    out.append(Trigger("reminder", 0, f"{name}_80pct", instance, f"{name}_80pct", at80, due))
    if unit == LimitUnit.working_days:
        # At the opening of the last working day(s), not at midnight when nobody reads it.
        final = _working_days_before(ctx.calendar, due, int(cfg["final_lead_working_days"]))
        opening = time.fromisoformat(str(cfg.get("final_time_of_day", "09:00")))
        final += timedelta(hours=opening.hour, minutes=opening.minute)
    elif unit == LimitUnit.seconds:
        final = due - timedelta(seconds=float(cfg["drill_final_lead_seconds"]))
    else:
        final = due - timedelta(seconds=float(cfg["final_lead_seconds"]))
    if start < final < due:
        out.append(Trigger("reminder", 0, f"{name}_final", instance, f"{name}_final", final, due))
    return out


def ladder_offset(ctx: Context, level: int, due: datetime, reply_unit: LimitUnit) -> datetime:
    spec = ctx.config.level(level)
    if reply_unit == LimitUnit.seconds:
        return due + timedelta(seconds=float(spec.get("after_seconds", 0)))
    days = int(spec.get("after_working_days", 0))
    return ctx.calendar.add_working_days(due, days) if days > 0 else due


def triggers(ticket: Ticket, ctx: Context, claimed: Mapping[Key, str], now: datetime) -> list[Trigger]:
    """Every trigger that applies to the ticket as it is now, due or not, claimed or not."""
    out: list[Trigger] = []
    status = ticket.status
    if status not in OPEN:
        return out
    sign = ctx.limit(LimitKind.sign, ticket.appeal_type, ticket.urgency)
    reply = ctx.limit(LimitKind.reply, ticket.appeal_type, ticket.urgency)
    started = ticket.dispatched_at
    ladder_instance = None
    if status in HANDLING and ticket.reply_due is not None:
        ladder_instance = "reply@" + stamp(ticket.reply_due)
    elif status == TicketStatus.dispatched and ticket.sign_due is not None:
        ladder_instance = "sign@" + stamp(ticket.sign_due)

    # Reminders before the sign-by deadline (the department has not signed yet).
    if status == TicketStatus.dispatched and ticket.sign_due is not None:
        due = ticket.sign_due
        start = due - timedelta(seconds=sign.amount * UNIT_SECONDS[sign.unit]) if sign.unit in UNIT_SECONDS else started
        if start is not None:
            out += _reminders_for(ctx, "sign", start, due, sign.unit, "sign@" + stamp(due))

    level1_trigger: str | None = None
    if ladder_instance is not None:
        # Level 1: 80% of the reply limit used, or 签收 overdue, whichever comes first.
        candidates: list[tuple[datetime, str]] = []
        if status == TicketStatus.dispatched and ticket.sign_due is not None:
            candidates.append((ticket.sign_due, "sign_overdue"))
        if ticket.reply_due is not None and started is not None and ticket.reply_due > started:
            fraction = float(ctx.config.level(1).get("after_fraction", 0.8))
            candidates.append((started + (ticket.reply_due - started) * fraction, "reply_80pct"))
        level1_trigger = claimed.get((1, "deadline", ladder_instance))
        if candidates:
            at, name = min(candidates)
            level1_trigger = level1_trigger or name
            out.append(Trigger("escalation", 1, "deadline", ladder_instance, name, at, ticket.reply_due))
        if ticket.reply_due is not None:
            due = ticket.reply_due
            for level, name in ((2, "overdue"), (3, "overdue_l3"), (4, "overdue_l4"), (5, "overdue_l5")):
                at = ladder_offset(ctx, level, due, reply.unit)
                out.append(Trigger("escalation", level, "deadline", ladder_instance, name, at, due))

    # Reminders before the reply-by deadline. The 80% one is level 1 itself unless level 1
    # came earlier from an overdue 签收.
    if status in HANDLING and ticket.reply_due is not None and started is not None:
        instance = "reply@" + stamp(ticket.reply_due)
        for trig in _reminders_for(ctx, "reply", started, ticket.reply_due, reply.unit, instance):
            if trig.cause == "reply_80pct" and level1_trigger != "sign_overdue":
                continue
            out.append(trig)

    causes = ctx.config.causes
    threshold = int(causes.get("repeat_threshold", 2))
    if ticket.repeat_count >= threshold:
        level = int(causes["repeat_appeal"])
        out.append(Trigger("escalation", level, "repeat_appeal", f"repeat-{threshold}", "repeat_appeal", now))
    if ticket.reopen_count >= 1 and ticket.satisfaction == Satisfaction.unsatisfied:
        k = ticket.reopen_count
        cause = "callback_unsatisfied" if k == 1 else "unsatisfied_after_reopen"
        out.append(Trigger("escalation", int(causes[cause]), cause, f"reopen-{k}", cause, now))

    if status == TicketStatus.awaiting_callback and ticket.callback_due is not None:
        out.append(Trigger("callback", 0, "callback", "callback@" + stamp(ticket.callback_due), "callback", now))
    return out


def evaluate(
    ticket: Ticket, ctx: Context, claimed: Mapping[Key, str], now: datetime
) -> tuple[list[Trigger], datetime | None]:
    """(what is due now and not claimed yet, in firing order; the next moment to look again)."""
    due: list[Trigger] = []
    upcoming: list[datetime] = []
    for trig in triggers(ticket, ctx, claimed, now):
        if trig.key in claimed:
            continue
        if trig.at > now:
            upcoming.append(trig.at)
        elif trig.kind == "reminder" and trig.deadline is not None and now >= trig.deadline:
            continue  # a reminder after its deadline helps nobody: the ladder takes over
        else:
            due.append(trig)
    due.sort(key=lambda t: (t.at, t.level))
    return due, (min(upcoming) if upcoming else None)
