"""Pydantic shapes of the escalation API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

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


class SmsOut(BaseModel):
    """One text message the SMS adapter wrote (the outbox when no gateway is configured)."""

    id: int
    message_id: int
    ticket_id: int | None
    phone: str = Field(description="the number, masked (138****0001)")
    body: str
    created_at: datetime


# ---------------------------------------------------------------- configuration (PUT /escalation/config)
# The admin's overrides: every key optional (merged over the defaults), none unknown, each value
# of its type and within bounds; ``escalation.config.validate`` then checks the merged whole.

Seconds = Annotated[int, Field(ge=0, le=30 * 86400)]
WorkingDays = Annotated[float, Field(ge=0, le=365)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Level = Annotated[int, Field(ge=1, le=5)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Hours = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
Channel = Literal["inbox", "sms", "email"]
RecipientKind = Literal["handler", "liaison", "dept_head", "department_head", "authority"]
Action = Literal["notice", "document", "red_flag", "board", "appointment", "monthly_report"]


class RemindersIn(Strict):
    at_fraction: Fraction | None = None
    final_lead_seconds: Seconds | None = None
    final_lead_working_days: Annotated[int, Field(ge=0, le=30)] | None = None
    final_time_of_day: ClockTime | None = None
    drill_final_lead_seconds: Seconds | None = None
    channels: Annotated[list[Channel], Field(max_length=3)] | None = None


class LadderLevelIn(Strict):
    name: Name | None = None
    after_fraction: Fraction | None = None
    after_working_days: WorkingDays | None = None
    after_seconds: Seconds | None = None
    recipients: Annotated[list[RecipientKind], Field(max_length=5)] | None = None
    channels: Annotated[list[Channel], Field(max_length=3)] | None = None
    actions: Annotated[list[Action], Field(max_length=6)] | None = None
    document: Name | None = None
    appointment_after_working_days: WorkingDays | None = None


class CausesIn(Strict):
    callback_unsatisfied: Level | None = None
    repeat_appeal: Level | None = None
    unsatisfied_after_reopen: Level | None = None
    repeat_threshold: Annotated[int, Field(ge=1, le=20)] | None = None


class ExtraRecipientIn(Strict):
    name: Name
    email: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=30, pattern=r"^\+?[0-9 \-]{3,30}$")] | None = None


class CallbackDrillIn(Strict):
    retry_spacing_seconds: Seconds | None = None
    call_timeout_seconds: Seconds | None = None
    sms_wait_seconds: Seconds | None = None
    token_ttl_seconds: Seconds | None = None


class CallbackConfigIn(Strict):
    calling_hours: Hours | None = None
    working_days_only: bool | None = None
    urgent_calling_hours: Hours | None = None
    urgent_any_time: bool | None = None
    ivr_attempts: Annotated[int, Field(ge=0, le=10)] | None = None
    retry_spacing_seconds: Seconds | None = None
    call_timeout_seconds: Seconds | None = None
    sms_wait_seconds: Seconds | None = None
    token_ttl_seconds: Seconds | None = None
    unsatisfied_reasonable: Literal["unresolved", "always", "agent"] | None = None
    drill: CallbackDrillIn | None = None


class DeliveryIn(Strict):
    max_attempts: Annotated[int, Field(ge=1, le=50)] | None = None
    backoff_base_seconds: Seconds | None = None
    backoff_max_seconds: Seconds | None = None
    stuck_after_seconds: Seconds | None = None
    drill_backoff_base_seconds: Seconds | None = None
    drill_stuck_after_seconds: Seconds | None = None


class BoardIn(Strict):
    min_level: Level | None = None


class SweepIn(Strict):
    batch_size: Annotated[int, Field(ge=1, le=10_000)] | None = None


class ConfigIn(Strict):
    """督办 configuration overrides (the keys of escalation/default.yaml)."""

    reminders: RemindersIn | None = None
    ladder: Annotated[dict[Level, LadderLevelIn], Field(max_length=5)] | None = None
    causes: CausesIn | None = None
    extra_recipients: dict[RecipientKind, Annotated[list[ExtraRecipientIn], Field(max_length=20)]] | None = None
    callback: CallbackConfigIn | None = None
    delivery: DeliveryIn | None = None
    board: BoardIn | None = None
    sweep: SweepIn | None = None
