"""The Asterisk Manager Interface wire format: a small, fast codec shared by client and server.

AMI is line based: every message is ``Key: Value`` lines ending in CRLF, and a blank line
(CRLF CRLF) ends the message. The only exception is the banner Asterisk sends first
(``Asterisk Call Manager/11.0.0\\r\\n``, a single line with no blank line after it).

Values are UTF-8 on the wire (``Result: 满意`` in a UserEvent); bytes that are not valid
UTF-8 are replaced rather than rejected, and lines without a colon are reported as
malformed, never raised: one bad packet must not stop the bridge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

Message = dict[str, str]
Pairs = list[tuple[str, str]]

BANNER_PREFIX = b"Asterisk Call Manager/"
TERMINATOR = b"\r\n\r\n"
MAX_MESSAGE_BYTES = 1 << 20  # a message longer than 1 MiB is garbage, not AMI


class MalformedMessage(Exception):
    """A block that could not be read as an AMI message (kept for logging, never fatal)."""

    def __init__(self, reason: str, raw: bytes) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


def parse_block(text: str) -> tuple[Message, list[str]]:
    """Parse one message (without the blank line) into a dict; return the malformed lines too.

    When a header repeats (``Variable:`` in an Originate) the values are joined with a
    newline under the one key; ``parse_pairs`` keeps them apart.
    """
    msg: Message = {}
    bad: list[str] = []
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep or not key or " " in key:
            if line.strip():
                bad.append(line)
            continue
        if value.startswith(" "):
            value = value[1:]
        if key in msg:
            msg[key] = msg[key] + "\n" + value
        else:
            msg[key] = value
    return msg, bad


def parse_pairs(text: str) -> Pairs:
    """Parse one message keeping every header in order (repeated headers stay apart)."""
    out: Pairs = []
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key:
            out.append((key, value[1:] if value.startswith(" ") else value))
    return out


class Decoder:
    """Incremental decoder: feed bytes as they arrive, get complete messages back.

    ``feed`` returns the list of complete messages; blocks that are not AMI (no header at
    all, or junk lines) are appended to ``self.malformed`` for the caller to log.
    """

    __slots__ = ("_buf", "banner", "malformed", "_expect_banner")

    def __init__(self, expect_banner: bool = True) -> None:
        self._buf = b""
        self.banner: str | None = None
        self.malformed: list[MalformedMessage] = []
        self._expect_banner = expect_banner

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buf + data if self._buf else data
        if self._expect_banner:
            end = buf.find(b"\r\n")
            if end < 0:
                self._buf = buf
                return []
            first = buf[:end]
            if first.startswith(BANNER_PREFIX) or b":" not in first:
                self.banner = first.decode("utf-8", "replace")
                buf = buf[end + 2 :]
            self._expect_banner = False
        parts = buf.split(TERMINATOR)
        rest = parts.pop()
        if len(rest) > MAX_MESSAGE_BYTES:
            self.malformed.append(MalformedMessage("message too long, dropped", rest[:200]))
            rest = b""
        self._buf = rest
        out: list[Message] = []
        append = out.append
        for raw in parts:
            if not raw:
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "replace")
                self.malformed.append(MalformedMessage("invalid UTF-8 replaced", raw[:200]))
            msg, bad = parse_block(text.lstrip("\r\n"))
            if bad:
                self.malformed.append(MalformedMessage(f"{len(bad)} line(s) without 'Key: value'", raw[:200]))
            if msg:
                append(msg)
            elif not bad:
                continue
        return out

    def take_malformed(self) -> list[MalformedMessage]:
        items, self.malformed = self.malformed, []
        return items


def encode(headers: Mapping[str, object] | Iterable[tuple[str, object]]) -> bytes:
    """Encode one message; values may be lists (one line each, e.g. ``Variable``)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    lines: list[str] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            for item in value:
                lines.append(f"{key}: {_clean(item)}")
        else:
            lines.append(f"{key}: {_clean(value)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _clean(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # A CR or LF inside a value would let a caller inject headers or whole actions.
    return str(value).replace("\r", " ").replace("\n", " ")


def encode_action(action: str, action_id: str, headers: Mapping[str, object] | None = None) -> bytes:
    pairs: list[tuple[str, object]] = [("Action", action), ("ActionID", action_id)]
    if headers:
        pairs.extend(headers.items())
    return encode(pairs)
