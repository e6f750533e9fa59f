"""回访: call every caller back after a reply is accepted.

The next working day inside calling hours (urgent tickets at once), an IVR call through
telephony (``place_survey_call``), up to ``ivr_attempts`` times at spaced times; unanswered,
an SMS with a one-time survey link (``/survey/{token}``); still unanswered, the callback
agents' queue. When every caller's callback is over, the ticket's result is recorded once
(the least satisfied answer counts): 满意/基本满意 closes the ticket, 不满意 with a reasonable
cause reopens it (重办, and the sweep escalates to level 3, or 4 after an earlier 重办).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session, sessionmaker

from escalation import rules
from escalation.models import CallbackAttempt
from escalation.notify import Recipient, insert_for, queue_messages
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import Satisfaction, TicketStatus, Urgency
from hotline.errors import Conflict, HotlineError, InvalidInput
from hotline.models import Citizen, Ticket, TicketCaller, User
from hotline.orgs import get_system_user
from hotline.phone import mask_phone
from hotline.settings import get_settings

log = logging.getLogger("escalation.callbacks")

OPEN_STATES = ("scheduled", "calling", "sms_sent", "queued")
DUE_STATES = ("scheduled", "calling", "sms_sent")
RANK = {Satisfaction.unsatisfied.value: 0, Satisfaction.basically_satisfied.value: 1, Satisfaction.satisfied.value: 2}
LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _note(cb: CallbackAttempt, event: str, **data: Any) -> None:
    cb.log = [*(cb.log or []), {"at": utcnow().isoformat(), "event": event, **data}]


def current_instance(ticket: Ticket) -> str | None:
    if ticket.status != TicketStatus.awaiting_callback or ticket.callback_due is None:
        return None
    return "callback@" + rules.stamp(ticket.callback_due)


# ---------------------------------------------------------------- when calls may be placed


def allowed_call_time(ctx: rules.Context, moment: datetime, *, urgent: bool, drill: bool) -> datetime:
    """The earliest moment at or after ``moment`` when the citizen may be called."""
    cfg = ctx.config.callback
    if urgent and cfg.get("urgent_any_time", False):  # the rules allow urgent calls at night
        return moment
    # Urgent: any day, within the urgent calling hours; otherwise working days, calling hours.
    start, end = ctx.config.calling_hours(urgent=urgent)
    tz = ctx.calendar.tz
    local = moment.astimezone(tz)
    for _ in range(400):
        day = local.date()
        day_ok = drill or urgent or not cfg.get("working_days_only", True) or ctx.calendar.is_workday(day)
        if day_ok:
            if local.time() < start:
                return datetime.combine(day, start, tzinfo=tz).astimezone(moment.tzinfo)
            if local.time() < end:
                return local.astimezone(moment.tzinfo)
        local = datetime.combine(day + timedelta(days=1), start, tzinfo=tz)
    return moment


def create_for_ticket(session: Session, ctx: rules.Context, ticket: Ticket, instance: str, now: datetime) -> int:
    """One callback per caller of the ticket (merged tickets: every caller), claimed by its key."""
    callers: Sequence[Row[int, str] | tuple[int, str]] = session.execute(
        select(Citizen.id, Citizen.phone)
        .join(TicketCaller, TicketCaller.citizen_id == Citizen.id)
        .where(TicketCaller.ticket_id == ticket.id)
        .order_by(TicketCaller.id)
    ).all()
    if not callers and ticket.citizen_id is not None:
        citizen = session.get(Citizen, ticket.citizen_id)
        callers = [(citizen.id, citizen.phone)] if citizen else []
    if not callers:
        log.warning("ticket %s awaits a callback but has no caller to call", ticket.number)
        return 0
    urgent = ticket.urgency in (Urgency.urgent.value, Urgency.critical.value)
    drill = ctx.is_drill_callback(ticket)
    # urgent: no waiting for the next working day (the calling hours still apply)
    opening = ctx.config.calling_hours()[0]
    first = now if drill or urgent else ctx.calendar.next_workday_start(now, opening=opening)
    first = allowed_call_time(ctx, first, urgent=urgent, drill=drill)
    made = 0
    for citizen_id, phone in callers:
        result = session.execute(
            insert_for(session)(CallbackAttempt)
            .values(
                ticket_id=ticket.id,
                citizen_id=citizen_id,
                phone_e164=phone,
                instance=instance,
                urgent=urgent,
                drill=drill,
                status="scheduled",
                next_at=first,
                ivr_attempts=0,
                log=[{"at": now.isoformat(), "event": "scheduled", "first_call": first.isoformat()}],
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["ticket_id", "citizen_id", "instance"])
        )
        made += int(result.rowcount or 0)  # type: ignore[attr-defined]
    log.info("ticket %s: %s callback(s) scheduled, first call at %s", ticket.number, made, first.isoformat())
    return made


# ---------------------------------------------------------------- the steps


@dataclass
class CallbackStats:
    calls: int = 0
    sms: int = 0
    queued: int = 0
    answered: int = 0
    deferred: int = 0
    failed_calls: int = 0  # placements the PBX refused or could not be reached for


def process_due(sm: sessionmaker[Session], *, limit: int = 100) -> CallbackStats:
    """Advance every callback whose next step is due (SKIP LOCKED); place the calls after commit."""
    from telephony.models import SurveyCall

    stats = CallbackStats()
    to_call: list[tuple[int, int, str, str]] = []
    with sm() as session:
        now = utcnow()
        rows = session.scalars(
            select(CallbackAttempt)
            .where(CallbackAttempt.status.in_(DUE_STATES), CallbackAttempt.next_at <= now)
            .order_by(CallbackAttempt.next_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return stats
        ctx = rules.Context.load(session)
        for cb in rows:
            ticket = session.get(Ticket, cb.ticket_id)
            if ticket is None or current_instance(ticket) != cb.instance:
                cb.status, cb.next_at = "cancelled", None
                _note(cb, "cancelled", reason="ticket no longer awaits this callback")
                continue
            try:
                with session.begin_nested():
                    if cb.status == "scheduled":
                        at = allowed_call_time(ctx, now, urgent=cb.urgent, drill=cb.drill)
                        if at > now:
                            cb.next_at = at
                            _note(cb, "deferred", until=at.isoformat(), reason="outside calling hours")
                            stats.deferred += 1
                            continue
                        cb.ivr_attempts += 1
                        cb.status = "calling"
                        cb.survey_call_id = None
                        cb.survey_case_id = f"{ticket.number}-{cb.id}-{cb.ivr_attempts}"
                        timeout = float(ctx.config.callback_value("call_timeout_seconds", cb.drill))
                        cb.next_at = now + timedelta(seconds=timeout)
                        _note(cb, "ivr_call", attempt=cb.ivr_attempts, case_id=cb.survey_case_id)
                        to_call.append((cb.id, ticket.id, cb.phone_e164, cb.survey_case_id))
                    elif cb.status == "calling":
                        survey = None
                        if cb.survey_call_id is not None:
                            survey = session.get(SurveyCall, cb.survey_call_id)
                        elif cb.survey_case_id:
                            survey = session.scalar(
                                select(SurveyCall)
                                .where(SurveyCall.case_id == cb.survey_case_id)
                                .order_by(SurveyCall.id.desc())
                            )
                        if survey is not None and survey.status == "completed" and survey.satisfaction in RANK:
                            resolved = {"resolved": True, "unresolved": False}.get(survey.resolution or "")
                            stats.answered += 1
                            apply_answer(
                                session,
                                cb,
                                satisfaction=Satisfaction(survey.satisfaction),
                                resolved=resolved,
                                service_satisfaction=None,
                                reason=None,
                                method="ivr",
                            )
                        elif survey is not None and survey.finished:
                            _unanswered(session, ctx, cb, ticket, now, survey.status, stats)
                        elif cb.next_at is not None and cb.next_at <= now:
                            _unanswered(session, ctx, cb, ticket, now, "timeout", stats)
                    elif cb.status == "sms_sent":
                        cb.status, cb.next_at = "queued", None
                        _note(cb, "queued", reason="survey link not answered")
                        stats.queued += 1
            except HotlineError as exc:
                log.warning("callback %s for ticket %s: %s", cb.id, ticket.number, exc.message)
                cb.next_at = now + timedelta(seconds=30)
        session.commit()
    for cb_id, ticket_id, phone, case_id in to_call:
        if _place(sm, cb_id, ticket_id, phone, case_id):
            stats.calls += 1
        else:
            stats.failed_calls += 1
    return stats


def _place(sm: sessionmaker[Session], cb_id: int, ticket_id: int, phone: str, case_id: str) -> bool:
    """Place the IVR survey call; False (logged and noted on the callback) when it failed."""
    from telephony.callback import place_survey_call

    with sm() as call_session:
        survey = place_survey_call(call_session, ticket_id=ticket_id, phone=phone, case_id=case_id)
        survey_id, finished, status, error = survey.id, survey.finished, survey.status, survey.error
    failed = finished and status == "failed"
    with sm() as session:
        cb = session.get(CallbackAttempt, cb_id)
        if cb is not None and cb.survey_case_id == case_id:
            cb.survey_call_id = survey_id
            if finished:
                cb.next_at = utcnow()  # failed at once (no Asterisk): the next round moves on
            if failed:
                _note(cb, "ivr_call_failed", survey_call_id=survey_id, error=error)
        session.commit()
    if failed:
        log.warning("callback %s: IVR survey call %s not placed: %s", cb_id, survey_id, error)
        return False
    log.info("callback %s: IVR survey call %s placed to %s", cb_id, survey_id, mask_phone(phone))
    return True


def _unanswered(
    session: Session,
    ctx: rules.Context,
    cb: CallbackAttempt,
    ticket: Ticket,
    now: datetime,
    why: str,
    stats: CallbackStats,
) -> None:
    _note(cb, "ivr_unanswered", attempt=cb.ivr_attempts, result=why)
    if cb.ivr_attempts < int(ctx.config.callback["ivr_attempts"]):
        spacing = float(ctx.config.callback_value("retry_spacing_seconds", cb.drill))
        cb.status = "scheduled"
        cb.next_at = allowed_call_time(ctx, now + timedelta(seconds=spacing), urgent=cb.urgent, drill=cb.drill)
        return
    send_survey_sms(session, ctx, cb, ticket, now)
    stats.sms += 1


def send_survey_sms(session: Session, ctx: rules.Context, cb: CallbackAttempt, ticket: Ticket, now: datetime) -> str:
    """A one-time survey link by SMS; the raw token is only in the message."""
    raw = secrets.token_urlsafe(24)
    ttl = float(ctx.config.callback_value("token_ttl_seconds", cb.drill))
    cb.token_hash = hash_token(raw)
    cb.token_expires_at = now + timedelta(seconds=ttl)
    cb.token_used_at = None
    cb.status = "sms_sent"
    cb.next_at = now + timedelta(seconds=float(ctx.config.callback_value("sms_wait_seconds", cb.drill)))
    base = get_settings().survey_base_url.rstrip("/")
    hours = max(1, round(ttl / 3600))
    body = (
        f"【12345热线】您反映的「{ticket.title[:30]}」（工单号{ticket.number}）已办理答复。"
        f"请点击 {base}/survey/{raw} 对办理结果进行评价，链接{hours}小时内有效。"
    )
    queue_messages(
        session,
        key=f"cb{cb.id}:survey",
        recipients=[Recipient("citizen", "诉求人", None, cb.phone_e164)],
        channels=["sms"],
        subject="回访评价",
        body=body,
        ticket_id=ticket.id,
        callback_id=cb.id,
    )
    _note(cb, "sms_sent", expires=cb.token_expires_at.isoformat())
    log.info("callback %s: survey link sent by SMS to %s", cb.id, mask_phone(cb.phone_e164))
    return raw


# ---------------------------------------------------------------- answers


def apply_answer(
    session: Session,
    cb: CallbackAttempt,
    *,
    satisfaction: Satisfaction,
    resolved: bool | None,
    service_satisfaction: Satisfaction | None,
    reason: str | None,
    method: str,
    actor: User | None = None,
    reasonable: bool | None = None,
) -> str:
    """One caller answered; when all callers are done, the ticket's result is recorded."""
    if cb.status not in OPEN_STATES:
        raise Conflict("该回访已结束", code="callback_closed")
    cb.status = "answered"
    cb.next_at = None
    cb.satisfaction = satisfaction.value
    cb.service_satisfaction = service_satisfaction.value if service_satisfaction else None
    cb.resolved = resolved
    cb.reason = (reason or "").strip() or None
    cb.method = method
    cb.answered_at = utcnow()
    cb.answered_by_id = actor.id if actor else None
    _note(cb, "answered", method=method, satisfaction=satisfaction.value, resolved=resolved)
    session.flush()
    ticket = session.get(Ticket, cb.ticket_id)
    assert ticket is not None
    return conclude(session, ticket, cb.instance, actor=actor, reasonable=reasonable)


