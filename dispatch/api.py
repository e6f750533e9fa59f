"""HTTP routes of dispatch under /api/v1/dispatch, and the 派单/改派/驳回 transitions under
/api/v1/tickets (thin: the rules live in the package's modules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch import catalogue, config, departments, places, returns, routing, schemas
from dispatch import proposals as proposing
from dispatch import repeats as repeat_candidates
from dispatch.models import DispatchDecision, DispatchRule
from dispatch.queue import queue as waiting_queue
from dispatch.return_rates import return_rates as compute_return_rates
from dispatch.return_rates import rule_return_rates as compute_rule_return_rates
from hotline import access
from hotline.auth import get_current_user, require_roles
from hotline.bodylimit import body_limit
from hotline.deps import get_db
from hotline.enums import HOTLINE_ROLES, Role, TicketStatus
from hotline.errors import InvalidInput
from hotline.http_errors import documented
from hotline.models import Citizen, Ticket, User
from hotline.phone import normalize_phone
from hotline.service import ticket_detail
from hotline.settings import get_settings as get_hotline_settings

router = APIRouter(prefix="/api/v1/dispatch", tags=["dispatch"])
DB = Annotated[Session, Depends(get_db)]
CurrentUser = Annotated[User, Depends(get_current_user)]
HotlineStaff = Annotated[User, Depends(require_roles(*HOTLINE_ROLES))]
Dispatcher = Annotated[User, Depends(require_roles(Role.dispatcher, Role.supervisor, Role.admin))]
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]
Admin = Annotated[User, Depends(require_roles(Role.admin))]


def _ticket(session: Session, user: User, ticket_id: int) -> Ticket:
    return access.get_visible_ticket(session, user, ticket_id)


def _proposals_out(ticket: Ticket, proposed: proposing.Proposed) -> schemas.ProposalsOut:
    return schemas.ProposalsOut(
        ticket_id=ticket.id,
        place=proposed.place.to_dict(),
        classifier=proposed.opinion.to_dict() if proposed.opinion else None,
        proposals=[p.to_dict() for p in proposed.proposals[:3]],
        confidence=round(proposed.confidence, 4),
        auto=proposed.auto,
        reason=proposed.reason,
        catalogue_version=proposed.catalogue_version,
        excluded_department_ids=proposed.excluded,
    )


# ---------------------------------------------------------------- queue, proposals, dispatch


@router.get("/queue", response_model=list[schemas.QueueItem])
def queue(user: HotlineStaff, session: DB, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Any:
    """待派单: registered and returned tickets, each with the top three proposals and 并单 candidates."""
    return waiting_queue(session, limit=limit)


@router.get("/tickets/{ticket_id}/proposals", response_model=schemas.ProposalsOut)
def proposals(ticket_id: int, user: HotlineStaff, session: DB) -> Any:
    """Fresh proposals; for a returned ticket, without every department that sent it back."""
    ticket = _ticket(session, user, ticket_id)
    if ticket.status == TicketStatus.returned:
        return _proposals_out(ticket, returns.returned_proposals(session, ticket))
    return _proposals_out(ticket, proposing.propose(session, proposing.Appeal.of(ticket)))


@router.get("/tickets/{ticket_id}/decisions", response_model=list[schemas.DecisionOut])
def decisions(ticket_id: int, user: CurrentUser, session: DB) -> Any:
    """Every dispatch decision of a ticket (departments: only on their own tickets)."""
    return proposing.decisions(session, _ticket(session, user, ticket_id).id)


@router.post("/tickets/{ticket_id}/decide", response_model=schemas.DecisionOut)
def decide(ticket_id: int, user: Dispatcher, session: DB) -> Any:
    """Recompute and record the proposal of a waiting ticket."""
    decision = routing.redecide(session, _ticket(session, user, ticket_id), user)
    session.commit()
    return decision


# The 派单/改派/驳回 transitions live at the ticket's own paths, like every other transition (one
# route per action): dispatch answers them because it records the decision and its proposals.
# Like the others they look the ticket up first (404 outside the user's scope), and the
# transition names the roles that may (403).
ticket_router = APIRouter(prefix="/api/v1/tickets", tags=["lifecycle"], responses=documented(403))


def _with_decision(session: Session, ticket: Ticket, user: User, decision: DispatchDecision | None) -> Any:
    session.commit()
    session.refresh(ticket)
    detail = ticket_detail(session, ticket, user)
    return {**detail.model_dump(), "decision": decision}


@ticket_router.post("/{ticket_id}/dispatch", response_model=schemas.DispatchedTicket)
def dispatch(ticket_id: int, body: schemas.DispatchIn, user: CurrentUser, session: DB) -> Any:
    """派单 to the chosen 主办 (and 协办) departments, or to the top proposal when none is given;
    the answer is the ticket and the decision recorded (with the proposals it followed or not)."""
    ticket = _ticket(session, user, ticket_id)
    decision = routing.dispatch_by_dispatcher(
        session,
        ticket,
        user,
        version=body.version,
        primary_department_id=body.primary_department_id,
        assist_department_ids=body.assist_department_ids,
        note=body.note,
    )
    return _with_decision(session, ticket, user, decision)


@ticket_router.post("/{ticket_id}/return/accept", response_model=schemas.DispatchedTicket)
def accept_return(ticket_id: int, body: schemas.DispatchIn, user: CurrentUser, session: DB) -> Any:
    """退单 accepted (改派): to the chosen department, or the best one that has not refused it
    (fresh clocks). Refused (409 in_coordination) once the ticket awaits a supervisor's ruling."""
    ticket = _ticket(session, user, ticket_id)
    decision = returns.redispatch_returned(
        session,
        ticket,
        user,
        version=body.version,
        primary_department_id=body.primary_department_id,
        assist_department_ids=body.assist_department_ids,
        note=body.note,
    )
    return _with_decision(session, ticket, user, decision)


