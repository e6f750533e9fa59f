"""The AMI codec and the pure call/agent tracker."""

from __future__ import annotations

from telephony import scenarios
from telephony.protocol import Decoder, encode, encode_action
from telephony.state import Tracker


def test_decoder_handles_any_chunking_and_utf8() -> None:
    data = (
        b"Asterisk Call Manager/11.0.0\r\n"
        + encode({"Response": "Success", "ActionID": "1", "Message": "Authentication accepted"})
        + encode({"Event": "UserEvent", "UserEvent": "SurveyResult", "Result": "满意", "Empty": ""})
    )
    for size in (1, 2, 3, 7, len(data)):
        dec = Decoder()
        msgs = []
        for i in range(0, len(data), size):
            msgs += dec.feed(data[i : i + size])
        assert dec.banner == "Asterisk Call Manager/11.0.0"
        assert msgs[1] == {"Event": "UserEvent", "UserEvent": "SurveyResult", "Result": "满意", "Empty": ""}
        assert not dec.malformed


def test_malformed_blocks_are_reported_not_raised() -> None:
    dec = Decoder(expect_banner=False)
    msgs = dec.feed(b"garbage line\r\nEvent: X\r\n\r\n\xff\xfe\r\n\r\nEvent: Ok\r\n\r\n")
    assert msgs[-1] == {"Event": "Ok"}
    assert len(dec.take_malformed()) >= 2


def test_encoding_cannot_inject_headers() -> None:
    raw = encode_action("Originate", "a1", {"CallerID": "x\r\nAction: Hangup", "Variable": ["A=1", "B=2"]})
    assert raw.count(b"\r\n\r\n") == 1 and b"\r\nAction: Hangup" not in raw
    assert b"Variable: A=1\r\nVariable: B=2\r\n" in raw


def test_tracker_on_the_recordings() -> None:
    ids = scenarios.IdAllocator()
    expected = {
        "01_inbound_answered": (3, 7, False, "agent"),
        "02_inbound_abandoned": (10, None, True, None),
        "03_inbound_rna_then_answered": (11, 12, False, "caller"),
        "07b_sipp_sip_agent": (0, 20, False, "caller"),
    }
    for name, (wait, talk, abandoned, by) in expected.items():
        t = Tracker()
        out = {}
        abandoned_out = []
        for e in scenarios.load(name).render(ids):
            t.handle(e.headers, 1000 + e.offset)
            calls, _agents, outbox = t.take_dirty()
            out.update({c["linkedid"]: c for c in calls})
            abandoned_out += [i for k, i in outbox if k == "abandoned"]
        (call,) = out.values()
        assert (call["wait_seconds"], call["talk_seconds"], call["abandoned"], call["hangup_by"]) == (
            wait,
            talk,
            abandoned,
            by,
        ), name
        assert call["status"] == "ended" and call["hangup_cause"] == 16
        assert len(abandoned_out) == int(abandoned)
        assert not t.calls  # ended calls are forgotten


def test_renumbered_replays_share_no_ids() -> None:
    ids = scenarios.IdAllocator()
    scen = scenarios.load("01_inbound_answered")
    a, b = scen.render(ids), scen.render(ids, numbers=["13912345678"], agents=["8123"])
    assert {e.headers.get("Linkedid") for e in a}.isdisjoint({e.headers.get("Linkedid") for e in b} - {None})
    assert any(e.headers.get("Interface") == "Local/8123@hotline-agents/n" for e in b)
    assert not any("«" in v for e in a + b for v in e.headers.values())


def test_a_member_that_joins_idle_is_written() -> None:
    """QueueMemberAdded as Asterisk 22 sent it (trace 08): a new member, idle and not paused, is a
    change the bridge writes (the wallboard counts it), and a second queue for it is one too."""
    added = {
        "Event": "QueueMemberAdded",
        "Queue": "hotline",
        "MemberName": "Agent 8004",
        "Interface": "Local/8004@hotline-agents/n",
        "StateInterface": "Local/8004@hotline-agents/n",
        "Membership": "dynamic",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Wrapuptime": "0",
    }
    t = Tracker()
    t.handle(added, 1000.0)
    _calls, agents, _outbox = t.take_dirty()
    assert [(a["member_name"], a["state"], a["queues"]) for a in agents] == [("Agent 8004", "idle", "hotline")]
    t.handle({**added, "Queue": "hotline-vip"}, 1001.0)
    _calls, agents, _outbox = t.take_dirty()
    assert [a["queues"] for a in agents] == ["hotline,hotline-vip"]
    t.handle(added, 1002.0)  # nothing new
    assert t.take_dirty()[1] == []
