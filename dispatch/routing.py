"""Routing a ticket: after registration (直派, hold or the queue) and by a dispatcher's hand."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.alerts import alert_dispatchers
from dispatch.batch import shared_reads
from dispatch.config import DISPATCH_ROLES, require_role, settings
from dispatch.models import DispatchDecision, DispatchPending
from dispatch.proposals import (
    Appeal,
    Proposed,
    decision_reasons,
    latest_decision,
    propose,
    record_decision,
    returned_departments,
)
from dispatch.repeats import detect_repeats
from hotline import lifecycle
from hotline.classification import classify_registered
from hotline.db import utcnow
from hotline.enums import AssignmentRole, Role, TicketStatus, Urgency
from hotline.errors import InvalidInput
from hotline.models import Ticket, User
from hotline.orgs import get_system_user

log = logging.getLogger(__name__)


def route_registered(session: Session, ticket_id: int) -> str:
    """Route a ticket registered a moment ago, once: the worker's half of registration (the agent does
    not wait for proposals and 并单 candidates). The pending row goes with the decision."""
    pending = session.get(DispatchPending, ticket_id)
    ticket = session.scalar(select(Ticket).where(Ticket.id == ticket_id).with_for_update())
    routed = select(DispatchDecision.id).where(
        DispatchDecision.ticket_id == ticket_id, DispatchDecision.kind == "initial"
    )
    if ticket is None or session.scalar(routed.limit(1)) is not None:
        outcome = "missing" if ticket is None else "already"
    else:
        outcome = route_new_ticket(session, ticket).outcome
    if pending is not None:
        session.delete(pending)
        session.flush()
    return outcome


def route_pending(session: Session, *, limit: int = 50) -> dict[str, int]:
    """Route up to ``limit`` of the oldest pending tickets; several workers share them (on PostgreSQL
    each claims its rows with SKIP LOCKED). A ticket whose routing fails stays pending for the next
    round and does not stop the others. Answers the outcomes counted."""
    claim = select(DispatchPending.ticket_id).order_by(DispatchPending.created_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    ids = list(session.scalars(claim))
    classify_registered(session, ids)
    counts: dict[str, int] = {}
    with shared_reads(session):
        for ticket_id in ids:
            try:
                with session.begin_nested():
                    outcome = route_registered(session, ticket_id)
            except Exception:  # noqa: BLE001 - one ticket's failure must not stop the batch
                log.exception("dispatch: routing ticket %s failed; it stays pending", ticket_id)
                outcome = "failed"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def route_new_ticket(session: Session, ticket: Ticket) -> DispatchDecision:
    """After registration: propose, look for repeats, and 直派 when sure (or hold, or queue)."""
    proposed = propose(session, Appeal.of(ticket))
    repeats = detect_repeats(session, ticket, proposed.place)
    top = proposed.top
    if ticket.status != TicketStatus.registered:
        return record_decision(session, ticket, proposed, kind="initial", outcome="queued", actor=None)
    if proposed.auto and repeats:
        best = max(repeats, key=lambda r: r.score)
        reason = f"疑似重复诉求（与工单 #{best.candidate_id} 相似度 {best.score:.2f}），请先核实是否并单"
        queued = record_decision(session, ticket, proposed, kind="initial", outcome="queued", actor=None, reason=reason)
        alert_dispatchers(session, ticket, queued)
        return queued
    if not proposed.auto or top is None:
        outcome = "queued" if top is not None else "not_routable"
        queued = record_decision(session, ticket, proposed, kind="initial", outcome=outcome, actor=None)
        alert_dispatchers(session, ticket, queued)  # an urgent ticket does not wait its turn
        return queued
    creator = session.get(User, ticket.created_by_id) if ticket.created_by_id else None
    hold = int(settings(session)["agent_hold_seconds"])
    # the hold counts from registration, not from when the worker got to the ticket
    waited = max(0.0, (utcnow() - ticket.created_at).total_seconds())
    assists = [a.id for a in top.assists]
    # 特急 (life or property at risk, 2-hour reply) goes at once: no hold for an agent's 直办.
    urgent = ticket.urgency == Urgency.critical
    if creator is not None and creator.role == Role.agent and hold > 0 and not urgent:
        decision = record_decision(
            session,
            ticket,
            proposed,
            kind="initial",
            outcome="held",
            actor=None,
            reason=f"{proposed.reason}；话务员登记，{hold} 秒后直派（其间可直办或人工派单）",
            primary=top.primary.id,
            assists=assists,
        )
        from dispatch.tasks import apply_held_decision
        from hotline.celery_app import enqueue_after_commit

        enqueue_after_commit(session, apply_held_decision.si(decision.id).set(countdown=max(0.0, hold - waited)))
        return decision
    decision = record_decision(
        session,
        ticket,
        proposed,
        kind="initial",
        outcome="auto_dispatched",
        actor=None,
        primary=top.primary.id,
        assists=assists,
    )
    lifecycle.dispatch_ticket(
        session,
        ticket,
        get_system_user(session),
        version=None,
        primary_department_id=top.primary.id,
        assist_department_ids=assists,
        note=f"直派：{proposed.reason}",
        reasons=decision_reasons(decision),
    )
    return decision


def apply_held_decision(session: Session, decision_id: int) -> str:
    """The hold of an agent's ticket is over: 直派 as decided, unless someone acted meanwhile."""
    held = session.get(DispatchDecision, decision_id)
    if held is None or held.outcome != "held" or held.primary_department_id is None:
        return "missing"
    ticket = session.get(Ticket, held.ticket_id)
    latest = latest_decision(session, held.ticket_id)
    if ticket is None or ticket.status != TicketStatus.registered or latest is None or latest.id != held.id:
        return "skipped"
    decision = DispatchDecision(
        ticket_id=ticket.id,
        kind="initial",
        created_at=utcnow(),
        actor_id=None,
        catalogue_version=held.catalogue_version,
        place=held.place,
        classifier=held.classifier,
        proposals=held.proposals,
        excluded_department_ids=held.excluded_department_ids,
        confidence=held.confidence,
        outcome="auto_dispatched",
        reason=f"等待期满直派（决定 #{held.id}）",
        primary_department_id=held.primary_department_id,
        assist_department_ids=held.assist_department_ids,
        followed_proposal=True,
    )
    session.add(decision)
    session.flush()
    lifecycle.dispatch_ticket(
        session,
        ticket,
        get_system_user(session),
        version=None,
        primary_department_id=held.primary_department_id,
        assist_department_ids=held.assist_department_ids,
        note=f"直派：{held.reason}",
        reasons=decision_reasons(decision),
    )
    return "dispatched"


