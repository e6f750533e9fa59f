"""Pydantic shapes of the HTTP API (in and out)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hotline.enums import (
    AppealType,
    Channel,
    DepartmentKind,
    DepartmentLevel,
    EmergencyService,
    InboxTab,
    LimitKind,
    LimitUnit,
    ReturnReason,
    Role,
    Urgency,
)
from hotline.phone import citizen_phone

# Characters that show nothing: spaces, controls, format characters (zero-width ones, bidi
# marks), lone combining marks, and the fillers some keyboards type for a "blank" name.
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})
_BLANK_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible(value: str) -> str:
    """Refuse text made only of characters that show nothing (a title of zero-width spaces)."""
    if not any(ch not in _BLANK_FILLERS and unicodedata.category(ch) not in _BLANK_CATEGORIES for ch in value):
        raise ValueError("不能为空或只有不可见字符")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000), AfterValidator(visible)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(visible)]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None
# Passwords are taken as typed (no stripping); hotline/passwords.py holds the rules a new one meets.
Password = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Version = Annotated[int, Field(ge=1, description="The ticket version the client saw (optimistic lock).")]

# List bounds: no page or offset past these (a page 10^19 deep is a client's mistake, not a query).
MAX_PAGE = 100_000
MAX_OFFSET = 10_000_000
# A month of the calendar the product works in (YYYY-MM, 1900-2099): 9999-12 has no next month.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    # False: the total is the database's estimate (more than a thousand rows; see hotline.service.count_rows)
    total_exact: bool = True
    page: int
    page_size: int


# ---------------------------------------------------------------- auth, users, departments


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    extension: str | None
    active: bool
    must_change_password: bool = Field(
        description="an admin reset the password: the user must change it (POST /me/password) before anything else"
    )


class UserCreate(Strict):
    username: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    ]
    display_name: Line
    password: Password
    role: Role
    department_id: int | None = None
    extension: OptionalLine = None
    phone: OptionalLine = None
    email: OptionalLine = None


class PasswordChangeIn(Strict):
    """修改密码: the current password, and the new one."""

    current_password: Password
    new_password: Password


class PasswordResetIn(Strict):
    """重置密码 by an admin."""

    new_password: Password


class UserUpdate(Strict):
    """An admin's change to an account: only the fields sent change."""

    display_name: Line | None = None
    role: Role | None = None
    department_id: int | None = None
    extension: OptionalLine = None
    phone: OptionalLine = None
    email: OptionalLine = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: DepartmentLevel
    kind: DepartmentKind
    parent_id: int | None
    liaison_name: str | None
    liaison_phone: str | None
    contacts: list[dict[str, Any]]
    active: bool


class DepartmentCreate(Strict):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    name: Line
    level: DepartmentLevel
    kind: DepartmentKind = DepartmentKind.functional
    parent_id: int | None = None
    liaison_name: OptionalLine = None
    liaison_phone: OptionalLine = None
    contacts: list[dict[str, str]] = Field(default_factory=list)


class DepartmentUpdate(Strict):
    """An admin's change to a unit (only the fields sent); ``active: false`` takes it out of the
    tree pickers (its history stays)."""

    name: Line | None = None
    liaison_name: OptionalLine = None
    liaison_phone: OptionalLine = None
    active: bool | None = None


# ---------------------------------------------------------------- tickets


