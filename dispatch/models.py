"""Tables of dispatch: the 派单目录 with its change history, the gazetteer, decisions (append-only),
coordination of disputed 退单, and 并单 candidates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.db import Base, utcnow


class DispatchRule(Base):
    """One line of the 派单目录: conditions (all/any/none) → 主办 and 协办.

    ``conditions`` is a group ``{"all": [...], "any": [...], "none": [...]}`` whose items are leaves
    (``{"keywords": [...]}``, ``{"category": [...]}``, ...) or nested groups. ``primary`` and
    ``assists`` are department codes or the 属地 tokens ``@street``, ``@district``, ``@community``.
    """

    __tablename__ = "dispatch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    primary: Mapped[str] = mapped_column(String(64))
    assists: Mapped[list[str]] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.9)
    note: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DispatchRuleChange(Base):
    """History of the catalogue: one row per created, changed or deleted rule (who, when, before, after).

    The catalogue version is the id of the newest change; every decision stores the version it used.
    """

    __tablename__ = "dispatch_rule_changes"
    __table_args__ = (Index("ix_dispatch_rule_changes_code", "rule_code", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | import | seed
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_by_name: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class DispatchPlace(Base):
    """A gazetteer entry: a place name (district, street, community, road, 小区, landmark or an alias)
    and the territorial department it lies in (the finest one known)."""

    __tablename__ = "dispatch_places"
    __table_args__ = (UniqueConstraint("name", "department_code", name="uq_dispatch_places_name_dept"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # district | street | community | road | compound | landmark
    department_code: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str | None] = mapped_column(String(64))


class DispatchPending(Base):
    """A ticket registered and not yet routed: written with the registration, taken by the worker
    (``dispatch.route_pending``), deleted with the decision. Nothing is lost if the broker is down
    when the ticket is registered, and nothing is routed twice (the row is the claim)."""

    __tablename__ = "dispatch_pending"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DispatchDecision(Base):
    """Every routing decision for a ticket, append-only: what was proposed, why, and what became of it."""

    __tablename__ = "dispatch_decisions"
    __table_args__ = (Index("ix_dispatch_decisions_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))  # initial | redispatch | manual | coordination | recompute
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    catalogue_version: Mapped[int] = mapped_column(Integer, default=0)
    place: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    classifier: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    proposals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    excluded_department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # auto_dispatched | held | queued | dispatched | not_routable
    outcome: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    primary_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    assist_department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    followed_proposal: Mapped[bool | None] = mapped_column(Boolean)


class DispatchCoordination(Base):
    """协调: a ticket sent back twice waits for a supervisor to settle which department handles it."""

    __tablename__ = "dispatch_coordinations"
    __table_args__ = (Index("ix_dispatch_coordinations_status", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | settled
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    return_count: Mapped[int] = mapped_column(Integer)
    departments: Mapped[list[int]] = mapped_column(JSON, default=list)  # those that sent it back
    reason: Mapped[str] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column()
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    note: Mapped[str | None] = mapped_column(Text)


class DispatchRepeatCandidate(Base):
    """并单 candidate: a new ticket that looks like the same matter as an open one."""

    __tablename__ = "dispatch_repeat_candidates"
    __table_args__ = (UniqueConstraint("ticket_id", "candidate_id", name="uq_dispatch_repeat_candidates_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)  # the new one
    candidate_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)  # the open one
    score: Mapped[float] = mapped_column(Float)
    similarity: Mapped[float] = mapped_column(Float)
    same_citizen: Mapped[bool] = mapped_column(Boolean, default=False)
    same_place: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="flagged")  # flagged | merged | dismissed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()


@event.listens_for(Session, "before_flush")
def _decisions_are_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, DispatchDecision) and (session.is_modified(obj) or obj in session.deleted):
            raise PermissionError("dispatch decisions are append-only")