def _reasonable_by_rule(rule: str, resolved: bool | None) -> bool | None:
    if rule == "always":
        return True
    if rule == "unresolved" and resolved is False:
        return True
    return None  # a callback agent decides


def conclude(
    session: Session, ticket: Ticket, instance: str, *, actor: User | None = None, reasonable: bool | None = None
) -> str:
    """Record the ticket's callback once every caller's callback is over; close or reopen."""
    rows = list(
        session.scalars(
            select(CallbackAttempt)
            .where(CallbackAttempt.ticket_id == ticket.id, CallbackAttempt.instance == instance)
            .order_by(CallbackAttempt.id)
        )
    )
    if any(r.status in OPEN_STATES for r in rows):
        return "waiting"
    if current_instance(ticket) != instance:
        return "stale"
    system = get_system_user(session)
    answered = [r for r in rows if r.status == "answered"]
    if not answered:
        lifecycle.close_ticket(
            session, ticket, actor or system, version=None, note="多次回访（电话、短信、人工）均未能联系上诉求人"
        )
        for r in rows:
            r.status = "done" if r.status == "unreachable" else r.status
        return "closed_unreachable"
    worst = min(answered, key=lambda r: RANK[r.satisfaction or "satisfied"])
    if worst.satisfaction is None:  # every answered attempt has one; Satisfaction(None) raised this too
        raise ValueError(f"None is not a valid Satisfaction (callback attempt {worst.id})")
    satisfaction = Satisfaction(worst.satisfaction)
    resolved = not any(r.resolved is False for r in answered)
    services = [r.service_satisfaction for r in answered if r.service_satisfaction]
    service = Satisfaction(min(services, key=lambda s: RANK[s])) if services else None
    parts = []
    for r in answered:
        said = "已解决" if r.resolved is not False else "未解决"
        text = f"{mask_phone(r.phone_e164)}：{LABELS[r.satisfaction or '']}，{said}"
        parts.append(text + (f"（{r.reason}）" if r.reason else ""))
    note = "；".join(parts)
    agent = actor if actor is not None and actor.role in {"callback_agent", "supervisor", "admin"} else None
    lifecycle.record_callback(
        session,
        ticket,
        agent,
        version=None,
        satisfaction=satisfaction,
        resolved=resolved,
        method=worst.method or "agent",
        service_satisfaction=service,
        note=note,
    )
    if satisfaction != Satisfaction.unsatisfied:
        done_note = f"回访{LABELS[satisfaction.value]}，办结"
        lifecycle.close_ticket(session, ticket, agent or system, version=None, note=done_note)
        outcome = "closed"
    else:
        decision = reasonable
        if decision is None:
            rule = str(rules.Context.load(session).config.callback.get("unsatisfied_reasonable", "unresolved"))
            decision = _reasonable_by_rule(rule, resolved)
        if decision is None:
            worst.status = "review"
            _note(worst, "review", reason="不满意，待回访员判断理由是否成立")
            return "review"
        outcome = _decide(session, ticket, worst, agent, decision, worst.reason)
    for r in rows:
        if r.status in ("answered", "unreachable"):
            r.status = "done"
    return outcome


