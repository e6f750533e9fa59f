"""Reading tickets as a given user sees them: lists, filters, masking, citizen history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from hotline import access, lifecycle
from hotline.db import utcnow
from hotline.enums import INBOX_TAB_LABELS, OPEN_STATUSES, AssignmentStatus, InboxTab, TicketStatus
from hotline.models import TICKET_SEARCH, Citizen, Department, Ticket, TicketAssignment, TicketCaller, User
from hotline.phone import normalize_phone
from hotline.schemas import AssignmentOut, CitizenOut, TicketDetail, TicketOut, TimelineOut


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    if ticket.status == TicketStatus.dispatched and ticket.sign_due and now > ticket.sign_due:
        return True
    working = {TicketStatus.dispatched, TicketStatus.in_progress}
    return bool(TicketStatus(ticket.status) in working and ticket.reply_due and now > ticket.reply_due)


def overdue_clause(now: datetime) -> Any:
    return or_(
        and_(Ticket.status == TicketStatus.dispatched.value, Ticket.sign_due < now),
        and_(
            Ticket.status.in_([TicketStatus.dispatched.value, TicketStatus.in_progress.value]),
            Ticket.reply_due < now,
        ),
    )


# 即将超期: a deadline (sign-by, reply-by) falls within this much time from now.
DUE_SOON = timedelta(hours=24)


def _own_unsigned(viewer: User) -> Any:
    """The viewer's own department holds a part of the ticket it has not signed yet."""
    return (
        select(TicketAssignment.id)
        .where(
            TicketAssignment.ticket_id == Ticket.id,
            TicketAssignment.department_id == viewer.department_id,
            TicketAssignment.status == AssignmentStatus.dispatched.value,
        )
        .exists()
    )


def tab_clause(tab: InboxTab, viewer: User, now: datetime) -> Any:
    """The condition of one inbox tab. For a department user 待签收 is its own part not signed
    yet (a 协办 or 加派 unit signs its part while the ticket is already 办理中); for hotline
    staff it is the tickets no department signed. 即将超期 and 已超期 cut across the others."""
    working = Ticket.status.in_([TicketStatus.dispatched.value, TicketStatus.in_progress.value])
    department = access.is_department_user(viewer)
    if tab == InboxTab.to_sign:
        return and_(working, _own_unsigned(viewer)) if department else Ticket.status == TicketStatus.dispatched.value
    if tab == InboxTab.in_progress:
        in_progress = Ticket.status == TicketStatus.in_progress.value
        return and_(in_progress, ~_own_unsigned(viewer)) if department else in_progress
    if tab == InboxTab.due_soon:
        soon = now + DUE_SOON
        sign_soon = and_(Ticket.status == TicketStatus.dispatched.value, Ticket.sign_due >= now, Ticket.sign_due < soon)
        reply_soon = and_(working, Ticket.reply_due >= now, Ticket.reply_due < soon)
        return and_(or_(sign_soon, reply_soon), ~overdue_clause(now))
    if tab == InboxTab.overdue:
        return overdue_clause(now)
    if tab == InboxTab.replied:
        done = [TicketStatus.replied, TicketStatus.awaiting_callback, TicketStatus.callback_done]
        return Ticket.status.in_([s.value for s in done])
    return Ticket.status == TicketStatus.closed.value


def tab_counts(session: Session, viewer: User, flt: TicketFilter) -> list[dict[str, Any]]:
    """Each inbox tab's count of the tickets ``viewer`` may see (exact up to EXACT_COUNT_UP_TO)."""
    now = utcnow()
    base = ticket_query(session, viewer, flt, now)
    out = []
    for tab in InboxTab:
        total, exact = count_rows(session, base.where(tab_clause(tab, viewer, now)))
        out.append({"tab": tab, "label": INBOX_TAB_LABELS[tab], "count": total, "exact": exact})
    return out


def citizen_out(ticket: Ticket, viewer: User) -> CitizenOut:
    citizen = ticket.citizen
    if not access.sees_personal_data(viewer, ticket):
        return CitizenOut(id=None, name="保密", phone="保密", masked=True)
    if citizen is None:
        return CitizenOut(id=None, name=ticket.contact_name, phone=None, masked=False)
    return CitizenOut(id=citizen.id, name=citizen.name or ticket.contact_name, phone=citizen.phone, masked=False)


