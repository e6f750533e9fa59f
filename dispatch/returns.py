"""退单 review: fresh proposals without the departments that refused, 改派 or 驳回, and coordination after
the second 退单."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.config import DISPATCH_ROLES, SETTLE_ROLES, require_role, setting
from dispatch.models import (
    DispatchCoordination,
    DispatchDecision,
)
from dispatch.proposals import (
    Appeal,
    Proposed,
    decision_reasons,
    propose,
    record_decision,
    returned_departments,
)
from dispatch.routing import dispatch_as_chosen
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import Role, TicketStatus
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.models import Ticket, TimelineEvent, User


def open_coordination(session: Session, ticket_id: int) -> DispatchCoordination | None:
    return session.scalar(
        select(DispatchCoordination).where(
            DispatchCoordination.ticket_id == ticket_id, DispatchCoordination.status == "open"
        )
    )


def on_returned(session: Session, ticket: Ticket, event: TimelineEvent) -> DispatchDecision:
    """A department sent the ticket back: fresh proposals without those that refused it; at the
    second 退单 (a setting) the ticket goes to coordination."""
    refused = returned_departments(session, ticket.id)
    proposed = propose(session, Appeal.of(ticket), exclude=refused)
    limit = int(setting(session, "coordination_after_returns"))
    reason = None
    why = lifecycle.RETURN_REASONS.get((event.data or {}).get("reason", ""), "")
    if ticket.return_count >= limit and open_coordination(session, ticket.id) is None:
        session.add(
            DispatchCoordination(
                ticket_id=ticket.id,
                status="open",
                opened_at=utcnow(),
                return_count=ticket.return_count,
                departments=refused,
                reason=f"第 {ticket.return_count} 次退单（{why}：{event.note or ''}），提交督办员协调",
            )
        )
        reason = f"第 {ticket.return_count} 次退单，已提交协调"
    return record_decision(
        session,
        ticket,
        proposed,
        kind="return",
        outcome="coordination" if reason else "queued",
        actor=None,
        reason=reason,
    )


def _check_not_in_coordination(session: Session, ticket: Ticket, actor: User) -> None:
    if open_coordination(session, ticket.id) is not None and Role(actor.role) not in SETTLE_ROLES:
        raise Conflict("该工单已两次退单，正在协调中，由督办员裁定承办单位", code="in_coordination")


def returned_proposals(session: Session, ticket: Ticket) -> Proposed:
    """New proposals for a returned ticket, leaving out every department that sent it back."""
    if ticket.status != TicketStatus.returned:
        raise Conflict("工单不在退单待审状态", code="invalid_state")
    exclude = returned_departments(session, ticket.id)
    if ticket.primary_department_id and ticket.primary_department_id not in exclude:
        exclude.append(ticket.primary_department_id)
    return propose(session, Appeal.of(ticket), exclude=exclude)


def redispatch_returned(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int | None = None,
    assist_department_ids: Sequence[int] | None = None,
    note: str | None = None,
) -> DispatchDecision:
    """退单 accepted (改派): to the chosen department, or the best one that has not refused it."""
    require_role(actor, DISPATCH_ROLES, "改派")
    _check_not_in_coordination(session, ticket, actor)
    proposed = returned_proposals(session, ticket)
    return dispatch_as_chosen(
        session,
        ticket,
        actor,
        proposed,
        lifecycle.accept_return,
        kind="redispatch",
        version=version,
        primary_department_id=primary_department_id,
        assist_department_ids=assist_department_ids,
        note=note,
    )


def reject_returned(session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str) -> Ticket:
    """退单 rejected: back to the same department (the 退单 stays counted)."""
    require_role(actor, DISPATCH_ROLES, "驳回退单")
    _check_not_in_coordination(session, ticket, actor)
    return lifecycle.reject_return(session, ticket, actor, version=version, note=note)


def settle_coordination(
    session: Session,
    coordination: DispatchCoordination,
    actor: User,
    *,
    department_id: int,
    assist_department_ids: Sequence[int] = (),
    note: str,
) -> DispatchCoordination:
    """The supervisor decides who handles a disputed ticket; the same department means forced back."""
    require_role(actor, SETTLE_ROLES, "协调裁定")
    if coordination.status != "open":
        raise Conflict("该协调已处理", code="already_settled")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("请填写协调意见", field="note")
    ticket = session.get(Ticket, coordination.ticket_id)
    assert ticket is not None
    if ticket.status != TicketStatus.returned:
        raise Conflict("工单不在退单待审状态", code="invalid_state")
    coordination.status = "settled"
    coordination.settled_at = utcnow()
    coordination.settled_by_id = actor.id
    coordination.department_id = department_id
    coordination.note = note
    session.flush()
    if department_id == ticket.primary_department_id:
        lifecycle.reject_return(session, ticket, actor, version=None, note=f"协调裁定：{note}")
    else:
        proposed = propose(session, Appeal.of(ticket), exclude=[])
        decision = record_decision(
            session,
            ticket,
            proposed,
            kind="coordination",
            outcome="dispatched",
            actor=actor,
            primary=department_id,
            assists=assist_department_ids,
            reason=f"协调裁定：{note}",
        )
        lifecycle.accept_return(
            session,
            ticket,
            actor,
            version=None,
            primary_department_id=department_id,
            assist_department_ids=list(assist_department_ids),
            note=f"协调裁定：{note}",
            reasons={**decision_reasons(decision), "coordination_id": coordination.id},
        )
    return coordination


def on_return_ruled(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """accept_return/reject_return through the core routes also close an open coordination."""
    coordination = open_coordination(session, ticket.id)
    if coordination is not None:
        coordination.status = "settled"
        coordination.settled_at = utcnow()
        coordination.settled_by_id = event.actor_id
        coordination.department_id = ticket.primary_department_id
        coordination.note = event.note
        session.flush()


def coordinations(session: Session, status: str | None = "open") -> list[DispatchCoordination]:
    query = select(DispatchCoordination).order_by(DispatchCoordination.opened_at)
    if status:
        query = query.where(DispatchCoordination.status == status)
    return list(session.scalars(query))


def get_coordination(session: Session, coordination_id: int) -> DispatchCoordination:
    row = session.get(DispatchCoordination, coordination_id)
    if row is None:
        raise NotFound("协调记录不存在")
    return row
