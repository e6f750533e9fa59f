"""Who sees what: department scoping and the 保密 rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from hotline.enums import DEPARTMENT_ROLES, ROLE_LABELS, AssignmentStatus, Role
from hotline.errors import Forbidden, NotFound
from hotline.models import Department, Ticket, TicketAssignment, User


def is_department_user(user: User) -> bool:
    return Role(user.role) in DEPARTMENT_ROLES


def role_refusal(user: User, allowed: Iterable[Role], action: str) -> Forbidden:
    """403 naming the user's role and the roles that may do ``action``."""
    who = "、".join(ROLE_LABELS[r] for r in sorted(set(allowed), key=list(Role).index))
    return Forbidden(f"{ROLE_LABELS[Role(user.role)]}不能{action}；只有{who}可以", code="role_not_allowed")


def subtree_ids(department_id: int) -> Select[int]:
    """Ids of a department and all units below it, as a subquery-ready select."""
    path = select(Department.path).where(Department.id == department_id).scalar_subquery()
    return select(Department.id).where(Department.path.startswith(path, autoescape=False))


def holds(department_id: int) -> ColumnElement[bool]:
    """A condition on TicketAssignment: the part is held by the department or a unit below it. An
    assignment withdrawn (the department sent the ticket back and it went elsewhere on 改派, or it
    was merged away) holds nothing."""
    return and_(
        TicketAssignment.status != AssignmentStatus.withdrawn.value,
        TicketAssignment.department_id.in_(subtree_ids(department_id)),
    )


def held_by(department_id: int, ticket_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """A condition: the department or a unit below it holds the ticket whose id is ``ticket_id``."""
    return exists().where(TicketAssignment.ticket_id == ticket_id, holds(department_id))


def department_path(session: Session, department_id: int) -> str:
    path = session.scalar(select(Department.path).where(Department.id == department_id))
    if path is None:
        raise NotFound("部门不存在")
    return path


def is_within(session: Session, department_id: int, ancestor_id: int) -> bool:
    """True when ``department_id`` is ``ancestor_id`` or lies below it."""
    return department_path(session, department_id).startswith(department_path(session, ancestor_id))


def can_see_ticket(user: User, ticket_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """A condition: ``user`` may see the ticket whose id is ``ticket_id`` (a column of any query).

    Hotline staff (agents, dispatchers, callback agents, supervisors, admins) see every ticket;
    a department user sees tickets its department or a unit below it holds now (:func:`holds`: an
    assignment withdrawn grants nothing, the caller's name and number went with the ticket). A
    channel client's user sees only the tickets it filed.
    """
    if Role(user.role) == Role.channel:
        return exists().where(Ticket.id == ticket_id, Ticket.created_by_id == user.id)
    if not is_department_user(user):
        return true()
    if user.department_id is None:
        return false()
    return held_by(user.department_id, ticket_id)


def scope_tickets(session: Session, user: User, query: Select[Any]) -> Select[Any]:
    """Restrict a ticket query to what ``user`` may see (:func:`can_see_ticket`)."""
    if not is_department_user(user) and Role(user.role) != Role.channel:
        return query
    return query.where(can_see_ticket(user, Ticket.id))


def get_visible_ticket(session: Session, user: User, ticket_id: int) -> Ticket:
    """The ticket, or 404 when it does not exist or is outside the user's scope."""
    query = scope_tickets(session, user, select(Ticket).where(Ticket.id == ticket_id))
    ticket = session.scalar(query)
    if ticket is None:
        raise NotFound("工单不存在或无权查看")
    return ticket


def sees_personal_data(user: User, ticket: Ticket) -> bool:
    """保密: departments see neither name nor number of a confidential appeal."""
    if not is_department_user(user):
        return True
    confidential = ticket.confidential or bool(ticket.citizen and ticket.citizen.confidential)
    return not confidential