def _decide(
    session: Session, ticket: Ticket, cb: CallbackAttempt, actor: User | None, reasonable: bool, note: str | None
) -> str:
    cb.decision = "reasonable" if reasonable else "unreasonable"
    if reasonable:
        lifecycle.reopen_ticket(
            session, ticket, actor, version=None, reason=f"回访不满意且理由成立：{note or '诉求未解决'}"
        )
        return "reopened"
    lifecycle.close_ticket(
        session,
        ticket,
        actor or get_system_user(session),
        version=None,
        note=f"回访不满意，经核实理由不成立{('：' + note) if note else ''}",
    )
    return "closed"


def decide(session: Session, cb: CallbackAttempt, actor: User, *, reasonable: bool, note: str | None) -> str:
    """A callback agent rules on a 不满意 the rule left open: reopen (重办) or close."""
    if cb.status != "review":
        raise Conflict("该回访不在待判断状态", code="not_in_review")
    ticket = session.get(Ticket, cb.ticket_id)
    assert ticket is not None
    if ticket.status != TicketStatus.callback_done:
        raise Conflict("工单不在已回访状态", code="invalid_state")
    outcome = _decide(session, ticket, cb, actor, reasonable, (note or "").strip() or cb.reason)
    cb.status = "done"
    _note(cb, "decided", by=actor.id, reasonable=reasonable)
    for r in session.scalars(
        select(CallbackAttempt).where(
            CallbackAttempt.ticket_id == cb.ticket_id,
            CallbackAttempt.instance == cb.instance,
            CallbackAttempt.status.in_(("answered", "unreachable")),
        )
    ):
        r.status = "done"
    return outcome