def ticket_out(ticket: Ticket, viewer: User, now: datetime | None = None) -> TicketOut:
    now = now or utcnow()
    masked = not access.sees_personal_data(viewer, ticket)
    fields = {name: getattr(ticket, name) for name in TicketOut.model_fields if hasattr(ticket, name)}
    fields.update(
        status_label=lifecycle.STATUS_LABELS[TicketStatus(ticket.status)],
        citizen=citizen_out(ticket, viewer),
        contact_name="保密" if masked else ticket.contact_name,
        overdue=is_overdue(ticket, now),
    )
    return TicketOut.model_validate(fields)


def ticket_detail(session: Session, ticket: Ticket, viewer: User) -> TicketDetail:
    base = ticket_out(ticket, viewer).model_dump()
    ids = [a.department_id for a in ticket.assignments]
    names = (
        dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()) if ids else {}
    )
    assignments = []
    for assignment in ticket.assignments:
        out = AssignmentOut.model_validate(assignment)
        out.department_name = names.get(assignment.department_id)
        assignments.append(out)
    labels = lifecycle.ACTION_LABELS
    events = [
        TimelineOut.model_validate(e).model_copy(update={"action_label": labels.get(e.action, e.action)})
        for e in lifecycle.timeline(session, ticket.id)
    ]
    return TicketDetail(**base, assignments=assignments, timeline=events)


@dataclass
class TicketFilter:
    status: list[str] | None = None
    department_id: int | None = None
    category: str | None = None
    appeal_type: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None
    citizen_id: int | None = None
    tab: InboxTab | None = None


# A unit holding up to this many tickets has its list read from its assignments (see held_first).
HELD_FIRST_UP_TO = 5_000


def held_first(session: Session, query: Select[Ticket], department_id: int) -> Select[Ticket]:
    """On PostgreSQL, ``query`` read from the tickets a unit (with the units below it) holds, when
    they are few. The planner cannot tell how a unit's tickets spread over time: for a street
    office it walked the newest tickets of the whole city and probed each one's assignments
    (60,000 probes, 300-600 ms at a million tickets). A materialised set of the unit's ticket ids
    turns that into a few thousand key look-ups; a bureau holding more keeps the walk, which
    finds its page quickly because its tickets are everywhere in time."""
    if session.get_bind().dialect.name != "postgresql":
        return query
    held = select(TicketAssignment.ticket_id).where(access.holds(department_id))
    count = select(func.count()).select_from(held.limit(HELD_FIRST_UP_TO + 1).subquery())
    if (session.scalar(count) or 0) > HELD_FIRST_UP_TO:
        return query
    ids = held.cte(f"held_{department_id}").prefix_with("MATERIALIZED")
    return query.where(Ticket.id.in_(select(ids.c.ticket_id)))


def ticket_query(session: Session, viewer: User, flt: TicketFilter, now: datetime) -> Select[Ticket]:
    query = access.scope_tickets(session, viewer, select(Ticket))
    # One unit's held set narrows the read: the filter's when given (the viewer's scope still
    # applies; a unit outside it lists nothing), else a department user's own.
    if flt.department_id is not None:
        query = held_first(session, query, flt.department_id)
    elif access.is_department_user(viewer) and viewer.department_id is not None:
        query = held_first(session, query, viewer.department_id)
    if flt.status:
        query = query.where(Ticket.status.in_(flt.status))
    if flt.department_id is not None:
        query = query.where(access.held_by(flt.department_id, Ticket.id))
    if flt.category:
        query = query.where(Ticket.category == flt.category)
    if flt.appeal_type:
        query = query.where(Ticket.appeal_type == flt.appeal_type)
    if flt.urgency:
        query = query.where(Ticket.urgency == flt.urgency)
    if flt.overdue is True:
        query = query.where(overdue_clause(now))
    elif flt.overdue is False:
        query = query.where(~overdue_clause(now))
    if flt.created_from:
        query = query.where(Ticket.created_at >= flt.created_from)
    if flt.created_to:
        query = query.where(Ticket.created_at < flt.created_to)
    if flt.citizen_id is not None:
        query = query.where(Ticket.citizen_id == flt.citizen_id)
    if flt.tab is not None:
        query = query.where(tab_clause(flt.tab, viewer, now))
    return query


TICKET_NUMBER = re.compile(r"\d{8}-?\d{0,6}")