@ticket_router.post("/{ticket_id}/return/reject", response_model=schemas.DispatchedTicket)
def reject_return(ticket_id: int, body: schemas.RejectReturnIn, user: CurrentUser, session: DB) -> Any:
    """退单 rejected (驳回): back to the same department, the reply clock kept, the 退单 counted."""
    ticket = _ticket(session, user, ticket_id)
    returns.reject_returned(session, ticket, user, version=body.version, note=body.note)
    return _with_decision(session, ticket, user, None)


# ---------------------------------------------------------------- coordination


@router.get("/coordination", response_model=list[schemas.CoordinationItem])
def coordination(
    user: HotlineStaff, session: DB, status: Annotated[str | None, Query(pattern="^(open|settled)$")] = "open"
) -> Any:
    """协调: tickets sent back twice, waiting for a supervisor (with fresh proposals)."""
    out = []
    for row in returns.coordinations(session, status):
        ticket = session.get(Ticket, row.ticket_id)
        assert ticket is not None
        proposed = returns.returned_proposals(session, ticket) if ticket.status == TicketStatus.returned else None
        out.append(
            {
                **schemas.CoordinationOut.model_validate(row).model_dump(),
                "ticket": ticket,
                "proposals": [p.to_dict() for p in proposed.proposals[:3]] if proposed else [],
            }
        )
    return out


@router.post("/coordination/{coordination_id}/settle", response_model=schemas.CoordinationOut)
def settle(coordination_id: int, body: schemas.SettleIn, user: Supervisor, session: DB) -> Any:
    """The supervisor decides which department handles the ticket."""
    row = returns.settle_coordination(
        session,
        returns.get_coordination(session, coordination_id),
        user,
        department_id=body.department_id,
        assist_department_ids=body.assist_department_ids,
        note=body.note,
    )
    session.commit()
    return row


# ---------------------------------------------------------------- 回退率


