"""Tables of the ticket core: departments, users, citizens, tickets and their timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from hotline.db import Base, utcnow
from hotline.enums import (
    AssignmentRole,
    AssignmentStatus,
    DepartmentKind,
    DepartmentLevel,
    ExtensionStatus,
    LimitKind,
    LimitUnit,
    Role,
    TicketStatus,
    Urgency,
)
from hotline.fulltext import Searchable, SearchDocument


class Department(Base):
    """A unit of the 四级联动 tree (city → district → street/town → community)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16), default=DepartmentLevel.city.value)
    kind: Mapped[str] = mapped_column(String(16), default=DepartmentKind.functional.value)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # Materialised path "/1/4/17/": a department's subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(512), default="/", index=True)
    liaison_name: Mapped[str | None] = mapped_column(String(100))  # 联络员
    liaison_phone: Mapped[str | None] = mapped_column(String(32))
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side="Department.id")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # An agent's seat: its number ("8001", which names both PJSIP/8001 and Local/8001@hotline-agents/n)
    # or one full queue member interface.
    extension: Mapped[str | None] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Tokens carry the version they were issued under (claim ``ver``); raising it revokes them all.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column()
    # Set by an admin's 重置密码, cleared by the user's own 修改密码: until then the user may only
    # change it (hotline.auth refuses everything else, 403 password_change_required).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class LoginFailure(Base):
    """Failed logins, counted per username and client to rate-limit guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Citizen(Base):
    """诉求人, keyed by the normalised (E.164) phone number."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # 保密: name and number are hidden from departments on all of this citizen's tickets.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketCounter(Base):
    """Per-day sequence behind the human-readable ticket number 20261122-000123."""

    __tablename__ = "ticket_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """工单."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_sign_due", "sign_due"),
        Index("ix_tickets_reply_due", "reply_due"),
        Index("ix_tickets_callback_due", "callback_due"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24), default=TicketStatus.registered.value)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    # 五要素: who (citizen + contact name), when, where, cause, course.
    contact_name: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[str | None] = mapped_column(String(100))  # as told: "昨晚十点" or a date
    address: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(200))  # cause, in a line
    content: Mapped[str] = mapped_column(Text)  # course, as told
    appeal_type: Mapped[str] = mapped_column(String(16))  # 诉求类型
    category: Mapped[str | None] = mapped_column(String(64), index=True)  # 业务领域
    urgency: Mapped[str] = mapped_column(String(16), default=Urgency.normal.value)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    enterprise: Mapped[bool] = mapped_column(Boolean, default=False)  # 涉企
    source_call_id: Mapped[str | None] = mapped_column(String(64), index=True)  # Asterisk Linkedid
    primary_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # Deadlines that apply now; recomputed on the row at every change.
    sign_due: Mapped[datetime | None] = mapped_column()
    reply_due: Mapped[datetime | None] = mapped_column()
    return_due: Mapped[datetime | None] = mapped_column()
    callback_due: Mapped[datetime | None] = mapped_column()
    dispatched_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    replied_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)  # 重复来电 on the same matter
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)  # 重办
    return_count: Mapped[int] = mapped_column(Integer, default=0)  # 退单
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Outcome fields.
    resolution: Mapped[str | None] = mapped_column(String(32))  # direct | handled | not_accepted | transferred
    transfer_target: Mapped[str | None] = mapped_column(String(16))
    answer_text: Mapped[str | None] = mapped_column(Text)  # 直办 answer or 不予受理 reason
    handling_text: Mapped[str | None] = mapped_column(Text)  # 办理情况
    public_answer: Mapped[str | None] = mapped_column(Text)  # 公开答复
    resolved: Mapped[bool | None] = mapped_column(Boolean)  # 是否解决, as the department says
    satisfaction: Mapped[str | None] = mapped_column(String(24))  # department handling, from 回访
    service_satisfaction: Mapped[str | None] = mapped_column(String(24))  # the hotline's own service
    callback_resolved: Mapped[bool | None] = mapped_column(Boolean)  # 已解决/未解决, as the citizen says
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # model version and scores
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # 全文检索: the words of title, content and address (hotline/fulltext.py), kept on write.
    search_document: Mapped[str | None] = mapped_column(SearchDocument(), deferred=True)

    __mapper_args__ = {"version_id_col": version}

    citizen: Mapped[Citizen | None] = relationship()
    primary_department: Mapped[Department | None] = relationship()
    assignments: Mapped[list[TicketAssignment]] = relationship(back_populates="ticket", order_by="TicketAssignment.id")

    @property
    def status_enum(self) -> TicketStatus:
        return TicketStatus(self.status)


TICKET_SEARCH = Searchable(
    table="tickets",
    column="search_document",
    fields=(("title", "A"), ("address", "B"), ("content", "C")),
    fts_table="tickets_fts",
)
TICKET_SEARCH.keep_on_write(Ticket)


class TicketAssignment(Base):
    """A department's part in a ticket: 主办, 协办, or 加派 to a sub-unit."""

    __tablename__ = "ticket_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=AssignmentRole.primary.value)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.dispatched.value)
    parent_assignment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_assignments.id"))
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column()
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="assignments")
    department: Mapped[Department] = relationship()


class TicketCaller(Base):
    """Every citizen attached to a ticket (the original caller and callers of merged tickets)."""

    __tablename__ = "ticket_callers"
    __table_args__ = (UniqueConstraint("ticket_id", "citizen_id", name="uq_ticket_callers_ticket_citizen"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExtensionRequest(Base):
    """延期申请 and the hotline's ruling on it."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    working_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.pending.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_reply_due: Mapped[datetime | None] = mapped_column()


class TimelineEvent(Base):
    """全程留痕: one append-only row per action on a ticket."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_ticket_at", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(100))  # kept as it was at the time
    action: Mapped[str] = mapped_column(String(48))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # before/after and the rest


@event.listens_for(Session, "before_flush")
def _timeline_is_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TimelineEvent):
            raise PermissionError("the ticket timeline is append-only")


class TimeLimitPolicy(Base):
    """One time limit; the most specific row (type + urgency) wins. Admins edit these."""

    __tablename__ = "time_limit_policies"
    __table_args__ = (
        UniqueConstraint("kind", "appeal_type", "urgency", name="uq_time_limit_policies_kind_type_urgency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), default=LimitKind.reply.value)
    appeal_type: Mapped[str | None] = mapped_column(String(16))  # None = any type
    urgency: Mapped[str | None] = mapped_column(String(16))  # None = any urgency
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16), default=LimitUnit.working_days.value)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CalendarOverride(Base):
    """A center's own closures (or extra working days) on top of the official calendar."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))


class Setting(Base):
    """Small runtime settings an admin changes (max extensions, flags)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class ClassificationFeedback(Base):
    """A labelled example from the center: staff chose otherwise than the model proposed, or the
    department that finally handled a ticket. The retraining task learns from these rows."""

    __tablename__ = "classification_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    head: Mapped[str] = mapped_column(String(16))  # category | appeal_type | urgency | department
    predicted: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Attachment(Base):
    """A file on a ticket (photo, document, recording). The bytes live in the blob store
    (``hotline/blobstore.py``) under ``storage_key``; the name the uploader gave is only shown."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    store: Mapped[str] = mapped_column(String(8))  # disk | s3, where it was written
    filename: Mapped[str] = mapped_column(String(255))  # display name, cleaned
    content_type: Mapped[str] = mapped_column(String(100))  # from the bytes, not from the uploader
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # staff | channel | citizen
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
