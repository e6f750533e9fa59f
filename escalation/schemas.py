"""Pydantic shapes of the escalation API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hotline.enums import Satisfaction

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    kind: str
    level: int
    cause: str
    instance: str
    trigger: str
    due_at: datetime | None
    department_id: int | None
    level_before: int | None
    level_after: int | None
    recipients: list[dict[str, Any]]
    actions: dict[str, Any]
    note: str | None
    actor_id: int | None
    timeline_event_id: int | None
    created_at: datetime


class BoardItem(BaseModel):
    ticket_id: int
    number: str
    title: str
    status: str
    escalation_level: int
    level_name: str
    department_id: int | None
    department_name: str | None
    reply_due: datetime | None
    overdue: bool
    last_escalation: RecordOut | None


class BoardOut(BaseModel):
    items: list[BoardItem]
    total: int


class RaiseIn(Strict):
    level: Annotated[int, Field(ge=1, le=5)]
    reason: Reason


class SettleIn(Strict):
    level: Annotated[int, Field(ge=0, le=5)]
    reason: Reason


class InboxItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    record_id: int | None
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None


class InboxOut(BaseModel):
    items: list[InboxItem]
    unread: int
    total: int


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    record_id: int | None
    callback_id: int | None
    channel: str
    recipient_user_id: int | None
    recipient_label: str | None
    address: str | None  # masked
    subject: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
    created_at: datetime


class CallbackOut(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str
    ticket_title: str
    status: str
    phone: str
    ivr_attempts: int
    satisfaction: str | None
    service_satisfaction: str | None
    resolved: bool | None
    reason: str | None
    method: str | None
    log: list[dict[str, Any]]
    created_at: datetime


class CallbackAnswerIn(Strict):
    satisfaction: Satisfaction
    resolved: bool
    service_satisfaction: Satisfaction | None = None
    reason: Note = None
    reasonable: bool | None = Field(None, description="不满意: is the cause reasonable (reopen)? None: the rule")


class DecideIn(Strict):
    reasonable: bool
    note: Note = None


class UnreachableIn(Strict):
    note: Note = None


class OutcomeOut(BaseModel):
    callback_id: int
    status: str
    outcome: str
    ticket_status: str