class TicketCreate(Strict):
    """登记: the 五要素 (who, when, where, cause, course) and the classification."""

    title: Line
    content: Text
    appeal_type: AppealType
    channel: Channel = Channel.phone
    phone: OptionalLine = None
    contact_name: OptionalLine = None
    address: OptionalLine = None
    occurred_at: OptionalLine = None
    category: OptionalLine = None
    urgency: Urgency = Urgency.normal
    confidential: bool = False
    enterprise: bool = False
    source_call_id: OptionalLine = None

    @field_validator("phone")
    @classmethod
    def _phone_is_a_number(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if citizen_phone(value) is None:
            raise ValueError("不是有效的电话号码（不能是 110、12345 等服务号码）")
        return value


class ClassifyIn(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    content: Text


class CitizenOut(BaseModel):
    id: int | None
    name: str | None
    phone: str | None
    masked: bool


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    department_id: int
    department_name: str | None = None
    role: str
    status: str
    parent_assignment_id: int | None
    dispatched_at: datetime
    signed_at: datetime | None


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    action_label: str = ""
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any]


class TabCount(BaseModel):
    tab: InboxTab
    label: str
    count: int
    exact: bool = Field(description="False: more than a thousand, the database's estimate.")


class TicketOut(BaseModel):
    id: int
    number: str
    version: int
    status: str
    status_label: str
    channel: str
    citizen: CitizenOut
    contact_name: str | None
    occurred_at: str | None
    address: str | None
    title: str
    content: str
    appeal_type: str
    category: str | None
    urgency: str
    confidential: bool
    enterprise: bool
    source_call_id: str | None
    primary_department_id: int | None
    sign_due: datetime | None
    reply_due: datetime | None
    return_due: datetime | None
    callback_due: datetime | None
    overdue: bool
    dispatched_at: datetime | None
    signed_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    extension_count: int
    repeat_count: int
    reopen_count: int
    return_count: int
    merged_into_id: int | None
    resolution: str | None
    transfer_target: str | None
    answer_text: str | None
    handling_text: str | None
    public_answer: str | None
    resolved: bool | None
    satisfaction: str | None
    service_satisfaction: str | None
    callback_resolved: bool | None
    escalation_level: int
    classification: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class TicketDetail(TicketOut):
    assignments: list[AssignmentOut]
    timeline: list[TimelineOut]


# Action bodies: every one carries the version the client saw.


class VersionOnly(Strict):
    version: Version


class RejectIntakeIn(Strict):
    version: Version
    reason: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    note: Note = None


class TransferIn(Strict):
    version: Version
    target: EmergencyService
    note: Note = None


class AnswerIn(Strict):
    version: Version
    answer: Text
    article_id: int | None = Field(None, ge=1, description="知识库: the article that answered the citizen")


class ReturnIn(Strict):
    version: Version
    reason: ReturnReason
    note: Text


class NoteRequiredIn(Strict):
    version: Version
    note: Text


class NoteOptionalIn(Strict):
    version: Version
    note: Note = None


class SubAssignmentIn(Strict):
    version: Version
    department_id: int
    note: Note = None


class ExtensionIn(Strict):
    version: Version
    working_days: Annotated[int, Field(ge=1, le=60)]
    reason: Text


class ReplyIn(Strict):
    version: Version
    handling: Text
    resolved: bool
    public_answer: Text


class ReviewIn(Strict):
    version: Version
    accept: bool
    note: Note = None


class ReopenIn(Strict):
    version: Version
    reason: Text


class MergeIn(Strict):
    version: Version
    into_ticket_id: int
    note: Note = None


class ExtensionRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    working_days: int
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    new_reply_due: datetime | None


class ExtensionRequestItem(ExtensionRequestOut):
    """One 延期申请 in the dispatchers' list, with its ticket."""

    requested_by_name: str | None
    ticket: TicketOut


# ---------------------------------------------------------------- policy and calendar


class TimeLimitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: LimitKind
    appeal_type: AppealType | None
    urgency: Urgency | None
    amount: int
    unit: LimitUnit


class TimeLimitIn(Strict):
    kind: LimitKind
    appeal_type: AppealType | None = None
    urgency: Urgency | None = None
    amount: Annotated[int, Field(ge=1, le=100000)]
    unit: LimitUnit


class CalendarOverrideIn(Strict):
    day: date
    is_workday: bool
    note: OptionalLine = None


class CalendarOverrideOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    is_workday: bool
    note: str | None


class CalendarNoticeIn(Strict):
    """国务院办公厅 notice of a year's holidays: its rest days and its 调休 working weekends."""

    holidays: Annotated[list[date], Field(min_length=1, max_length=60, description="rest days (放假)")]
    workdays: Annotated[list[date], Field(max_length=30, description="调休 working weekends (上班)")] = Field(
        default_factory=list
    )


class CalendarNoticeOut(BaseModel):
    year: int
    holidays: int
    workdays: int
    imported_at: str
    tickets_moved: int = Field(description="open tickets whose deadlines moved with the change")


class CalendarYearOut(BaseModel):
    year: int
    source: str = Field(description="official (chinese-calendar) | notice (imported) | statutory (fallback)")
    imported: dict[str, Any] | None


class CalendarStatusOut(BaseModel):
    years: list[CalendarYearOut]
    warnings: list[str] = Field(description="for admins, a banner: a year's notice not imported yet")


class PhoneLookupIn(Strict):
    """A phone number travels in a body, never in a URL (URLs end up in proxies' and servers' logs)."""

    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]


class Option(BaseModel):
    value: str
    label: str


class Vocabulary(BaseModel):
    """Every code the API speaks, with its Chinese label (for the console's selects and tags)."""

    statuses: list[Option]
    appeal_types: list[Option]
    urgencies: list[Option]
    channels: list[Option]
    roles: list[Option]
    categories: list[Option]
    return_reasons: list[Option]
    not_accepted_reasons: list[Option]
    emergency_services: list[Option]
    satisfactions: list[Option]
    department_levels: list[Option]
    department_kinds: list[Option]
    limit_kinds: list[Option]
    limit_units: list[Option]


class CitizenHistory(BaseModel):
    citizen: CitizenOut | None
    ticket_count: int
    open_tickets: list[TicketOut]
    recent_tickets: list[TicketOut]


TokenOut.model_rebuild()


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    filename: str
    content_type: str = Field(description="Read from the file's bytes, not from the uploader.")
    size: int
    sha256: str
    source: str = Field(description="staff | channel | citizen")
    uploaded_by_id: int | None
    created_at: datetime
    url: str = Field(description="GET it (with the same bearer token) for the file itself.")