def mark_unreachable(session: Session, cb: CallbackAttempt, actor: User, note: str | None) -> str:
    if cb.status not in OPEN_STATES:
        raise Conflict("该回访已结束", code="callback_closed")
    cb.status, cb.next_at = "unreachable", None
    cb.answered_by_id = actor.id
    _note(cb, "unreachable", by=actor.id, note=note)
    session.flush()
    ticket = session.get(Ticket, cb.ticket_id)
    assert ticket is not None
    return conclude(session, ticket, cb.instance, actor=actor)


def cancel_open(session: Session, ticket_id: int, why: str) -> None:
    session.execute(
        update(CallbackAttempt)
        .where(CallbackAttempt.ticket_id == ticket_id, CallbackAttempt.status.in_(OPEN_STATES))
        .values(status="cancelled", next_at=None)
    )


def by_token(session: Session, raw: str, *, lock: bool = False) -> CallbackAttempt | None:
    if not raw or len(raw) > 100:
        return None
    query = select(CallbackAttempt).where(CallbackAttempt.token_hash == hash_token(raw))
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def token_state(cb: CallbackAttempt | None, now: datetime) -> str:
    if cb is None:
        return "invalid"
    if cb.token_used_at is not None:
        return "used"
    if cb.token_expires_at is None or cb.token_expires_at <= now:
        return "expired"
    if cb.status not in OPEN_STATES:
        return "closed"
    return "ok"


