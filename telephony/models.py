"""Telephony tables: call records (one per citizen call, keyed by Asterisk's Linkedid),
agent states, call-back tasks for abandoned calls (漏接回拨) and survey calls (回访)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow


class CallRecord(Base):
    __tablename__ = "telephony_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")  # queued|ringing|connected|ended…
    caller_number: Mapped[str | None] = mapped_column(String(64))  # as Asterisk gave it
    caller_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    dialled_number: Mapped[str | None] = mapped_column(String(32))
    caller_channel: Mapped[str | None] = mapped_column(String(200))
    caller_uniqueid: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    enter_queue_at: Mapped[datetime | None]
    ring_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    agent_interface: Mapped[str | None] = mapped_column(String(200), index=True)
    agent_name: Mapped[str | None] = mapped_column(String(100))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    ring_attempts: Mapped[int] = mapped_column(Integer, default=0)
    hangup_cause: Mapped[int | None]
    hangup_cause_text: Mapped[str | None] = mapped_column(String(100))
    hangup_by: Mapped[str | None] = mapped_column(String(16))  # agent | caller | transfer
    wait_seconds: Mapped[int | None]
    talk_seconds: Mapped[int | None]
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_target: Mapped[str | None] = mapped_column(String(32))
    transferred_at: Mapped[datetime | None]
    transferred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recording_file: Mapped[str | None] = mapped_column(String(255))
    # True when part of the record was reconstructed after a lost AMI connection.
    reconciled: Mapped[bool] = mapped_column(Boolean, default=False)
    # resync: closed when we noticed it had gone; cdr: Asterisk's CDR and queue log (exact)
    reconciled_from: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentStatus(Base):
    __tablename__ = "telephony_agents"

    interface: Mapped[str] = mapped_column(String(200), primary_key=True)
    member_name: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    queues: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="idle")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str | None] = mapped_column(String(100))
    linkedid: Mapped[str | None] = mapped_column(String(64))
    wrapup_until: Mapped[datetime | None]
    state_since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallbackTask(Base):
    """漏接回拨: one per abandoned call."""

    __tablename__ = "telephony_callback_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    called_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    wait_seconds: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done | unreachable
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyCall(Base):
    """An outbound IVR survey call (回访) and its result."""

    __tablename__ = "telephony_survey_calls"
    __table_args__ = (Index("ix_telephony_survey_calls_ticket_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[str] = mapped_column(String(64))
    phone_e164: Mapped[str] = mapped_column(String(32))
    dial_number: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[str] = mapped_column(String(64), unique=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    # queued → dialing → answered → completed | no_answer | busy | failed | no_input
    status: Mapped[str] = mapped_column(String(16), default="queued")
    satisfaction: Mapped[str | None] = mapped_column(String(32))  # satisfied | basically_satisfied | unsatisfied
    satisfaction_digit: Mapped[str | None] = mapped_column(String(4))
    resolution: Mapped[str | None] = mapped_column(String(16))  # resolved | unresolved
    resolution_digit: Mapped[str | None] = mapped_column(String(4))
    originate_reason: Mapped[int | None]
    hangup_cause: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    FINAL = ("completed", "no_answer", "busy", "failed", "no_input")

    @property
    def finished(self) -> bool:
        return self.status in self.FINAL


# -- Asterisk's own records, written by Asterisk into our database -------------------------------
# The shapes are Asterisk 22's: contrib/realtime/postgresql/postgresql_cdr.sql and
# postgresql_queue_log.sql of the Asterisk sources (cdr_pgsql fills every column whose name is a
# CDR field; the realtime queue_log with ``queue_adaptive_realtime`` splits data1..data5). Our
# only additions are the ``id`` key of ``cdr`` (cdr_pgsql skips a column that has a default) and
# indexes. Times are UTC (``timezone = UTC`` in cdr_pgsql.conf, ``queue_log_realtime_use_gmt``).


class AsteriskCdr(Base):
    __tablename__ = "cdr"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    accountcode: Mapped[str | None] = mapped_column(String(80))
    src: Mapped[str | None] = mapped_column(String(80))
    dst: Mapped[str | None] = mapped_column(String(80))
    dcontext: Mapped[str | None] = mapped_column(String(80))
    clid: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[str | None] = mapped_column(String(80))
    dstchannel: Mapped[str | None] = mapped_column(String(80))
    lastapp: Mapped[str | None] = mapped_column(String(80))
    lastdata: Mapped[str | None] = mapped_column(String(80))
    start: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    answer: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), index=True)
    duration: Mapped[int | None]
    billsec: Mapped[int | None]
    disposition: Mapped[str | None] = mapped_column(String(45))
    amaflags: Mapped[str | None] = mapped_column(String(45))
    userfield: Mapped[str | None] = mapped_column(String(256))
    uniqueid: Mapped[str | None] = mapped_column(String(150), index=True)
    linkedid: Mapped[str | None] = mapped_column(String(150), index=True)
    peeraccount: Mapped[str | None] = mapped_column(String(80))
    sequence: Mapped[int | None]


class QueueLog(Base):
    __tablename__ = "queue_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    time: Mapped[datetime | None] = mapped_column(DateTime(timezone=False), index=True)
    callid: Mapped[str | None] = mapped_column(String(80), index=True)
    queuename: Mapped[str | None] = mapped_column(String(256))
    agent: Mapped[str | None] = mapped_column(String(80))
    event: Mapped[str | None] = mapped_column(String(32))
    data1: Mapped[str | None] = mapped_column(String(100))
    data2: Mapped[str | None] = mapped_column(String(100))
    data3: Mapped[str | None] = mapped_column(String(100))
    data4: Mapped[str | None] = mapped_column(String(100))
    data5: Mapped[str | None] = mapped_column(String(100))
