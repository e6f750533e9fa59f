"""Outbound survey calls: Originate into the callback IVR, results back through the bridge."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from telephony import callback
from telephony.amiserver import SurveyBehaviour
from telephony.client import AMITarget
from telephony.config import set_embedded_target
from telephony.models import SurveyCall


@pytest.fixture
def target(ami: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("HOTLINE_AMI_HOST", raising=False)
    from hotline.settings import reset_settings_cache

    reset_settings_cache()
    t = AMITarget("127.0.0.1", ami.server.port, "hotline", "secret")
    set_embedded_target(t)
    yield t
    set_embedded_target(None)
    callback.clear_survey_handlers()


@pytest.mark.parametrize(
    ("behaviour", "status", "satisfaction", "resolution", "reason"),
    [
        (SurveyBehaviour("answer", "1", "1"), "completed", "satisfied", "resolved", 4),
        (SurveyBehaviour("answer", "2", "2"), "completed", "basically_satisfied", "unresolved", 4),
        (SurveyBehaviour("answer", "3", "1"), "completed", "unsatisfied", "resolved", 4),
        (SurveyBehaviour("no_answer", None, None), "no_answer", None, None, 3),
        (SurveyBehaviour("busy", None, None), "busy", None, None, 5),
        (SurveyBehaviour("failed", None, None, cause=3), "failed", None, None, 0),
        (SurveyBehaviour("failed", None, None, cause=34), "failed", None, None, 0),
    ],
)
def test_survey_call_result(
    ami: Any,
    start_bridge: Any,
    sm: Any,
    target: Any,
    behaviour: SurveyBehaviour,
    status: str,
    satisfaction: str | None,
    resolution: str | None,
    reason: int,
) -> None:
    seen: list[tuple[int, str]] = []
    callback.on_survey_result(lambda row: seen.append((row.id, row.status)))
    runner = start_bridge()
    runner.wait_connected()
    ami.server.callee_behaviour["13900000001"] = behaviour
    with sm() as s:
        row = callback.place_survey_call(s, ticket_id=7, phone="139 0000 0001", case_id="HL20250001")
        # a refusal can come back before place_survey_call returns
        assert row.status in ("dialing", "answered", status) and row.phone_e164 == "+8613900000001"
        row_id = row.id
    (sent,) = [m for _u, m in ami.server.actions if m.get("Action") == "Originate"]
    assert sent["Channel"] == "Local/13900000001@outbound-trunk/n"
    assert sent["ChannelId"] == row.linkedid and sent["OtherChannelId"] == f"{row.linkedid}-2"
    assert sent["Context"] == "callback-survey" and sent["Exten"] == "s"
    assert "CASE_ID=HL20250001" in sent["Variable"]

    def done() -> bool:
        with sm() as s:
            r = s.get(SurveyCall, row_id)
            return r is not None and r.finished

    runner.wait(done, timeout=10)
    runner.drain()
    with sm() as s:
        r = s.get(SurveyCall, row_id)
        assert (r.status, r.satisfaction, r.resolution, r.originate_reason) == (
            status,
            satisfaction,
            resolution,
            reason,
        )
        if status == "completed":
            assert r.linkedid and r.answered_at and r.hangup_cause == 16
        if status in ("no_answer", "busy", "failed"):
            # The cause is Asterisk's, from the Hangup of the channel the Originate created.
            assert r.hangup_cause == {"no_answer": 19, "busy": 17, "failed": behaviour.cause}[status]
        if status == "failed":
            # What an operator reads: the cause in words, Asterisk's own text and code, the reason.
            expected = {3: "无至目的地的路由", 34: "无可用线路"}[behaviour.cause]
            assert expected in r.error and f"挂机原因 {behaviour.cause}" in r.error
            assert "OriginateResponse Reason 0" in r.error
        else:
            assert r.error is None
    assert seen == [(row_id, status)]  # handlers called once


def test_no_asterisk_is_a_failed_result(sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_AMI_HOST", raising=False)
    set_embedded_target(None)
    with sm() as s:
        row = callback.place_survey_call(s, ticket_id=1, phone="13900000002", case_id="HL1")
        assert row.status == "failed" and "no Asterisk" in (row.error or "")
        assert s.scalars(select(SurveyCall)).one().id == row.id


def test_dial_string() -> None:
    assert callback.dial_string("+8613900000001") == "13900000001"
    assert callback.dial_string("+861062345678") == "01062345678"
