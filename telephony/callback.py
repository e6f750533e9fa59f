"""Outbound survey calls (回访): place them with AMI Originate, turn the IVR's answers into results.

``place_survey_call`` writes a ``SurveyCall`` row and sends an async ``Originate`` of
``Local/<number>@<outbound-context>`` into the ``callback-survey`` IVR context. The answer
comes back on the bridge's event stream: ``OriginateResponse`` (answered, Reason 3 no
answer, Reason 5 busy, anything else failed), then ``UserEvent: SurveyResult`` for each
question (满意 1 / 基本满意 2 / 不满意 3; 已解决 1 / 未解决 2) and ``SurveyEnd``. When a row
reaches a final state the bridge calls every handler registered with ``on_survey_result``
(in the bridge process; exactly once per row, claimed by a conditional UPDATE).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import phonenumbers
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from hotline.db import utcnow
from hotline.phone import mask_phone, normalize_phone
from telephony.client import AMIError, run_actions
from telephony.config import ami_target, get_telephony_settings
from telephony.models import SurveyCall

log = logging.getLogger("telephony.callback")

SATISFACTION = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
RESOLUTION = {"1": "resolved", "2": "unresolved"}
# OriginateResponse Reason (Asterisk's AST_CONTROL_* of the outcome) and Q.850 hang-up causes.
ORIGINATE_REASON = {0: "呼叫未建立", 1: "对方挂机", 3: "无人接听（振铃超时）", 5: "用户忙", 8: "线路拥塞"}
ORIGINATE_FAILURE = {3: "no_answer", 5: "busy"}
CAUSE_FAILURE = {17: "busy", 18: "no_answer", 19: "no_answer"}
HANGUP_CAUSE = {
    1: "空号",
    3: "无至目的地的路由（检查中继的拨号串与号码）",
    16: "正常挂机",
    17: "用户忙",
    18: "用户无响应",
    19: "无人接听",
    20: "用户不在服务区",
    21: "呼叫被拒绝",
    22: "号码已改变",
    27: "目的地故障",
    28: "号码格式错误",
    31: "呼叫失败",
    34: "无可用线路（中继全忙）",
    38: "网络故障",
    41: "临时故障",
    42: "交换设备拥塞",
    50: "未开通该业务",
    127: "网络互通故障",
}

SurveyHandler = Callable[[SurveyCall], None]
_handlers: list[SurveyHandler] = []


def on_survey_result(fn: SurveyHandler) -> SurveyHandler:
    """Register ``fn(survey_call)``, called once when a survey call reaches a final state.

    Usable as a decorator. Handlers run in the bridge process, after the row is committed;
    the row's state is also there for anyone to poll (``SurveyCall.status``/``finished``).
    """
    if fn not in _handlers:
        _handlers.append(fn)
    return fn


def clear_survey_handlers() -> None:
    _handlers.clear()


def dial_string(phone_e164: str) -> str:
    """Digits the trunk dials: national format for Chinese numbers (13900000001, 01062345678)."""
    try:
        parsed = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in phone_e164 if ch.isdigit())
    if parsed.country_code == 86:
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "".join(ch for ch in national if ch.isdigit())
    return "00" + phone_e164.lstrip("+")


def originate_channel(dial_number: str) -> str:
    """The channel a survey Originate calls: a Local channel into the outbound-trunk context."""
    return f"Local/{dial_number}@{get_telephony_settings().outbound_context}/n"


def place_survey_call(session: Session, *, ticket_id: int, phone: str, case_id: str) -> SurveyCall:
    """Record a survey call and place it. Commits the row; failures become the row's result."""
    cfg = get_telephony_settings()
    e164 = normalize_phone(phone) or phone
    action_id = f"survey-{secrets.token_hex(8)}"
    row = SurveyCall(
        ticket_id=ticket_id,
        case_id=case_id,
        phone_e164=e164,
        dial_number=dial_string(e164),
        action_id=action_id,
        linkedid=action_id,
        status="queued",
    )
    session.add(row)
    session.commit()
    target = ami_target()
    if target is None:
        _finish(session, row, "failed", error="no Asterisk (AMI) configured")
        return row
    headers: dict[str, Any] = {
        "ActionID": row.action_id,
        "Channel": originate_channel(row.dial_number),
        "Context": cfg.survey_context,
        "Exten": "s",
        "Priority": 1,
        "CallerID": '"12345" <12345>',
        "Timeout": cfg.survey_timeout_ms,
        "Async": "true",
        "Variable": [f"CASE_ID={case_id}", f"SURVEY_CALL_ID={row.id}", f"SURVEY_CALLEE={row.dial_number}"],
        # Our ids on both halves of the Local channel: the Hangup that explains a failure
        # (and every survey event) names this call.
        "ChannelId": row.linkedid,
        "OtherChannelId": f"{row.linkedid}-2",
    }
    try:
        (resp,) = run_actions(target, [("Originate", headers)])
    except (OSError, AMIError) as exc:
        log.warning("survey call %s to %s not placed: %s", row.id, mask_phone(e164), exc)
        _finish(session, row, "failed", error=f"AMI: {exc}"[:255])
        return row
    if resp.get("Response") != "Success":
        _finish(session, row, "failed", error=resp.get("Message", "Originate failed")[:255])
        return row
    if row.status == "queued":
        session.execute(
            update(SurveyCall).where(SurveyCall.id == row.id, SurveyCall.status == "queued").values(status="dialing")
        )
        session.commit()
        session.refresh(row)
    log.info("survey call %s for ticket %s to %s dialing", row.id, ticket_id, mask_phone(e164))
    return row


