"""督办 and reminders: the sweep, claiming each reminder/escalation once, who is told, and the
supervisor's hand (raise, settle), the board and the monthly 通报 list."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, literal, or_, select, text, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from escalation import callbacks, rules
from escalation.config import Config
from escalation.models import CallbackAttempt, EscalationDue, EscalationRecord, NotificationMessage
from escalation.notify import Recipient, insert_for, insert_messages, message_rows
from hotline import access, lifecycle
from hotline.db import UTCDateTime, utcnow
from hotline.enums import Role, TicketStatus
from hotline.errors import Conflict, InvalidInput
from hotline.models import Department, Ticket, TimelineEvent, User
from hotline.phone import normalize_phone
from hotline.settings import get_settings

log = logging.getLogger("escalation")
SWEEPING = "escalation_sweeping"

TRIGGER_TEXT = {
    "sign_80pct": "签收时限已用去80%，尚未签收",
    "sign_final": "距签收时限不足1小时，尚未签收",
    "reply_80pct": "办理时限已用去80%",
    "reply_final": "距办理时限已不足",
    "sign_overdue": "超过签收时限未签收",
    "overdue": "已超过办理时限",
    "overdue_l3": "超过办理时限2个工作日",
    "overdue_l4": "超过办理时限5个工作日",
    "overdue_l5": "超过办理时限10个工作日",
    "callback_unsatisfied": "回访不满意且理由成立，已重办",
    "unsatisfied_after_reopen": "重办后回访仍不满意",
    "repeat_appeal": "同一诉求重复来电",
    "manual": "督办员人工督办",
}


def local_text(moment: datetime | None, ctx: rules.Context) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ctx.calendar.tz).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- who is told


def _users(session: Session, role: Role, department_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.role == role.value, User.department_id == department_id, User.active.is_(True))
        )
    )


def _user_recipient(kind: str, user: User) -> Recipient:
    return Recipient(kind, user.display_name, user.id, normalize_phone(user.phone) if user.phone else None, user.email)


def _contacts(dept: Department, roles: set[str]) -> list[Recipient]:
    out = []
    for c in dept.contacts or []:
        if c.get("role") in roles:
            phone = normalize_phone(c.get("phone")) if c.get("phone") else None
            out.append(Recipient(str(c.get("role")), str(c.get("name") or c.get("role")), None, phone, c.get("email")))
    return out


def recipients_for(session: Session, ticket: Ticket, kinds: list[str], cfg: Config) -> list[Recipient]:
    """The people each recipient kind names for this ticket, each once."""
    dept = session.get(Department, ticket.primary_department_id) if ticket.primary_department_id else None
    found: list[Recipient] = []
    for kind in kinds:
        if kind == "handler" and dept is not None:
            primary = next((a for a in ticket.assignments if a.role == "primary" and a.status != "withdrawn"), None)
            signer = session.get(User, primary.signed_by_id) if primary and primary.signed_by_id else None
            people = [signer] if signer else _users(session, Role.dept_handler, dept.id)
            found += [_user_recipient(kind, u) for u in people]
        elif kind == "liaison" and dept is not None:
            if dept.liaison_name or dept.liaison_phone:
                phone = normalize_phone(dept.liaison_phone) if dept.liaison_phone else None
                found.append(Recipient(kind, dept.liaison_name or "联络员", None, phone))
            found += _contacts(dept, {"liaison"})
        elif kind == "dept_head" and dept is not None:
            # 分管领导: the department's heads, else the nearest unit above that has one.
            unit: Department | None = dept
            while unit is not None:
                heads = _users(session, Role.dept_head, unit.id)
                if heads:
                    found += [_user_recipient(kind, u) for u in heads]
                    break
                unit = session.get(Department, unit.parent_id) if unit.parent_id else None
        elif kind == "department_head" and dept is not None:
            found += _contacts(dept, {"head", "principal"})
        elif kind == "authority":
            supervisors = session.scalars(
                select(User).where(User.role == Role.supervisor.value, User.active.is_(True)).order_by(User.id)
            )
            found += [_user_recipient(kind, u) for u in supervisors]
        for extra in (cfg.raw.get("extra_recipients") or {}).get(kind, []) or []:
            phone = normalize_phone(extra.get("phone")) if extra.get("phone") else None
            found.append(Recipient(kind, str(extra.get("name", kind)), extra.get("user_id"), phone, extra.get("email")))
    unique: dict[str, Recipient] = {}
    for r in found:
        unique.setdefault(r.ident(), r)
    return list(unique.values())


# ---------------------------------------------------------------- claiming


def claim(
    session: Session,
    ticket: Ticket,
    *,
    kind: str,
    level: int,
    cause: str,
    instance: str,
    trigger: str,
    due_at: datetime | None,
    actor: User | None = None,
    note: str | None = None,
    **values: Any,
) -> int | None:
    """Insert the record: the claim. None when someone (another worker, earlier) already has it."""
    stmt = (
        insert_for(session)(EscalationRecord)
        .values(
            ticket_id=ticket.id,
            kind=kind,
            level=level,
            cause=cause,
            instance=instance,
            trigger=trigger,
            due_at=due_at,
            department_id=ticket.primary_department_id,
            recipients=values.pop("recipients", []),
            actions=values.pop("actions", {}),
            note=note,
            actor_id=actor.id if actor else None,
            created_at=utcnow(),
            **values,
        )
        .on_conflict_do_nothing(index_elements=["ticket_id", "level", "cause", "instance"])
        .returning(EscalationRecord.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def _actions(ticket: Ticket, level: int, spec: dict[str, Any], ctx: rules.Context, now: datetime) -> dict[str, Any]:
    actions: dict[str, Any] = {"list": list(spec.get("actions", []))}
    local = now.astimezone(ctx.calendar.tz)
    if "document" in actions["list"]:
        kind = spec.get("document", "督办单")
        actions["document"] = {"type": kind, "number": f"{kind}〔{local.year}〕{ticket.number}-{level}号"}
    if "red_flag" in actions["list"]:
        actions["red_flag"] = True
    if "board" in actions["list"]:
        actions["board"] = True
    if "appointment" in actions["list"]:
        days = int(spec.get("appointment_after_working_days", 2))
        day = ctx.calendar.add_working_days(now, days).astimezone(ctx.calendar.tz) - timedelta(days=1)
        actions["appointment"] = {"type": "约谈", "date": day.date().isoformat(), "status": "scheduled"}
    if "monthly_report" in actions["list"]:
        actions["monthly_report"] = {"month": f"{local.year:04d}-{local.month:02d}"}
    return actions


def _message_text(ticket: Ticket, trigger: str, note: str | None, ctx: rules.Context, title: str) -> tuple[str, str]:
    what = TRIGGER_TEXT.get(trigger, trigger)
    subject = f"【{title}】工单{ticket.number}"
    due = ""
    if ticket.status == TicketStatus.dispatched and ticket.sign_due:
        due = f"签收时限：{local_text(ticket.sign_due, ctx)}。"
    if ticket.reply_due and ticket.status in rules.HANDLING:
        due += f"办理时限：{local_text(ticket.reply_due, ctx)}。"
    body = f"工单{ticket.number}「{ticket.title}」{what}。{due}请尽快办理。【12345热线】"
    if note:
        body = f"工单{ticket.number}「{ticket.title}」{what}：{note}。{due}【12345热线】"
    return subject, body


def _recipients_cached(session: Session, ctx: rules.Context, ticket: Ticket, kinds: list[str]) -> list[Recipient]:
    primary = next((a for a in ticket.assignments if a.role == "primary" and a.status != "withdrawn"), None)
    key = (ticket.primary_department_id, primary.signed_by_id if primary else None, tuple(kinds))
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = recipients_for(session, ticket, kinds, ctx.config)
    return found


@dataclass
class Pending:
    """A trigger about to be claimed, with everything its record and messages need."""

    ticket: Ticket
    trig: rules.Trigger
    recipients: list[Recipient]
    channels: list[str]
    actions: dict[str, Any]
    title: str
    before: int
    actor: User | None = None
    note: str | None = None

    @property
    def key(self) -> tuple[int, int, str, str]:
        return (self.ticket.id, self.trig.level, self.trig.cause, self.trig.instance)


def prepare(
    session: Session,
    ctx: rules.Context,
    ticket: Ticket,
    trig: rules.Trigger,
    now: datetime,
    *,
    before: int,
    actor: User | None = None,
    note: str | None = None,
) -> Pending:
    if trig.kind == "reminder":
        spec = {"recipients": ["handler", "liaison"], "channels": ctx.config.reminders.get("channels", ["inbox"])}
        title = "预警提醒"
    else:
        spec = ctx.config.level(trig.level)
        title = f"{trig.level}级督办·{ctx.config.level_name(trig.level)}"
    recipients = _recipients_cached(session, ctx, ticket, list(spec.get("recipients", [])))
    actions = _actions(ticket, trig.level, spec, ctx, now) if trig.kind == "escalation" else {}
    return Pending(ticket, trig, recipients, list(spec.get("channels", [])), actions, title, before, actor, note)


_RECORD_KEY = ["ticket_id", "level", "cause", "instance"]
_RECORD_ARRAYS = {  # PostgreSQL: each column as one array parameter (INSERT ... SELECT FROM unnest)
    "ticket_id": "int[]",
    "kind": "text[]",
    "level": "int[]",
    "cause": "text[]",
    "instance": "text[]",
    "trigger": "text[]",
    "due_at": "timestamptz[]",
    "department_id": "int[]",
    "recipients": "json[]",
    "actions": "json[]",
    "note": "text[]",
    "actor_id": "int[]",
    "level_before": "int[]",
    "level_after": "int[]",
    "created_at": "timestamptz[]",
}


def _insert_records(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[int, int, str, str], int]:
    """Insert the records, ON CONFLICT DO NOTHING on their unique key: the claim. Returns key → id
    of those this call inserted (a key taken earlier, or by another worker, is not returned)."""
    table = EscalationRecord.__table__
    if session.get_bind().dialect.name == "postgresql":
        # One statement with one array parameter per column: a multi-row VALUES of 15 placeholders
        # a row (what an executemany ... RETURNING becomes) is parsed and planned afresh at every
        # batch, ≈0.1 s for 500 rows; this one is 15 parameters whatever the number of rows.
        cols = ", ".join(_RECORD_ARRAYS)
        arrays = ", ".join(f"CAST(:{c} AS {t})" for c, t in _RECORD_ARRAYS.items())
        stmt: Any = text(
            f"INSERT INTO escalation_records ({cols}) SELECT * FROM unnest({arrays}) "
            f"ON CONFLICT ({', '.join(_RECORD_KEY)}) DO NOTHING RETURNING id, ticket_id, level, cause, instance"
        )
        params: dict[str, Any] = {c: [r[c] for r in rows] for c in _RECORD_ARRAYS}
        dumps = getattr(session.get_bind().dialect, "_json_serializer", None) or json.dumps  # as the JSON type
        for c in ("recipients", "actions"):
            params[c] = [dumps(v) for v in params[c]]
        result = session.execute(stmt, params)
    else:
        # executemany of the table's INSERT ... RETURNING: compiled once (cached).
        stmt = (
            insert_for(session)(table)
            .on_conflict_do_nothing(index_elements=_RECORD_KEY)
            .returning(table.c.id, table.c.ticket_id, table.c.level, table.c.cause, table.c.instance)  # type: ignore[attr-defined]
        )
        result = session.execute(stmt, rows)
    return {(row.ticket_id, row.level, row.cause, row.instance): row.id for row in result}


def fire_many(session: Session, ctx: rules.Context, pending: list[Pending], now: datetime) -> list[tuple[int, Pending]]:
    """Claim many triggers in one statement; act once on each one this call claimed.

    The records are inserted whole (the claim: ON CONFLICT DO NOTHING on their unique key), their
    messages in one more statement, then each ticket's level and timeline event through
    ``lifecycle.escalate_ticket``, in order.
    """
    if not pending:
        return []
    rows = []
    for p in pending:
        escalating = p.trig.kind == "escalation"
        rows.append(
            {
                "ticket_id": p.ticket.id,
                "kind": p.trig.kind,
                "level": p.trig.level,
                "cause": p.trig.cause,
                "instance": p.trig.instance,
                "trigger": p.trig.trigger,
                "due_at": p.trig.at,
                "department_id": p.ticket.primary_department_id,
                "recipients": [r.public(r.channels_for(p.channels)) for r in p.recipients],
                "actions": p.actions,
                "note": p.note,
                "actor_id": p.actor.id if p.actor else None,
                "level_before": p.before if escalating else None,
                "level_after": max(p.before, p.trig.level) if escalating else None,
                "created_at": utcnow(),
            }
        )
    claimed = _insert_records(session, rows)
    done: list[tuple[int, Pending]] = []
    messages: list[dict[str, Any]] = []
    for p in pending:
        record_id = claimed.get(p.key)
        if record_id is None:
            continue
        subject, body = _message_text(p.ticket, p.trig.trigger, p.note, ctx, p.title)
        messages += message_rows(
            key=f"r{record_id}",
            recipients=p.recipients,
            channels=p.channels,
            subject=subject,
            body=body,
            ticket_id=p.ticket.id,
            record_id=record_id,
        )
        done.append((record_id, p))
    insert_messages(session, messages)
    escalations: list[tuple[int, Pending]] = [(record_id, p) for record_id, p in done if p.trig.kind == "escalation"]
    items = []
    steps = lifecycle.escalation_steps([(p.ticket, p.trig.level) for _record_id, p in escalations])
    for (record_id, p), (before, _after) in zip(escalations, steps, strict=True):
        ticket, trig = p.ticket, p.trig
        skipped = list(range(before + 1, trig.level))
        text = TRIGGER_TEXT.get(trig.trigger, trig.trigger)
        if skipped:
            text += f"（由{before}级直接升至{trig.level}级，跨过{'、'.join(map(str, skipped))}级）"
        if p.note:
            text += f"：{p.note}"
        items.append(
            lifecycle.Escalation(
                ticket,
                trig.level,
                trig.cause,
                note=text,
                data={
                    "record_id": record_id,
                    "trigger": trig.trigger,
                    "instance": trig.instance,
                    "skipped_levels": skipped,
                    "recipients": [r.name for r in p.recipients],
                    "actions": p.actions.get("list", []),
                },
            )
        )
    if items:
        # One actor per call (the sweep: none; a supervisor: one ticket).
        actor = escalations[0][1].actor
        assert all(p.actor is actor for _r, p in escalations)
        # The sweep (no actor) holds its tickets locked and flushes the batch once (link_events);
        # a supervisor's hand flushes at once so that a lost race is a Conflict.
        events = lifecycle.escalate_tickets(session, items, actor, flush=actor is not None)
        links = session.info.setdefault("escalation_event_links", [])
        for (record_id, p), event in zip(escalations, events, strict=True):
            links.append((record_id, event))
            log.info(
                "ticket %s: level %s (%s, %s) to %s recipients",
                p.ticket.number,
                p.trig.level,
                p.trig.cause,
                p.trig.trigger,
                len(p.recipients),
            )
    return done


def fire(
    session: Session,
    ctx: rules.Context,
    ticket: Ticket,
    trig: rules.Trigger,
    now: datetime,
    *,
    actor: User | None = None,
    note: str | None = None,
) -> int | None:
    """Claim one reminder or escalation and, if this call claimed it, act on it once."""
    pending = prepare(session, ctx, ticket, trig, now, before=ticket.escalation_level, actor=actor, note=note)
    done = fire_many(session, ctx, [pending], now)
    return done[0][0] if done else None


def link_events(session: Session) -> None:
    """Store on each record the id of its timeline event (one statement for the batch)."""
    links = session.info.pop("escalation_event_links", [])
    if links:
        session.flush()
        session.execute(
            update(EscalationRecord),
            [{"id": record_id, "timeline_event_id": event.id} for record_id, event in links],
        )


# ---------------------------------------------------------------- the sweep


@dataclass
class SweepStats:
    tickets: int = 0
    fired: int = 0
    callbacks: int = 0
    batches: int = 0
    seconds: float = 0.0
    levels: dict[int, int] = field(default_factory=dict)


def _claimed(session: Session, ticket_ids: list[int]) -> dict[int, dict[rules.Key, str]]:
    out: dict[int, dict[rules.Key, str]] = defaultdict(dict)
    if not ticket_ids:
        return out
    rows = session.execute(
        select(
            EscalationRecord.ticket_id,
            EscalationRecord.level,
            EscalationRecord.cause,
            EscalationRecord.instance,
            EscalationRecord.trigger,
        ).where(EscalationRecord.ticket_id.in_(ticket_ids))
    )
    for tid, level, cause, instance, trigger in rows:
        out[tid][(level, cause, instance)] = trigger
    for tid, instance in session.execute(
        select(CallbackAttempt.ticket_id, CallbackAttempt.instance).where(CallbackAttempt.ticket_id.in_(ticket_ids))
    ):
        out[tid][(0, "callback", instance)] = "callback"
    return out


def sweep_batch(session: Session, *, batch_size: int = 500, now: datetime | None = None) -> SweepStats:
    """One batch: lock what is due (SKIP LOCKED), fire it, set each ticket's next look. Commits."""
    stats = SweepStats()
    now = now or utcnow()
    rows = session.execute(
        select(EscalationDue, Ticket)
        .join(Ticket, Ticket.id == EscalationDue.ticket_id)
        .where(EscalationDue.next_at <= now)
        .order_by(EscalationDue.next_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True, of=[EscalationDue, Ticket])  # type: ignore[list-item]
        .options(selectinload(Ticket.assignments))
    ).all()
    if not rows:
        session.rollback()
        return stats
    session.info[SWEEPING] = True
    try:
        ctx = rules.Context.load(session)
        claimed = _claimed(session, [t.id for _d, t in rows])
        delay = get_settings().escalation_item_delay
        pending: list[Pending] = []
        for due_row, ticket in rows:
            done, next_at = rules.evaluate(ticket, ctx, claimed.get(ticket.id, {}), now)
            level = ticket.escalation_level
            for trig in done:
                if trig.kind == "callback":
                    stats.callbacks += callbacks.create_for_ticket(session, ctx, ticket, trig.instance, now)
                    continue
                pending.append(prepare(session, ctx, ticket, trig, now, before=level))
                if trig.kind == "escalation":
                    level = max(level, trig.level)
            if next_at is None:
                session.delete(due_row)
            else:
                due_row.next_at = next_at
                due_row.updated_at = now
            stats.tickets += 1
            if delay:
                session.flush()
                time.sleep(delay)
        for _record_id, p in fire_many(session, ctx, pending, now):
            stats.fired += 1
            stats.levels[p.trig.level] = stats.levels.get(p.trig.level, 0) + 1
        link_events(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(SWEEPING, None)
    stats.batches = 1
    return stats


def run_sweep(sm: sessionmaker[Session], *, batch_size: int = 500, time_budget: float = 50.0) -> SweepStats:
    """Batches until nothing is due (or the time budget is spent; the next sweep goes on)."""
    total = SweepStats()
    started = time.monotonic()
    while True:
        with sm() as session:
            stats = sweep_batch(session, batch_size=batch_size)
        total.tickets += stats.tickets
        total.fired += stats.fired
        total.callbacks += stats.callbacks
        total.batches += stats.batches
        for level, n in stats.levels.items():
            total.levels[level] = total.levels.get(level, 0) + n
        if stats.tickets < batch_size or time.monotonic() - started > time_budget:
            break
    total.seconds = time.monotonic() - started
    return total


WATCHED = (TicketStatus.dispatched.value, TicketStatus.in_progress.value, TicketStatus.awaiting_callback.value)


def resync(session: Session) -> int:
    """Tickets with live deadlines that the sweep does not watch (bulk loads, lost hooks)."""
    now = utcnow()
    missing = select(Ticket.id, literal(now, UTCDateTime()), literal(now, UTCDateTime()))
    stmt = (
        insert_for(session)(EscalationDue)
        .from_select(
            ["ticket_id", "next_at", "updated_at"],
            missing.where(
                Ticket.status.in_(WATCHED),
                ~exists().where(EscalationDue.ticket_id == Ticket.id),
            ),
        )
        .on_conflict_do_nothing(index_elements=["ticket_id"])
    )
    result = session.execute(stmt)
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def watch(session: Session, ticket_id: int, at: datetime | None = None) -> None:
    """Have the next sweep look at the ticket (after a change, in the same transaction)."""
    at = at or utcnow()
    stmt = insert_for(session)(EscalationDue).values(ticket_id=ticket_id, next_at=at, updated_at=at)
    session.execute(stmt.on_conflict_do_update(index_elements=["ticket_id"], set_={"next_at": at, "updated_at": at}))


def on_ticket_event(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """Hook for every timeline event: the ticket changed, look at it again at the next sweep."""
    if session.info.get(SWEEPING) or ticket.id is None:
        return
    watch(session, ticket.id)
    if event.action == "record_callback" and event.actor_id is not None:
        callbacks.cancel_open(session, ticket.id, "回访员已登记回访结果")
    instance = callbacks.current_instance(ticket)
    if event.to_status == TicketStatus.awaiting_callback and instance is not None:
        # The callbacks exist from the moment the reply is accepted (a callback agent may answer
        # at once); the sweep only places the calls, and its own claim finds them already made.
        callbacks.create_for_ticket(session, rules.Context.load(session), ticket, instance, utcnow())


# Actions that give a department a ticket to sign: 派单, 改派 (退单 accepted), 加派, 重办.
ASSIGNING_ACTIONS = frozenset({"dispatch", "accept_return", "add_sub_assignment", "reopen"})
ROLE_TEXT = {"primary": "主办", "assist": "协办", "sub": "承办"}


def notify_assigned(session: Session, ticket: Ticket, event: TimelineEvent) -> int:
    """A department given the ticket is told at once: its handlers in the inbox, its 联络员 by
    SMS where a number is set. Once per assignment (the outbox key names it); the citizen's
    name and number are in no message."""
    if event.action not in ASSIGNING_ACTIONS or ticket.id is None:
        return 0
    session.flush()  # the new assignments' ids name their messages
    ctx = rules.Context.load(session)
    due = f"请于{local_text(ticket.sign_due, ctx)}前签收。" if ticket.sign_due else "请及时签收。"
    rows: list[dict[str, Any]] = []
    for assignment in ticket.assignments:
        if assignment.status != "dispatched":
            continue
        dept = session.get(Department, assignment.department_id)
        if dept is None:
            continue
        people = [_user_recipient("handler", u) for u in _users(session, Role.dept_handler, dept.id)]
        liaisons = _contacts(dept, {"liaison"})
        if dept.liaison_phone:
            phone = normalize_phone(dept.liaison_phone)
            liaisons.append(Recipient("liaison", dept.liaison_name or "联络员", None, phone))
        role = ROLE_TEXT.get(assignment.role, "承办")
        subject = f"【新派工单】工单{ticket.number}"
        body = f"工单{ticket.number}「{ticket.title}」已派至{dept.name}（{role}）。{due}【12345热线】"
        common = {"subject": subject, "body": body, "ticket_id": ticket.id, "now": event.at}
        key = f"assigned:{assignment.id}"
        rows += message_rows(key=key, recipients=people, channels=["inbox"], **common)
        rows += message_rows(key=key, recipients=liaisons, channels=["sms"], **common)
    insert_messages(session, rows)
    return len(rows)


# ---------------------------------------------------------------- the supervisor's hand


def raise_level(session: Session, ticket: Ticket, actor: User, *, level: int, reason: str) -> EscalationRecord:
    """A supervisor raises the ticket to ``level`` by hand, with a reason (recorded and told)."""
    if Role(actor.role) not in lifecycle.ESCALATION_ROLES:
        raise access.role_refusal(actor, lifecycle.ESCALATION_ROLES, "督办")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写督办理由", field="reason")
    if not 1 <= level <= 5:
        raise InvalidInput("督办级别须在 1 到 5 之间", field="level")
    if ticket.status not in rules.OPEN:
        raise Conflict("工单已办结，不能督办", code="invalid_state")
    if level <= ticket.escalation_level:
        raise Conflict(f"工单已处于{ticket.escalation_level}级督办，不能升至{level}级", code="not_higher")
    ctx = rules.Context.load(session)
    now = utcnow()
    trig = rules.Trigger("escalation", level, "manual", f"manual-{uuid.uuid4().hex[:12]}", "manual", now)
    record_id = fire(session, ctx, ticket, trig, now, actor=actor, note=reason)
    assert record_id is not None  # a fresh instance is never claimed before
    link_events(session)
    record = session.get(EscalationRecord, record_id)
    assert record is not None
    return record


def settle(session: Session, ticket: Ticket, actor: User, *, level: int, reason: str) -> EscalationRecord:
    """A supervisor settles (lowers or sets) the level by hand; recorded, nobody is paged."""
    before = ticket.escalation_level
    lifecycle.settle_escalation(session, ticket, actor, level=level, reason=reason)
    event_id = session.scalar(select(func.max(TimelineEvent.id)).where(TimelineEvent.ticket_id == ticket.id))
    record_id = claim(
        session,
        ticket,
        kind="settle",
        level=level,
        cause="settle",
        instance=f"settle-{uuid.uuid4().hex[:12]}",
        trigger="settle",
        due_at=None,
        actor=actor,
        note=reason,
        level_before=before,
        level_after=level,
        timeline_event_id=event_id,
    )
    record = session.get(EscalationRecord, record_id)
    assert record is not None
    return record


# ---------------------------------------------------------------- reading


def records_of(session: Session, ticket_id: int) -> list[EscalationRecord]:
    return list(
        session.scalars(
            select(EscalationRecord).where(EscalationRecord.ticket_id == ticket_id).order_by(EscalationRecord.id)
        )
    )


def board(session: Session, *, min_level: int = 1, limit: int = 100, offset: int = 0) -> tuple[list[Any], int]:
    """Open tickets under 督办, highest level first, then the longest waiting."""
    where = and_(Ticket.status.in_(list(rules.OPEN)), Ticket.escalation_level >= min_level)
    total = session.scalar(select(func.count()).select_from(Ticket).where(where)) or 0
    last = (
        select(EscalationRecord.ticket_id, func.max(EscalationRecord.id).label("rid"))
        .where(EscalationRecord.kind == "escalation")
        .group_by(EscalationRecord.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket, Department.name, EscalationRecord)
        .outerjoin(Department, Department.id == Ticket.primary_department_id)
        .outerjoin(last, last.c.ticket_id == Ticket.id)
        .outerjoin(EscalationRecord, EscalationRecord.id == last.c.rid)
        .where(where)
        .order_by(Ticket.escalation_level.desc(), Ticket.reply_due.asc().nulls_last(), Ticket.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def monthly_report(session: Session, month: str, tz: Any) -> list[EscalationRecord]:
    """Level-5 escalations of a month (通报 list)."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=tz)
    except ValueError as exc:
        raise InvalidInput("月份格式须为 YYYY-MM", field="month", where="query") from exc
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return list(
        session.scalars(
            select(EscalationRecord)
            .where(
                EscalationRecord.kind == "escalation",
                EscalationRecord.level == 5,
                EscalationRecord.created_at >= start,
                EscalationRecord.created_at < end,
            )
            .order_by(EscalationRecord.id)
        )
    )


def inbox_where(user: User) -> list[Any]:
    """A user's inbox: in-app messages sent to them, except about tickets they may no longer see
    (a department loses a ticket's notices with the ticket, e.g. after 退单 and 改派)."""
    return [
        NotificationMessage.recipient_user_id == user.id,
        NotificationMessage.channel == "inbox",
        NotificationMessage.status == "sent",
        or_(NotificationMessage.ticket_id.is_(None), access.can_see_ticket(user, NotificationMessage.ticket_id)),
    ]


def unread_count(session: Session, user: User) -> int:
    unread = [*inbox_where(user), NotificationMessage.read_at.is_(None)]
    return int(session.scalar(select(func.count()).select_from(NotificationMessage).where(*unread)) or 0)


def drop_watch(session: Session, ticket_id: int) -> None:
    session.execute(delete(EscalationDue).where(EscalationDue.ticket_id == ticket_id))
