"""The bridge against the AMI server over real TCP, with the recorded scenarios."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from telephony.models import AgentStatus, CallbackTask, CallRecord
from tests.telephony.conftest import play, play_until_queued, recording_facts, records, wait_play


def check_against_recording(rec: CallRecord, name: str) -> None:
    f = recording_facts(name)
    assert rec.status == "ended"
    assert rec.caller_e164 is not None and rec.caller_e164.startswith("+86")
    assert rec.dialled_number == "12345"
    assert rec.queue is not None
    assert rec.hangup_cause == f["cause"]
    assert rec.started_at and rec.enter_queue_at and rec.ended_at
    # Times are Asterisk's (Timestamp header), so they match the recording to the second
    # even though the replay ran 50x faster than real time.
    assert round((rec.enter_queue_at - rec.started_at).total_seconds()) == round(f["join"])
    assert round((rec.ended_at - rec.started_at).total_seconds()) == round(f["end"])
    if f["hold"] is not None:
        assert rec.answered and not rec.abandoned
        assert rec.wait_seconds == f["hold"]
        assert rec.talk_seconds == f["talk"]
        assert rec.agent_interface == f["agent"]
        assert rec.hangup_by == f["reason"]
        assert rec.answered_at is not None
        assert round((rec.answered_at - rec.started_at).total_seconds()) == round(f["answer"])
    else:
        assert rec.abandoned and not rec.answered
        assert rec.wait_seconds == f["abandon_hold"]
        assert rec.talk_seconds is None and rec.agent_interface is None
    assert not rec.reconciled


@pytest.mark.parametrize(
    "name", ["01_inbound_answered", "02_inbound_abandoned", "03_inbound_rna_then_answered", "07b_sipp_sip_agent"]
)
def test_recorded_call_gives_the_record_the_recording_implies(ami: Any, start_bridge: Any, sm: Any, name: str) -> None:
    runner = start_bridge()
    runner.wait_connected()
    wait_play(ami, play(ami, name))
    runner.drain()
    (rec,) = records(sm)
    check_against_recording(rec, name)
    if name == "01_inbound_answered":
        assert (rec.wait_seconds, rec.talk_seconds, rec.hangup_by, rec.agent_interface) == (
            3,
            7,
            "agent",
            "Local/8001@hotline-agents/n",
        )
    with sm() as s:
        tasks = s.scalars(select(CallbackTask)).all()
    assert [t.linkedid for t in tasks] == ([rec.linkedid] if rec.abandoned else [])
    if rec.abandoned:
        assert tasks[0].caller_e164 == rec.caller_e164 and tasks[0].wait_seconds == 10


def test_five_sipp_calls_at_once(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge()
    runner.wait_connected()
    wait_play(ami, play(ami, "07a_sipp_inbound_5_calls"))
    runner.drain()
    recs = records(sm)
    assert [r.caller_e164 for r in recs] == [f"+861370000000{i}" for i in range(1, 6)]
    assert [r.wait_seconds for r in recs] == [3, 3, 3, 10, 10]
    assert [r.talk_seconds for r in recs] == [6] * 5
    assert all(r.answered and r.hangup_cause == 16 and r.hangup_by == "agent" for r in recs)


def test_only_the_event_classes_it_needs(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge()
    runner.wait_connected()
    wait_play(ami, play(ami, "01_inbound_answered"))
    runner.drain()
    # 222 events recorded with read=all; with Events: system,call,agent,user no Newexten/VarSet/Cdr.
    assert 40 < runner.bridge.stats.events < 120


def test_many_concurrent_replays_are_distinct_calls(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge()
    runner.wait_connected()
    plays = [
        play(ami, n, numbers=[f"1380013{i:04d}"], agents=[str(8100 + 2 * i), str(8101 + 2 * i)])
        for i, n in enumerate(["01_inbound_answered", "02_inbound_abandoned", "03_inbound_rna_then_answered"] * 4)
    ]
    for p in plays:
        wait_play(ami, p)
    runner.drain()
    recs = records(sm)
    assert len(recs) == 12 and len({r.linkedid for r in recs}) == 12
    assert sum(r.abandoned for r in recs) == 4
    with sm() as s:
        assert s.scalar(select(func.count()).select_from(CallbackTask)) == 4


def test_connection_dropped_mid_call_gives_one_correct_record(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge()
    runner.wait_connected()
    p = play(ami, "01_inbound_answered")
    runner.wait(lambda: any(r.answered for r in records(sm)), timeout=5)
    ami.call(ami.server.drop_clients)  # network drop while the agent talks
    runner.wait_connected(resyncs=2)
    wait_play(ami, p)
    runner.drain()
    (rec,) = records(sm)
    check_against_recording(rec, "01_inbound_answered")
    assert runner.bridge.stats.disconnects >= 1


def test_bridge_restart_mid_call_gives_one_correct_record(ami: Any, start_bridge: Any, sm: Any) -> None:
    ami.server.set_time_scale(0.1)  # the restart gap must not swallow the end of the call (busy machines)
    first = start_bridge()
    first.wait_connected()
    p = play(ami, "03_inbound_rna_then_answered")
    first.wait(lambda: any(r.answered for r in records(sm)), timeout=5)
    first.stop()  # the process goes away; its memory with it
    second = start_bridge()
    second.wait_connected()
    wait_play(ami, p)
    second.drain()
    (rec,) = records(sm)
    check_against_recording(rec, "03_inbound_rna_then_answered")


def test_call_that_ends_while_asterisk_is_unreachable_is_closed_once(
    ami: Any, start_bridge: Any, sm: Any, caplog: Any
) -> None:
    runner = start_bridge()
    runner.wait_connected()
    p = play_until_queued(ami, runner, sm, "02_inbound_abandoned")
    ami.call(ami.server.refuse_connections, True)
    ami.call(ami.server.drop_clients)
    wait_play(ami, p)  # the caller hangs up while we cannot hear it
    ami.call(ami.server.refuse_connections, False)
    runner.wait_connected(resyncs=2)
    runner.drain()
    (rec,) = records(sm)
    assert rec.status == "ended" and rec.abandoned and rec.reconciled
    with sm() as s:
        assert s.scalar(select(func.count()).select_from(CallbackTask)) == 1
    # Reconnecting again changes nothing.
    ami.call(ami.server.drop_clients)
    runner.wait_connected(resyncs=3)
    runner.drain()
    assert len(records(sm)) == 1


def test_idle_link_is_kept_alive_with_pings_and_changes_nothing(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge(ping_interval=0.1, ping_timeout=1.0)
    runner.wait_connected()
    wait_play(ami, play(ami, "01_inbound_answered"))
    runner.drain()
    before = [(r.linkedid, r.updated_at) for r in records(sm)]
    runner.wait(lambda: runner.bridge.stats.pings >= 8, timeout=5)  # an "idle minute", compressed
    runner.drain()
    assert [(r.linkedid, r.updated_at) for r in records(sm)] == before
    assert runner.bridge.stats.connects == 1 and runner.bridge.stats.disconnects == 0
    assert sum(s.pings for s in ami.server.sessions) >= 8


def test_dead_link_without_pong_reconnects(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge(ping_interval=0.1, ping_timeout=0.2)
    runner.wait_connected()

    async def no_pong(session: Any, msg: Any, pairs: Any) -> None:
        session.pings += 1  # swallow the Ping: a half-open TCP connection

    ami.server._do_ping = no_pong
    runner.wait(lambda: runner.bridge.stats.disconnects >= 1, timeout=5)
    del ami.server._do_ping
    runner.wait_connected(resyncs=2)


def test_bad_login_is_logged_clearly_and_retried(ami: Any, start_bridge: Any, sm: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="telephony")
    runner = start_bridge(secret="wrong-secret")
    runner.wait(lambda: runner.bridge.stats.login_failures >= 2, timeout=5)
    assert runner.thread.is_alive()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("AMI login failed for user 'hotline'" in m and "Authentication failed" in m for m in lines)


def test_malformed_packet_is_logged_and_skipped(ami: Any, start_bridge: Any, sm: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="telephony")
    runner = start_bridge()
    runner.wait_connected()
    ami.call(
        ami.server.inject_raw,
        b"this is not AMI\r\nEvent: Broken\r\n\xff\xfe: x\r\n\r\n\x00\x01garbage\r\n\r\nResponse\r\n\r\n",
    )
    wait_play(ami, play(ami, "01_inbound_answered"))
    runner.drain()
    assert runner.bridge.stats.malformed >= 2
    assert any("malformed AMI message" in r.getMessage() for r in caplog.records)
    assert runner.bridge.stats.connects == 1
    (rec,) = records(sm)
    check_against_recording(rec, "01_inbound_answered")


def test_agent_states_follow_the_queue(ami: Any, start_bridge: Any, sm: Any) -> None:
    runner = start_bridge()
    runner.wait_connected()
    runner.drain()
    with sm() as s:
        agents = {a.interface: a.state for a in s.scalars(select(AgentStatus))}
    assert agents == {
        "Local/8001@hotline-agents": "idle",
        "Local/8002@hotline-agents": "idle",
        "Local/8003@hotline-agents": "idle",
        "PJSIP/agent9001": "idle",
    }
    p = play(ami, "01_inbound_answered")

    def state() -> str | None:
        with sm() as s:
            a = s.get(AgentStatus, "Local/8001@hotline-agents")
            return a.state if a else None

    runner.wait(lambda: state() == "ringing", timeout=5)
    runner.wait(lambda: state() == "on_call", timeout=5)
    wait_play(ami, p)
    runner.drain()
    assert state() == "idle"
    wait_play(ami, play(ami, "08_agent_management"))
    runner.drain()
    with sm() as s:
        a = s.get(AgentStatus, "Local/8004@hotline-agents")
        assert a is not None and a.state == "logged_out"


@pytest.mark.integration
def test_postgresql_drop_and_restart_keep_one_record_per_call(ami: Any, start_bridge: Any, pg_sm: Any) -> None:
    from tests.telephony.conftest import _clean

    _clean(pg_sm)
    ami.server.set_time_scale(0.1)  # the restart gap must not swallow the end of a call
    first = start_bridge(session_maker=pg_sm)
    first.wait_connected()
    plays = {n: play(ami, n) for n in ("01_inbound_answered", "02_inbound_abandoned", "03_inbound_rna_then_answered")}
    first.wait(lambda: sum(r.answered for r in records(pg_sm)) >= 1, timeout=5)
    ami.call(ami.server.drop_clients)
    first.wait_connected(resyncs=2)
    first.stop()
    second = start_bridge(session_maker=pg_sm)
    second.wait_connected()
    for p in plays.values():
        wait_play(ami, p)
    second.drain()
    recs = {r.caller_e164: r for r in records(pg_sm)}
    assert len(recs) == 3
    for i, name in enumerate(plays, start=1):
        check_against_recording(recs[f"+861380000000{i}"], name)
    with pg_sm() as s:
        assert s.scalar(select(func.count()).select_from(CallbackTask)) == 1


class DatabaseDown:
    """The bridge's session maker, refusing like a restarting PostgreSQL while ``down`` is set."""

    def __init__(self, sm: Any) -> None:
        self.sm = sm
        self.down = False
        self.refused = 0

    def __call__(self) -> Any:
        if self.down:
            from sqlalchemy.exc import OperationalError

            self.refused += 1
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        return self.sm()


def test_a_call_that_ends_while_the_database_restarts_is_written_once_it_is_back(
    ami: Any, start_bridge: Any, sm: Any
) -> None:
    """The writes the database refused wait and are written again (they used to be dropped: the call
    stayed open and the abandoned caller got no 漏接回拨 task)."""
    sessions = DatabaseDown(sm)
    runner = start_bridge(session_maker=sessions, write_retry=0.1)
    runner.wait_connected()
    sessions.down = True
    wait_play(ami, play(ami, "02_inbound_abandoned"))
    runner.wait(lambda: sessions.refused >= 2)  # written, refused, tried again
    assert records(sm) == []
    sessions.down = False
    runner.wait(lambda: bool(records(sm)) and records(sm)[0].ended_at is not None)
    (rec,) = records(sm)
    assert rec.abandoned
    check_against_recording(rec, "02_inbound_abandoned")
    with sm() as s:
        assert [t.linkedid for t in s.scalars(select(CallbackTask))] == [rec.linkedid]
