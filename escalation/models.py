"""Tables of escalation: what is due next per ticket, the exactly-once records of reminders and
督办, the notification outbox, the SMS outbox adapter and the 回访 (callback) attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow


class EscalationDue(Base):
    """When the sweep next looks at a ticket.

    Derived from the deadline columns on the ticket row: every ticket change sets ``next_at``
    to now (a hook in the same transaction), the sweep evaluates the ticket against its
    deadlines and writes the next moment anything can become due (or drops the row).
    """

    __tablename__ = "escalation_due"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EscalationRecord(Base):
    """One reminder or escalation, claimed by inserting it: its key is unique."""

    __tablename__ = "escalation_records"
    __table_args__ = (
        UniqueConstraint("ticket_id", "level", "cause", "instance", name="uq_escalation_records_key"),
        Index("ix_escalation_records_level_created", "level", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation | settle
    level: Mapped[int] = mapped_column(Integer)  # 0 for reminders
    cause: Mapped[str] = mapped_column(String(48))  # deadline | callback_unsatisfied | repeat_appeal | manual ...
    instance: Mapped[str] = mapped_column(String(64))  # the deadline (or reopen, repeat) it refers to
    trigger: Mapped[str] = mapped_column(String(48))  # sign_overdue, reply_80pct, overdue_2wd, ...
    due_at: Mapped[datetime | None] = mapped_column()  # when it became due
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    level_before: Mapped[int | None] = mapped_column(Integer)
    level_after: Mapped[int | None] = mapped_column(Integer)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    timeline_event_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationMessage(Base):
    """The outbox: one message to one recipient on one channel.

    pending → sending (claimed; external channels) → sent, or back to pending with a backoff
    and the error, and failed after the last attempt. In-app messages are the inbox.
    """

    __tablename__ = "notification_messages"
    __table_args__ = (
        Index("ix_notification_messages_status_next", "status", "next_attempt_at"),
        Index("ix_notification_messages_inbox", "recipient_user_id", "channel", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_records.id", ondelete="CASCADE"), index=True)
    callback_id: Mapped[int | None] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # inbox | sms | email | a registered one (webhook)
    # Messages with the same key go out strictly in id order (a webhook's changes of one ticket).
    sequence_key: Mapped[str | None] = mapped_column(String(100), index=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str | None] = mapped_column(String(200))  # E.164 phone or e-mail address
    recipient_label: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsOutbox(Base):
    """The SMS adapter used when no HTTP gateway is configured (demo, tests, an SMS cat reading it)."""

    __tablename__ = "notification_sms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("notification_messages.id", ondelete="CASCADE"), unique=True)
    phone_e164: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackAttempt(Base):
    """回访 of one caller for one reply: IVR calls, then an SMS survey link, then an agent.

    scheduled → calling → (scheduled again | sms_sent) → queued (callback agents) ;
    any of them → answered → done ; review (不满意, an agent decides) ; unreachable ; cancelled.
    """

    __tablename__ = "escalation_callbacks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "citizen_id", "instance", name="uq_escalation_callbacks_key"),
        Index("ix_escalation_callbacks_status_next", "status", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    phone_e164: Mapped[str] = mapped_column(String(32))
    instance: Mapped[str] = mapped_column(String(64))  # the callback deadline it answers
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    next_at: Mapped[datetime | None] = mapped_column()
    ivr_attempts: Mapped[int] = mapped_column(Integer, default=0)
    survey_call_id: Mapped[int | None] = mapped_column(Integer)
    survey_case_id: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column()
    token_used_at: Mapped[datetime | None] = mapped_column()
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    service_satisfaction: Mapped[str | None] = mapped_column(String(24))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(16))  # ivr | sms | agent
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str | None] = mapped_column(String(16))  # reasonable | unreasonable
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