def _finish(session: Session, row: SurveyCall, status: str, **values: Any) -> bool:
    """Move a row to a final state once; True if this call made the move (and notified)."""
    # An UPDATE always yields a CursorResult (which has rowcount); Session.execute is typed as Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(SurveyCall)
            .where(SurveyCall.id == row.id, SurveyCall.status.not_in(SurveyCall.FINAL))
            .values(status=status, finished_at=utcnow(), **values)
        ),
    )
    session.commit()
    session.refresh(row)
    if result.rowcount != 1:
        return False
    notify(row)
    return True


def notify(row: SurveyCall) -> None:
    for fn in list(_handlers):
        try:
            fn(row)
        except Exception:  # one broken handler must not stop the others
            log.exception("survey result handler %r failed for survey call %s", fn, row.id)


def _event_time(msg: dict[str, str]) -> datetime:
    try:
        return datetime.fromtimestamp(float(msg.get("_ts", "")), UTC)
    except ValueError:
        return utcnow()


def _row_for(session: Session, msg: dict[str, str]) -> SurveyCall | None:
    call_id = msg.get("SurveyCallID", "")
    if call_id.isdigit():
        row = session.get(SurveyCall, int(call_id))
        if row is not None:
            return row
    lid = msg.get("Linkedid") or msg.get("SurveyID")
    if lid:
        row = session.scalar(select(SurveyCall).where(SurveyCall.linkedid == lid))
        if row is not None:
            return row
    case = msg.get("CaseID")
    if case:
        return session.scalar(
            select(SurveyCall)
            .where(SurveyCall.case_id == case, SurveyCall.status.in_(("dialing", "answered")))
            .order_by(SurveyCall.id.desc())
        )
    return None


def handle_originate_response(session: Session, msg: dict[str, str]) -> None:
    """``OriginateResponse`` for one of our survey calls (matched by ActionID)."""
    aid = msg.get("ActionID", "")
    if not aid.startswith("survey-"):
        return
    row = session.scalar(select(SurveyCall).where(SurveyCall.action_id == aid))
    if row is None or row.finished:
        return
    try:
        reason = int(msg.get("Reason", "0"))
    except ValueError:
        reason = 0
    row.originate_reason = reason
    if msg.get("Response") == "Success":
        uid = msg.get("Uniqueid", "")
        row.linkedid = uid if uid and uid != "<unknown>" else row.linkedid
        row.status = "answered"
        row.answered_at = _event_time(msg)
        session.commit()
        return
    cause = int(msg["Cause"]) if msg.get("Cause", "").isdigit() else None
    session.commit()
    status = ORIGINATE_FAILURE.get(reason) or CAUSE_FAILURE.get(cause or 0, "failed")
    _finish(
        session,
        row,
        status,
        hangup_cause=cause,
        error=None if status != "failed" else failure_text(reason, cause, msg.get("Cause-txt", "")),
    )


def failure_text(reason: int, cause: int | None, cause_text: str) -> str:
    """What an operator reads on a failed survey call: Asterisk's cause first, then the reason."""
    parts = []
    if cause is not None:
        parts.append(f"{HANGUP_CAUSE.get(cause, '呼叫失败')}（Asterisk 挂机原因 {cause} {cause_text}".rstrip() + "）")
    parts.append(f"OriginateResponse Reason {reason}（{ORIGINATE_REASON.get(reason, '未知')}）")
    return "；".join(parts)[:255]


def handle_survey_event(session: Session, msg: dict[str, str]) -> None:
    """``UserEvent: SurveyStart/SurveyResult/SurveyEnd`` from the callback-survey context."""
    name = msg.get("UserEvent", "")
    row = _row_for(session, msg)
    if row is None:
        log.warning("survey event %s for an unknown survey call (case %s)", name, msg.get("CaseID"))
        return
    if row.finished:
        return
    if row.linkedid is None and msg.get("Linkedid"):
        row.linkedid = msg["Linkedid"]
    if name == "SurveyStart":
        if row.status in ("queued", "dialing"):
            row.status = "answered"
            row.answered_at = row.answered_at or _event_time(msg)
        session.commit()
    elif name == "SurveyResult":
        digit = msg.get("Digit", "")
        question = msg.get("Question") or ("resolution" if row.satisfaction else "satisfaction")
        if question == "resolution":
            row.resolution_digit = digit or None
            row.resolution = RESOLUTION.get(digit, "invalid")
        else:
            row.satisfaction_digit = digit or None
            row.satisfaction = SATISFACTION.get(digit, "invalid")
        session.commit()
    elif name == "SurveyEnd":
        cause = msg.get("HangupCause", "")
        session.commit()
        status = "completed" if row.satisfaction and row.satisfaction != "invalid" else "no_input"
        _finish(session, row, status, hangup_cause=int(cause) if cause.isdigit() else None)