def search_tickets(session: Session, query: Select[Ticket], q: str) -> tuple[Select[Ticket], Any | None]:
    """``query`` narrowed by the words of ``q`` (or a ticket number, whole or its first digits), with
    the rank to order by, best first when ascending (none for a number)."""
    q = q.strip()
    if TICKET_NUMBER.fullmatch(q):
        # 20261122-000123, or its first digits: the unique index, or a prefix on the pattern index
        number = q if "-" in q or len(q) <= 8 else f"{q[:8]}-{q[8:]}"
        if len(number) == 15:
            return query.where(Ticket.number == number), None
        return query.where(Ticket.number.startswith(number, autoescape=True)), None
    dialect = session.get_bind().dialect.name
    found = TICKET_SEARCH.search(dialect, query, Ticket.id, Ticket.search_document, q)
    if found is None:
        return query.where(false()), None
    return found


# A list's total is counted exactly up to this many rows; a larger one is the planner's estimate
# (never below it): a person acts on "12 待签收", while "about 934,000 已办结" is only a hint, and
# counting it would cost more than the page itself.
EXACT_COUNT_UP_TO = 1000


def count_rows(session: Session, query: Select[Any], exact_up_to: int = EXACT_COUNT_UP_TO) -> tuple[int, bool]:
    """``(total, exact)`` for the rows of ``query``."""
    capped = select(func.count()).select_from(query.order_by(None).limit(exact_up_to + 1).subquery())
    total = session.scalar(capped) or 0
    if total <= exact_up_to:
        return total, True
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0, True
    compiled = query.order_by(None).compile(bind, compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    return max(estimate, exact_up_to + 1), False


def list_tickets(
    session: Session, viewer: User, flt: TicketFilter, page: int, page_size: int
) -> tuple[list[TicketOut], int, bool]:
    """A page of the tickets ``viewer`` may see, newest first (best first when searching), with
    the total and whether it is exact (:func:`count_rows`)."""
    now = utcnow()
    query = ticket_query(session, viewer, flt, now)
    order: list[Any] = [Ticket.created_at.desc(), Ticket.id.desc()]
    if flt.tab in (InboxTab.to_sign, InboxTab.in_progress, InboxTab.due_soon, InboxTab.overdue):
        # work to do: the nearest deadline first
        order.insert(0, func.coalesce(Ticket.sign_due, Ticket.reply_due).asc())
    if flt.q:
        query, rank = search_tickets(session, query, flt.q)
        if rank is not None:
            order.insert(0, rank)
    total, exact = count_rows(session, query, EXACT_COUNT_UP_TO)
    if flt.q and not exact:
        query = newest_matches(query)
    rows = session.scalars(
        query.options(selectinload(Ticket.citizen)).order_by(*order).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return [ticket_out(t, viewer, now) for t in rows], total, exact


# A search that matches more rows than are counted exactly ranks its newest matches only: ranking
# all 77,000 tickets that say 噪音 took a second at a million tickets, and a hotline reads the
# recent ones first (the count still says how many match).
RANKED_MATCHES = EXACT_COUNT_UP_TO


def newest_matches(query: Select[Ticket]) -> Select[Ticket]:
    newest = query.with_only_columns(Ticket.id).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return query.where(Ticket.id.in_(newest.limit(RANKED_MATCHES).scalar_subquery()))


def citizen_history(session: Session, phone_e164: str, viewer: User, limit: int = 10) -> dict[str, Any]:
    """The caller's history for 来电弹屏: who they are, their open and recent tickets.

    Only hotline staff get it; 保密 rules are applied per ticket by :func:`ticket_out`.
    """
    normalised = normalize_phone(phone_e164) or phone_e164
    citizen = session.scalar(select(Citizen).where(Citizen.phone == normalised))
    if citizen is None:
        return {"citizen": None, "ticket_count": 0, "open_tickets": [], "recent_tickets": []}
    on_ticket = select(TicketCaller.ticket_id).where(TicketCaller.citizen_id == citizen.id)
    query = access.scope_tickets(session, viewer, select(Ticket).where(Ticket.id.in_(on_ticket)))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    now = utcnow()
    open_rows = session.scalars(
        query.where(Ticket.status.in_([s.value for s in OPEN_STATUSES])).order_by(Ticket.created_at.desc()).limit(limit)
    ).all()
    recent_rows = session.scalars(query.order_by(Ticket.created_at.desc()).limit(limit)).all()
    masked = citizen.confidential and access.is_department_user(viewer)
    return {
        "citizen": CitizenOut(
            id=None if masked else citizen.id,
            name="保密" if masked else citizen.name,
            phone="保密" if masked else citizen.phone,
            masked=masked,
        ).model_dump(),
        "ticket_count": count,
        "open_tickets": [ticket_out(t, viewer, now).model_dump(mode="json") for t in open_rows],
        "recent_tickets": [ticket_out(t, viewer, now).model_dump(mode="json") for t in recent_rows],
    }
