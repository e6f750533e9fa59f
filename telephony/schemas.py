"""Pydantic shapes of the telephony API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    linkedid: str
    status: str
    caller: str | None
    dialled_number: str | None
    queue: str | None
    started_at: datetime | None
    enter_queue_at: datetime | None
    ring_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    agent_interface: str | None
    agent_name: str | None
    agent_user_id: int | None
    ring_attempts: int
    hangup_cause: int | None
    hangup_cause_text: str | None
    hangup_by: str | None
    wait_seconds: int | None
    talk_seconds: int | None
    answered: bool
    abandoned: bool
    transfer_target: str | None
    transferred_at: datetime | None
    recording_file: str | None
    reconciled: bool
    reconciled_from: str | None = None  # resync: closed when the bridge noticed; cdr: from Asterisk's CDR
    ticket_ids: list[int] = Field(default_factory=list)


class CallFilter(BaseModel):
    """Filters of the calls list; none is personal, so they may be query parameters."""

    model_config = ConfigDict(extra="forbid")

    date_from: datetime | None = None
    date_to: datetime | None = None
    agent_id: int | None = Field(default=None, description="product user id of the answering agent")
    agent: str | None = Field(default=None, max_length=100, description="queue member interface or extension")
    abandoned: bool | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=500)


class CallSearchIn(CallFilter):
    """The calls of one number: the number goes in the body, never in a URL (URLs are logged)."""

    caller: str = Field(min_length=3, max_length=32, description="the caller's number, any format")


class CallPage(BaseModel):
    items: list[CallOut]
    total: int
    page: int
    page_size: int


class TransferIn(BaseModel):
    target: str = Field(description="110 / 119 / 120 / 122 or a configured trunk number")


class PauseIn(BaseModel):
    paused: bool
    reason: str | None = Field(default=None, max_length=100, description="示忙原因, e.g. 午休, 培训")
    interface: str | None = Field(default=None, description="supervisors: whose seat; agents: their own")
    queue: str | None = None


class AgentStateOut(BaseModel):
    extension: str | None
    state: str = Field(description="idle 示闲 / paused 示忙 / ringing / on_call / wrapup 话后 / logged_out")
    paused: bool
    pause_reason: str | None
    linkedid: str | None = Field(description="the call the seat is ringing or talking on")
    state_since: datetime | None
    wrapup_until: datetime | None
    interfaces: list[str]


class CallbackTaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    linkedid: str
    caller: str | None
    queue: str | None
    called_at: datetime | None
    abandoned_at: datetime | None
    wait_seconds: int | None
    status: str
    handled_by_id: int | None
    handled_at: datetime | None
    note: str | None


class CallbackTaskUpdate(BaseModel):
    status: str = Field(pattern="^(open|done|unreachable)$")
    note: str | None = Field(default=None, max_length=500)


class SurveyCallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    case_id: str
    status: str
    satisfaction: str | None
    resolution: str | None
    originate_reason: int | None
    error: str | None
    created_at: datetime
    answered_at: datetime | None
    finished_at: datetime | None


class LiveOut(BaseModel):
    at: datetime
    agents: list[dict[str, Any]]
    agent_counts: dict[str, int]
    queues: list[dict[str, Any]]
    calls_in_progress: int