def redecide(session: Session, ticket: Ticket, actor: User | None) -> DispatchDecision:
    """Recompute the proposal of a waiting ticket (after the catalogue changed, or on request)."""
    exclude = returned_departments(session, ticket.id) if ticket.status == TicketStatus.returned else []
    if ticket.status == TicketStatus.returned and ticket.primary_department_id:
        exclude = [*exclude, ticket.primary_department_id]
    proposed = propose(session, Appeal.of(ticket), exclude=exclude)
    return record_decision(
        session, ticket, proposed, kind="recompute", outcome="queued" if proposed.top else "not_routable", actor=actor
    )


def _choose(proposed: Proposed, primary: int | None, assists: Sequence[int] | None) -> tuple[int, list[int]]:
    if primary is None:
        if proposed.top is None:
            raise InvalidInput(f"没有可用的派单建议：{proposed.reason}；请指定主办单位", field="primary_department_id")
        return proposed.top.primary.id, [a.id for a in proposed.top.assists] if assists is None else list(assists)
    return primary, list(assists or ())


def dispatch_by_dispatcher(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int | None = None,
    assist_department_ids: Sequence[int] | None = None,
    note: str | None = None,
) -> DispatchDecision:
    """派单 by a dispatcher: the chosen (or the top proposed) department, recorded with the proposal.

    ``lifecycle.dispatch_ticket`` checks role, state and version; when it refuses, the caller's
    transaction rolls back the decision recorded here with it."""
    require_role(actor, DISPATCH_ROLES, "派单")
    proposed = propose(session, Appeal.of(ticket))
    return dispatch_as_chosen(
        session,
        ticket,
        actor,
        proposed,
        lifecycle.dispatch_ticket,
        kind="manual",
        version=version,
        primary_department_id=primary_department_id,
        assist_department_ids=assist_department_ids,
        note=note,
    )


def dispatch_as_chosen(
    session: Session,
    ticket: Ticket,
    actor: User,
    proposed: Proposed,
    route: Callable[..., Ticket],
    *,
    kind: str,
    version: int | None,
    primary_department_id: int | None,
    assist_department_ids: Sequence[int] | None,
    note: str | None,
) -> DispatchDecision:
    """Record the decision (the chosen departments, or the top proposal) and route the ticket with
    ``route`` (``lifecycle.dispatch_ticket`` or ``lifecycle.accept_return``), citing the decision."""
    primary, assists = _choose(proposed, primary_department_id, assist_department_ids)
    # Refuse unknown departments before the decision names them (a 422, not a key violation).
    lifecycle.assignable_department(session, primary, AssignmentRole.primary)
    for assist in assists:
        lifecycle.assignable_department(session, assist, AssignmentRole.assist)
    decision = record_decision(
        session,
        ticket,
        proposed,
        kind=kind,
        outcome="dispatched",
        actor=actor,
        primary=primary,
        assists=assists,
        reason=note or proposed.reason,
    )
    route(
        session,
        ticket,
        actor,
        version=version,
        primary_department_id=primary,
        assist_department_ids=assists,
        note=note,
        reasons=decision_reasons(decision),
    )
    return decision
