"""Time-limit policy (per appeal type and urgency) and the deadlines it puts on a ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.enums import AppealType, LimitKind, LimitUnit, Urgency
from hotline.models import Ticket, TimeLimitPolicy
from hotline.workcalendar import WorkCalendar


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: LimitUnit

    def describe(self) -> str:
        names = {
            LimitUnit.seconds: "秒",
            LimitUnit.minutes: "分钟",
            LimitUnit.hours: "小时",
            LimitUnit.working_days: "个工作日",
        }
        return f"{self.amount}{names[self.unit]}"


# (kind, appeal_type, urgency) -> limit: the defaults of DOMAIN.md.
WD, H = LimitUnit.working_days, LimitUnit.hours
DEFAULT_LIMITS: dict[tuple[LimitKind, AppealType | None, Urgency | None], Limit] = {
    (LimitKind.sign, None, None): Limit(1, H),
    (LimitKind.reply, None, None): Limit(10, WD),
    (LimitKind.reply, AppealType.consult, None): Limit(2, WD),
    (LimitKind.reply, AppealType.help, None): Limit(10, WD),
    (LimitKind.reply, AppealType.suggestion, None): Limit(10, WD),
    (LimitKind.reply, AppealType.complaint, None): Limit(15, WD),
    (LimitKind.reply, AppealType.report, None): Limit(15, WD),
    (LimitKind.reply, None, Urgency.urgent): Limit(24, H),
    (LimitKind.reply, None, Urgency.critical): Limit(2, H),
    (LimitKind.return_window, None, None): Limit(2, WD),
    (LimitKind.extension_max, None, None): Limit(10, WD),
    (LimitKind.callback, None, None): Limit(1, WD),
}


def ensure_default_policies(session: Session) -> int:
    """Insert the default rows that are missing; never touches what an admin changed."""
    existing = {(row.kind, row.appeal_type, row.urgency) for row in session.scalars(select(TimeLimitPolicy))}
    added = 0
    for (kind, appeal_type, urgency), limit in DEFAULT_LIMITS.items():
        key = (kind.value, appeal_type.value if appeal_type else None, urgency.value if urgency else None)
        if key in existing:
            continue
        session.add(
            TimeLimitPolicy(kind=key[0], appeal_type=key[1], urgency=key[2], amount=limit.amount, unit=limit.unit.value)
        )
        added += 1
    session.flush()
    return added


def resolve_limit(session: Session, kind: LimitKind, appeal_type: str | None, urgency: str | None) -> Limit:
    """The most specific policy: type+urgency, then urgency alone, then type alone, then any.

    Urgency ranks above type because a 特急 complaint must be answered in hours, not weeks.
    """
    rows = session.scalars(select(TimeLimitPolicy).where(TimeLimitPolicy.kind == kind.value)).all()
    table = {(row.appeal_type, row.urgency): Limit(row.amount, LimitUnit(row.unit)) for row in rows}
    for key in ((appeal_type, urgency), (None, urgency), (appeal_type, None), (None, None)):
        if key in table:
            return table[key]
    for key in ((appeal_type, urgency), (None, urgency), (appeal_type, None), (None, None)):
        typed = (
            kind,
            AppealType(key[0]) if key[0] else None,
            Urgency(key[1]) if key[1] else None,
        )
        if typed in DEFAULT_LIMITS:
            return DEFAULT_LIMITS[typed]
    raise LookupError(f"no time limit for {kind}")


def set_dispatch_deadlines(session: Session, ticket: Ticket, at: datetime, cal: WorkCalendar) -> None:
    """Deadlines that start at (re-)dispatch: sign-by, return window and reply-by."""
    sign = resolve_limit(session, LimitKind.sign, ticket.appeal_type, ticket.urgency)
    reply = resolve_limit(session, LimitKind.reply, ticket.appeal_type, ticket.urgency)
    back = resolve_limit(session, LimitKind.return_window, ticket.appeal_type, ticket.urgency)
    ticket.sign_due = cal.add(at, sign.amount, sign.unit)
    ticket.return_due = cal.add(at, back.amount, back.unit)
    ticket.reply_due = cal.add(at, reply.amount, reply.unit)
    ticket.callback_due = None


def set_callback_deadline(session: Session, ticket: Ticket, at: datetime, cal: WorkCalendar) -> None:
    limit = resolve_limit(session, LimitKind.callback, ticket.appeal_type, ticket.urgency)
    ticket.callback_due = cal.add(at, limit.amount, limit.unit)


def clear_deadlines(ticket: Ticket) -> None:
    ticket.sign_due = ticket.reply_due = ticket.return_due = ticket.callback_due = None