def _check_period(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("时间须带时区（如 2026-11-22T00:00:00+08:00）", field=name, where="query")


@router.get("/return-rates", response_model=list[schemas.ReturnRateOut])
def return_rates(user: CurrentUser, session: DB, since: datetime | None = None, until: datetime | None = None) -> Any:
    """回退率 per department; a department sees its own (and its units')."""
    _check_period(since, until)
    within = None
    if access.is_department_user(user):
        if user.department_id is None:
            return []
        within = user.department_id
    return compute_return_rates(session, since=since, until=until, within=within)


@router.get("/rule-return-rates", response_model=list[schemas.RuleReturnRateOut])
def rule_return_rates(
    user: Supervisor, session: DB, since: datetime | None = None, until: datetime | None = None
) -> Any:
    """回退率 per rule of the 派单目录 (supervisor, admin): a rule that keeps sending tickets to the
    wrong department shows itself."""
    _check_period(since, until)
    return compute_rule_return_rates(session, since=since, until=until)


# ---------------------------------------------------------------- 并单


@router.get("/tickets/{ticket_id}/repeats", response_model=list[schemas.RepeatOut])
def repeats(ticket_id: int, user: HotlineStaff, session: DB) -> Any:
    """并单 candidates of a ticket, both ways, best first."""
    return repeat_candidates.repeats_of(session, _ticket(session, user, ticket_id).id)


@router.post("/similar", response_model=list[schemas.SimilarOut])
def similar(body: schemas.SimilarIn, user: HotlineStaff, session: DB) -> Any:
    """Open tickets like an appeal being typed (the agent's 并单 beside the intake form), best first.
    The caller's number travels in the body."""
    phone = normalize_phone(body.phone) if body.phone else None
    citizen_id = session.scalar(select(Citizen.id).where(Citizen.phone == phone)) if phone else None
    if not (body.title or body.content) and citizen_id is None:
        return []
    probe = Ticket(
        title=body.title, content=body.content, address=body.address, citizen_id=citizen_id, category=body.category
    )
    return [vars(hit) for hit in repeat_candidates.similar_open(session, probe)[:10]]


@router.post("/repeats/{candidate_id}/merge", response_model=schemas.RepeatOut)
def merge_repeat(
    candidate_id: int, user: HotlineStaff, session: DB, note: Annotated[str | None, Body(embed=True)] = None
) -> Any:
    row = repeat_candidates.get_repeat(session, candidate_id)
    repeat_candidates.merge_repeat(session, row, user, note=note)
    session.commit()
    return row


@router.post("/repeats/{candidate_id}/dismiss", response_model=schemas.RepeatOut)
def dismiss_repeat(candidate_id: int, user: HotlineStaff, session: DB) -> Any:
    row = repeat_candidates.dismiss_repeat(session, repeat_candidates.get_repeat(session, candidate_id), user)
    session.commit()
    return row


# ---------------------------------------------------------------- the catalogue (派单目录)


@router.get("/rules", response_model=list[schemas.RuleOut])
def rules(user: HotlineStaff, session: DB) -> Any:
    return session.scalars(select(DispatchRule).order_by(DispatchRule.priority.desc(), DispatchRule.code)).all()


@router.get("/rules/{code}", response_model=schemas.RuleOut)
def rule(code: str, user: HotlineStaff, session: DB) -> Any:
    return catalogue.get_rule(session, code)


@router.post("/rules", response_model=schemas.RuleOut, status_code=201)
def create_rule(body: schemas.RuleIn, user: Admin, session: DB) -> Any:
    row = catalogue.create_rule(session, user, body.model_dump())
    session.commit()
    return row


@router.patch("/rules/{code}", response_model=schemas.RuleOut)
def update_rule(code: str, body: schemas.RulePatch, user: Admin, session: DB) -> Any:
    data = body.model_dump(exclude_unset=True)
    revision = data.pop("revision", None)
    row = catalogue.update_rule(session, user, code, data, revision=revision)
    session.commit()
    return row


@router.delete("/rules/{code}", status_code=204)
def delete_rule(code: str, user: Admin, session: DB) -> None:
    catalogue.delete_rule(session, user, code)
    session.commit()


@router.get("/rule-changes", response_model=list[schemas.RuleChangeOut])
def rule_changes(
    user: HotlineStaff, session: DB, code: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> Any:
    """The catalogue's history: who changed which rule, when, before and after."""
    return catalogue.rule_history(session, code, limit)


@router.get("/catalogue/export", response_class=Response)
def export_catalogue(user: HotlineStaff, session: DB) -> Response:
    """The whole catalogue as YAML (the format the import takes)."""
    return Response(catalogue.export_catalogue(session), media_type="application/yaml; charset=utf-8")


@router.post("/catalogue/import", response_model=schemas.ImportOut)
@body_limit(lambda: get_hotline_settings().max_import_bytes)
def import_catalogue(
    user: Admin,
    session: DB,
    text: Annotated[str, Body(media_type="application/yaml")],
    replace: bool = True,
) -> Any:
    """Load a YAML catalogue; with ``replace`` rules absent from the file are deleted. All or nothing."""
    result = catalogue.import_catalogue(session, user, text, replace=replace)
    session.commit()
    return result


# ---------------------------------------------------------------- the gazetteer (属地)


@router.get("/places/suggest", response_model=list[schemas.PlaceSuggestionOut])
def suggest(user: HotlineStaff, session: DB, q: Annotated[str, Query(min_length=1, max_length=200)]) -> Any:
    """地址联想: gazetteer names that complete the address being typed."""
    return places.suggest_places(session, q)


@router.get("/places/resolve", response_model=schemas.PlaceOut)
def resolve(user: HotlineStaff, session: DB, address: Annotated[str, Query(min_length=1, max_length=500)]) -> Any:
    """Which district, street and community an address lies in."""
    place = places.resolve_place(session, address)
    depts = departments.departments(session)
    code = place.code
    return {**place.to_dict(), "department": depts[code].ref() if code and code in depts else None}


@router.post("/gazetteer/import", response_model=schemas.GazetteerImportOut)
@body_limit(lambda: get_hotline_settings().max_import_bytes)
def import_gazetteer(
    user: Admin,
    session: DB,
    text: Annotated[str, Body(media_type="text/plain")],
    fmt: Annotated[str, Query(pattern="^(yaml|csv)$")] = "yaml",
    replace: bool = True,
) -> Any:
    """Load the center's gazetteer (YAML ``places:`` or CSV ``name,kind,department_code``)."""
    names = places.load_gazetteer(session, text, fmt=fmt, replace=replace, source=f"import:{user.username}")
    session.commit()
    return {"names": names}


# ---------------------------------------------------------------- settings


@router.get("/settings")
def get_settings(user: HotlineStaff, session: DB) -> dict[str, Any]:
    return config.settings(session)


@router.put("/settings")
def put_settings(body: dict[str, Any], user: Admin, session: DB) -> dict[str, Any]:
    """Change dispatch settings (auto_threshold, fallbacks, agent_hold_seconds, ...)."""
    for key, value in body.items():
        config.set_setting(session, key, value)
    session.commit()
    return config.settings(session)
