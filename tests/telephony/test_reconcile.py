"""No call lost in a reconnect: calls the bridge did not hear come from Asterisk's CDR and queue log.

The replaying AMI server writes what Asterisk writes into our database while the recorded calls
play (telephony.records_writer), whether or not the bridge is connected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from telephony.models import AsteriskCdr, CallbackTask, CallRecord, QueueLog
from telephony.records_writer import RecordWriter
from tests.telephony.conftest import play, play_until_queued, recording_facts, records, wait_play


def tasks(sm: sessionmaker[Session]) -> list[CallbackTask]:
    with sm() as s:
        return list(s.scalars(select(CallbackTask)))


@pytest.fixture
def writer(ami: Any, sm: sessionmaker[Session]) -> Iterator[RecordWriter]:
    w = RecordWriter(sm.kw["bind"])
    ami.server.records = w
    yield w
    ami.server.records = None
    w.close()


def away(ami: Any, writer: RecordWriter, *names: str, before: Any = None) -> None:
    """Asterisk unreachable for the bridge while these recorded calls play to their end."""
    ami.call(ami.server.refuse_connections, True)
    ami.call(ami.server.drop_clients)
    for p in [play(ami, n, numbers=[f"1380000{i:04d}"]) for i, n in enumerate(names)] + list(before or []):
        wait_play(ami, p)
    writer.flush()
    ami.call(ami.server.refuse_connections, False)


def assert_matches_recording(rec: CallRecord, name: str) -> None:
    """Asterisk's records give the recording's facts (its CDR times are whole seconds)."""
    f = recording_facts(name)
    assert rec.status == "ended" and rec.reconciled and rec.dialled_number == "12345"
    assert rec.queue == "hotline" and rec.caller_e164 and rec.caller_e164.startswith("+86")
    assert abs((rec.ended_at - rec.started_at).total_seconds() - f["end"]) <= 1
    assert abs((rec.enter_queue_at - rec.started_at).total_seconds() - f["join"]) <= 1
    if f["hold"] is not None:
        assert rec.answered and not rec.abandoned
        assert (rec.wait_seconds, rec.talk_seconds, rec.hangup_by) == (f["hold"], f["talk"], f["reason"])
        assert rec.agent_interface == f["agent"]
    else:
        assert rec.abandoned and not rec.answered and rec.wait_seconds == f["abandon_hold"]


@pytest.mark.parametrize("name", ["01_inbound_answered", "02_inbound_abandoned", "03_inbound_rna_then_answered"])
def test_a_call_entirely_while_away_becomes_one_record(
    ami: Any, start_bridge: Any, sm: Any, writer: RecordWriter, name: str
) -> None:
    runner = start_bridge()
    runner.wait_connected()
    away(ami, writer, name)
    runner.wait_connected(resyncs=2)
    runner.drain()
    (rec,) = records(sm)
    assert_matches_recording(rec, name)
    assert [t.linkedid for t in tasks(sm)] == ([rec.linkedid] if rec.abandoned else [])
    if rec.abandoned:
        (task,) = tasks(sm)
        assert task.caller_e164 == rec.caller_e164 and task.wait_seconds == 10 and task.status == "open"
    assert runner.bridge.stats.reconciled == 1
    # Reconnecting again reads the same records and changes nothing.
    ami.call(ami.server.drop_clients)
    runner.wait_connected(resyncs=3)
    runner.drain()
    assert [(r.id, r.linkedid, r.updated_at) for r in records(sm)] == [(rec.id, rec.linkedid, rec.updated_at)]
    assert len(tasks(sm)) == (1 if rec.abandoned else 0)


def test_calls_heard_live_and_their_cdr_make_one_record_each(
    ami: Any, start_bridge: Any, sm: Any, writer: RecordWriter
) -> None:
    runner = start_bridge()
    runner.wait_connected()
    for name in ("01_inbound_answered", "02_inbound_abandoned"):
        wait_play(ami, play(ami, name))
    writer.flush()
    runner.drain()
    live = {r.linkedid: r.updated_at for r in records(sm)}
    assert len(live) == 2 and not any(r.reconciled for r in records(sm))
    with sm() as s:  # Asterisk wrote its records of both calls too
        assert s.scalar(select(func.count(func.distinct(AsteriskCdr.linkedid)))) == 2
        assert s.scalar(select(func.count()).select_from(QueueLog)) > 0
    away(ami, writer, "02_inbound_abandoned")  # one more call while away
    runner.wait_connected(resyncs=2)
    runner.drain()
    recs = records(sm)
    assert len(recs) == 3
    assert {r.linkedid: r.updated_at for r in recs if r.linkedid in live} == live  # untouched
    assert len(tasks(sm)) == 2 and runner.bridge.stats.reconciled == 1


def test_a_call_seen_waiting_then_answered_while_away_is_not_a_missed_call(
    ami: Any, start_bridge: Any, sm: Any, writer: RecordWriter
) -> None:
    runner = start_bridge()
    runner.wait_connected()
    p = play_until_queued(ami, runner, sm, "03_inbound_rna_then_answered")
    away(ami, writer, before=[p])  # the agent answers and the call ends while we cannot hear it
    runner.wait_connected(resyncs=2)
    runner.drain()
    (rec,) = records(sm)
    assert_matches_recording(rec, "03_inbound_rna_then_answered")
    assert tasks(sm) == []  # the resync alone would have called it abandoned


def test_a_sip_agents_call_while_away_names_the_seat_of_our_queue(
    ami: Any, start_bridge: Any, sm: Any, writer: RecordWriter
) -> None:
    """Trace 07b (a real PJSIP agent) on our queue and seat: the agent comes from the caller's CDR."""
    runner = start_bridge()
    runner.wait_connected()
    replace = {"PJSIP/agent9001": "PJSIP/8001", "hotline-sip": "hotline", "SIP Agent 9001": "Agent 8001"}
    away(ami, writer, before=[play(ami, "07b_sipp_sip_agent", replace=replace)])
    runner.wait_connected(resyncs=2)
    runner.drain()
    (rec,) = records(sm)
    f = recording_facts("07b_sipp_sip_agent")
    assert rec.reconciled_from == "cdr" and rec.answered and rec.agent_interface == "PJSIP/8001"
    assert (rec.wait_seconds, rec.talk_seconds, rec.hangup_by) == (f["hold"], f["talk"], f["reason"])
    assert rec.caller_channel.startswith("PJSIP/sipp-trunk-") and tasks(sm) == []