def answer_by_token(
    session: Session,
    raw: str,
    *,
    satisfaction: Satisfaction,
    resolved: bool,
    service_satisfaction: Satisfaction | None,
    reason: str | None,
) -> str:
    """The mobile survey page's answer: the token is used once, then it is spent."""
    cb = by_token(session, raw, lock=True)
    state = token_state(cb, utcnow())
    if state != "ok":
        raise Conflict(
            {"invalid": "链接无效", "used": "您已提交过评价", "expired": "链接已过期", "closed": "该回访已结束"}[state],
            code=f"link_{state}",
        )
    assert cb is not None
    if reason and len(reason) > 500:
        raise InvalidInput("意见请勿超过500字", field="reason")
    cb.token_used_at = utcnow()
    return apply_answer(
        session,
        cb,
        satisfaction=satisfaction,
        resolved=resolved,
        service_satisfaction=service_satisfaction,
        reason=reason,
        method="sms",
    )


def on_survey_result(row: Any) -> None:
    """Telephony's survey-result handler (bridge process): look at that callback now."""
    try:
        from hotline.db import get_sessionmaker

        with get_sessionmaker()() as session:
            result = session.execute(
                update(CallbackAttempt)
                .where(CallbackAttempt.survey_case_id == row.case_id, CallbackAttempt.status == "calling")
                .values(next_at=utcnow())
            )
            session.commit()
        if result.rowcount:  # type: ignore[attr-defined]
            from escalation.tasks import process_callbacks

            process_callbacks.apply_async()
    except Exception:  # noqa: BLE001 - the sweep polls the survey row anyway
        log.exception("survey result for case %s not forwarded", getattr(row, "case_id", "?"))


def queue(session: Session) -> list[tuple[CallbackAttempt, Ticket]]:
    """The callback agents' queue: unreachable by IVR and SMS, or 不满意 awaiting a judgement."""
    return list(
        session.execute(
            select(CallbackAttempt, Ticket)
            .join(Ticket, Ticket.id == CallbackAttempt.ticket_id)
            .where(CallbackAttempt.status.in_(("queued", "review")))
            .order_by(CallbackAttempt.id)
        ).tuples()
    )
