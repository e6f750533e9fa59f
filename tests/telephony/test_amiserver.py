"""The AMI server answers like the recorded Asterisk (traces 05, 06a, 06b)."""

from __future__ import annotations

import socket
import time
from typing import Any

from telephony.protocol import Decoder, encode


class Raw:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.dec = Decoder()
        self.buf: list[dict[str, str]] = []

    def send(self, **headers: str) -> None:
        self.sock.sendall(encode(headers))

    def recv(self, pred: Any = lambda m: True) -> dict[str, str]:
        while True:
            for i, m in enumerate(self.buf):
                if pred(m):
                    return self.buf.pop(i)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += self.dec.feed(data)


def test_login_order_and_errors_like_06b(ami: Any) -> None:
    c = Raw(ami.server.port)
    c.send(Action="CoreShowChannels", ActionID="06b-1")
    assert c.recv() == {"Response": "Error", "ActionID": "06b-1", "Message": "Permission denied"}
    assert c.dec.banner == "Asterisk Call Manager/11.0.0"
    c.send(Action="Login", Username="hotline", Secret="secret", ActionID="06b-2")
    first, second, third = c.recv(), c.recv(), c.recv()
    assert first == {"Response": "Success", "ActionID": "06b-2", "Message": "Authentication accepted"}
    assert second["Event"] == "FullyBooted" and third["Event"] == "SuccessfulAuth"
    c.send(Action="NoSuchAction", ActionID="06b-3")
    assert c.recv(lambda m: m.get("ActionID") == "06b-3")["Message"] == (
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands."
    )
    assert c.recv(lambda m: m.get("Event") == "RequestBadFormat")["RequestType"] == "Action: NoSuchAction"
    c.send(ActionID="noaction-1", Foo="bar")
    assert c.recv(lambda m: m.get("ActionID") == "noaction-1")["Message"] == "Missing action in request"
    c.send(Action="Originate", Context="callback-survey", Exten="s", Priority="1", ActionID="06b-4")
    assert c.recv(lambda m: m.get("ActionID") == "06b-4")["Message"] == "Channel not specified"
    c.send(Action="Originate", Channel="Bogus/123", Context="callback-survey", Exten="s", ActionID="06b-5")
    assert c.recv(lambda m: m.get("ActionID") == "06b-5") == {
        "Response": "Error",
        "ActionID": "06b-5",
        "Message": "Originate failed",
    }
    c.send(Action="QueueStatus", Queue="no-such-queue", ActionID="06b-6")
    assert c.recv(lambda m: m.get("ActionID") == "06b-6")["EventList"] == "start"
    assert c.recv(lambda m: m.get("ActionID") == "06b-6")["ListItems"] == "0"
    c.send(Action="Ping", ActionID="06b-7")
    pong = c.recv(lambda m: m.get("ActionID") == "06b-7")
    assert pong["Ping"] == "Pong" and float(pong["Timestamp"]) > 0
    c.send(Action="Logoff", ActionID="06b-8")
    assert c.recv(lambda m: m.get("ActionID") == "06b-8")["Message"] == "Thanks for all the fish."


def test_wrong_secret_waits_then_fails_and_closes(ami: Any) -> None:
    ami.server.login_fail_delay = 0.3
    c = Raw(ami.server.port)
    t0 = time.monotonic()
    c.send(Action="Login", Username="hotline", Secret="wrong-secret", ActionID="06a1-1")
    assert c.recv() == {"Response": "Error", "ActionID": "06a1-1", "Message": "Authentication failed"}
    assert time.monotonic() - t0 >= 0.3
    assert c.sock.recv(10) == b""


def test_list_responses_while_a_call_waits(ami: Any) -> None:
    ami.server.set_time_scale(1.0)  # real time: the caller waits in the queue for seconds
    ami.call(ami.server.play, "02_inbound_abandoned")
    time.sleep(2.0)
    c = Raw(ami.server.port)
    c.send(Action="Login", Username="hotline", Secret="secret", Events="off", ActionID="l")
    c.recv(lambda m: m.get("ActionID") == "l")
    c.send(Action="CoreShowChannels", ActionID="c")
    assert c.recv(lambda m: m.get("ActionID") == "c")["Message"] == "Channels will follow"
    items = []
    while True:
        m = c.recv(lambda m: m.get("ActionID") == "c")
        if m["Event"] == "CoreShowChannelsComplete":
            break
        items.append(m)
    assert int(m["ListItems"]) == len(items) >= 2
    assert {i["Application"] for i in items} >= {"Queue"}
    c.send(Action="QueueStatus", Queue="hotline", ActionID="q")
    entries = []
    while True:
        m = c.recv(lambda m: m.get("ActionID") == "q")
        if m.get("Event") == "QueueStatusComplete":
            break
        if "Event" in m:
            entries.append(m)
    assert [e["Event"] for e in entries].count("QueueEntry") == 1
    assert [e["Event"] for e in entries].count("QueueMember") == 3