@pytest.mark.integration
def test_reconcile_on_postgresql_after_a_bridge_restart(ami: Any, start_bridge: Any, pg_sm: Any) -> None:
    """A new bridge process reads back from the newest record it has; the call it missed is found."""
    from tests.telephony.conftest import _clean

    _clean(pg_sm)
    writer = RecordWriter(pg_sm.kw["bind"])
    ami.server.records = writer
    try:
        first = start_bridge(session_maker=pg_sm)
        first.wait_connected()
        wait_play(ami, play(ami, "01_inbound_answered", numbers=["13800000001"]))
        first.drain()
        first.stop()  # the bridge process is gone while a citizen gives up
        wait_play(ami, play(ami, "02_inbound_abandoned", numbers=["13800000002"]))
        writer.flush()
        second = start_bridge(session_maker=pg_sm)
        second.wait_connected()
        second.drain()
        recs = {r.caller_e164: r for r in records(pg_sm)}
        assert set(recs) == {"+8613800000001", "+8613800000002"}
        assert not recs["+8613800000001"].reconciled
        assert_matches_recording(recs["+8613800000002"], "02_inbound_abandoned")
        assert [t.caller_e164 for t in tasks(pg_sm)] == ["+8613800000002"]
    finally:
        ami.server.records = None
        writer.close()
