"""Pydantic shapes of the dispatch API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.schemas import Note, Strict, TicketDetail, Version

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
RequiredNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class TicketBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    status: str
    version: int
    title: str
    channel: str
    appeal_type: str
    category: str | None
    urgency: str
    enterprise: bool
    address: str | None
    return_count: int
    repeat_count: int
    primary_department_id: int | None
    created_at: datetime


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    kind: str
    created_at: datetime
    actor_id: int | None
    catalogue_version: int
    place: dict[str, Any] | None
    classifier: dict[str, Any] | None
    proposals: list[dict[str, Any]]
    excluded_department_ids: list[int]
    confidence: float
    outcome: str
    reason: str | None
    primary_department_id: int | None
    assist_department_ids: list[int]
    followed_proposal: bool | None


class DispatchedTicket(TicketDetail):
    """The ticket after 派单/改派/驳回, with the dispatch decision recorded (none for 驳回)."""

    decision: DecisionOut | None


class ProposalsOut(BaseModel):
    ticket_id: int
    place: dict[str, Any]
    classifier: dict[str, Any] | None
    proposals: list[dict[str, Any]]
    confidence: float
    auto: bool
    reason: str
    catalogue_version: int
    excluded_department_ids: list[int]


class RepeatOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    candidate_id: int
    score: float
    similarity: float
    same_citizen: bool
    same_place: bool
    status: str
    created_at: datetime


class QueueItem(BaseModel):
    ticket: TicketBrief
    decision_id: int | None
    outcome: str
    reason: str | None
    confidence: float
    proposals: list[dict[str, Any]]
    repeat_candidates: list[RepeatOut]


class DispatchIn(Strict):
    version: Version
    primary_department_id: int | None = Field(None, description="Empty: the top proposal.")
    assist_department_ids: list[int] | None = Field(None, max_length=20)
    note: Note = None


class RejectReturnIn(Strict):
    version: Version
    note: RequiredNote


class CoordinationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    status: str
    opened_at: datetime
    return_count: int
    departments: list[int]
    reason: str
    settled_at: datetime | None
    settled_by_id: int | None
    department_id: int | None
    note: str | None


class CoordinationItem(CoordinationOut):
    ticket: TicketBrief
    proposals: list[dict[str, Any]]


class SettleIn(Strict):
    department_id: int
    assist_department_ids: list[int] = Field(default_factory=list)
    note: RequiredNote


class ReturnRateOut(BaseModel):
    department_id: int
    code: str
    name: str
    received: int
    returned: int
    accepted: int
    rejected: int
    return_rate: float


class RuleReturnRateOut(BaseModel):
    rule_code: str | None  # None: dispatches no rule decided (a dispatcher's own choice, 兜底, the model)
    rule_name: str | None
    dispatched: int
    auto: int  # of them 直派
    returned: int
    return_rate: float


class RuleIn(Strict):
    code: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    priority: int = Field(50, ge=0, le=1000)
    enabled: bool = True
    when: dict[str, Any]
    primary: Code
    assists: list[str] = Field(default_factory=list)
    confidence: float = Field(0.9, gt=0, le=1)
    note: Note = None


class RulePatch(Strict):
    revision: int | None = Field(None, description="The revision the admin saw (optimistic lock).")
    name: str | None = None
    priority: int | None = Field(None, ge=0, le=1000)
    enabled: bool | None = None
    when: dict[str, Any] | None = None
    primary: str | None = None
    assists: list[str] | None = None
    confidence: float | None = Field(None, gt=0, le=1)
    note: Note = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    priority: int
    enabled: bool
    conditions: dict[str, Any]
    primary: str
    assists: list[str]
    confidence: float
    note: str | None
    revision: int
    updated_at: datetime
    updated_by_id: int | None


class RuleChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_code: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: str
    changed_by_id: int | None
    changed_by_name: str | None
    changed_at: datetime
    note: str | None


class ImportOut(BaseModel):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    version: int = 0


class PlaceOut(BaseModel):
    district: str | None
    street: str | None
    community: str | None
    level: str | None
    matched: list[str]
    ambiguous: bool
    conflict: bool
    department: dict[str, Any] | None


class PlaceSuggestionOut(BaseModel):
    value: str = Field(description="the address to put in the field: units top down, then the name")
    name: str
    kind: str
    units: list[str]
    department: dict[str, Any] | None


class SimilarIn(Strict):
    """An appeal being typed: what makes two appeals the same matter (the caller, the place, the words)."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    content: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)] = ""
    address: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=500)] = None
    phone: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=32)] = None
    category: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=100)] = None


class SimilarOut(BaseModel):
    ticket: TicketBrief
    score: float
    similarity: float
    same_citizen: bool
    same_place: bool


class GazetteerImportOut(BaseModel):
    names: int
