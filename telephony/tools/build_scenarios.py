"""Turn the recorded AMI traces into the compact scenario files under telephony/scenarios/.

Run once when the recordings change (the product never reads ../shared at run time):

    .venv/bin/python -m telephony.tools.build_scenarios ../shared/ami-traces

Each ``NN_name.timeline.txt`` holds every message of one AMI connection with its receive
offset. We keep the *events* of the call (not the lab harness's login, responses, or the
OriginateResponse of the harness's own inbound Originate), with their offset from the
first kept event, and replace the values that must be unique per replay by placeholders:

* ``«u0»``… Asterisk Uniqueids/Linkedids (``1795343472.0``), also inside ``CallID``/``SurveyID``;
* ``«c0»``… the 8-hex channel sequence (``Local/12345@hotline-inbound-00000000;1``);
* ``«b0»``… bridge UUIDs;   ``«n0»``… citizen numbers;   ``«a0»``… agent extensions;
* ``«case»`` the case id of a survey, ``«action»`` the ActionID of a survey Originate.

``defaults`` keeps the recorded value of every ``n``/``a`` placeholder, so a replay with
defaults differs from the recording only in its ids.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "scenarios"

SCENARIOS: dict[str, dict[str, str]] = {
    "01_inbound_answered": {"kind": "inbound"},
    "02_inbound_abandoned": {"kind": "inbound"},
    "03_inbound_rna_then_answered": {"kind": "inbound"},
    "04a_callback_survey_satisfied": {"kind": "survey"},
    "04b_callback_survey_basically_satisfied": {"kind": "survey"},
    "04c_callback_survey_unsatisfied": {"kind": "survey"},
    "04d_callback_survey_no_answer": {"kind": "survey"},
    "07a_sipp_inbound_5_calls": {"kind": "inbound"},
    "07b_sipp_sip_agent": {"kind": "inbound"},
    "08_agent_management": {"kind": "agent"},
}

BLOCK = re.compile(r"^(<<<|>>>|---) (\S+) \+([\d.]+)s\r?\n", re.M)
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
UNIQUEID = re.compile(r"\b\d{10}\.\d+\b")
CHANSEQ = re.compile(r"(?<=[a-z])-([0-9a-f]{8})(?![0-9a-f])")
CITIZEN = re.compile(r"\b1[3-9]\d{9}\b")
AGENT = re.compile(r"\b(800[1-9]|9001)\b")
CASE = re.compile(r"\bHL\d{8}\b")
NOT_IDS = {"SentNTP", "ReceivedNTP", "Timestamp"}  # NTP times look like Uniqueids
HARNESS_ONLY = {"FullyBooted", "SuccessfulAuth", "InvalidPassword", "InvalidAccountID", "RequestBadFormat"}


def read_timeline(path: Path) -> list[tuple[str, float, str, str]]:
    """(direction, offset, body, UTC receive time) of every message of one AMI connection."""
    text = path.read_text(encoding="utf-8")
    marks = list(BLOCK.finditer(text))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end].replace("\r\n", "\n").strip("\n")
        out.append((m.group(1), float(m.group(3)), body, m.group(2)))
    return out


def headers(body: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in body.split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            result[key] = value[1:] if value.startswith(" ") else value
    return result


class Numberer:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.seen: dict[str, str] = {}

    def __call__(self, match: re.Match[str]) -> str:
        value = match.group(1) if match.groups() else match.group(0)
        if value not in self.seen:
            self.seen[value] = f"«{self.prefix}{len(self.seen)}»"
        token = self.seen[value]
        return match.group(0).replace(value, token) if match.groups() else token


def build(trace_dir: Path, name: str, kind: str) -> dict[str, object]:
    blocks = read_timeline(trace_dir / f"{name}.timeline.txt")
    header_lines = [
        line[2:].strip()
        for line in (trace_dir / f"{name}.timeline.txt").read_text(encoding="utf-8").splitlines()
        if line.startswith("# ") and not line.startswith(("# connected", "# '<<<'", "# Message text", "# AMI"))
    ]
    sent_ids: set[str] = set()
    survey_action: str | None = None
    for direction, _off, body, _at in blocks:
        if direction == ">>>":
            h = headers(body)
            sent_ids.add(h.get("ActionID", ""))
            if h.get("Action") == "Originate" and h.get("Context") == "callback-survey":
                survey_action = h.get("ActionID")
    u, c, b, n, a = (Numberer(p) for p in "ucbna")
    events: list[list[object]] = []
    first: float | None = None
    recorded_at = 0.0
    for direction, off, body, at in blocks:
        if direction != "<<<":
            continue
        h = headers(body)
        event = h.get("Event")
        if not event or event in HARNESS_ONLY:
            continue
        if "ActionID" in h:
            if event == "OriginateResponse" and h["ActionID"] == survey_action:
                h["ActionID"] = "«action»"
            else:
                continue  # a response to the harness's own actions, not call traffic
        templ: dict[str, str] = {}
        for key, value in h.items():
            value = UUID.sub(b, value)
            if key not in NOT_IDS:
                value = UNIQUEID.sub(u, value)
            value = CHANSEQ.sub(c, value)
            value = CITIZEN.sub(n, value)
            value = AGENT.sub(a, value)
            value = CASE.sub("«case»", value)
            templ[key] = value
        if first is None:
            first = off
            recorded_at = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
        events.append([round(off - first, 3), templ])
    defaults = {tok.strip("«»"): raw for raw, tok in {**n.seen, **a.seen}.items()}
    return {
        "name": name,
        "kind": kind,
        "source": f"ami-traces/{name}.txt (Asterisk 22.10.1, recorded on loopback)",
        # When the first event was received (UTC): the lab clock of the Cdr events' StartTime etc.
        "recorded_at": round(recorded_at, 3),
        "description": " ".join(header_lines),
        "placeholders": {"u": len(u.seen), "c": len(c.seen), "b": len(b.seen), "n": len(n.seen), "a": len(a.seen)},
        "defaults": defaults,
        "events": events,
    }


def main(argv: list[str]) -> None:
    trace_dir = Path(argv[0] if argv else "../shared/ami-traces")
    OUT_DIR.mkdir(exist_ok=True)
    for name, meta in SCENARIOS.items():
        data = build(trace_dir, name, meta["kind"])
        path = OUT_DIR / f"{name}.json"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("{\n")
            for key in ("name", "kind", "source", "recorded_at", "description", "placeholders", "defaults"):
                fh.write(f"  {json.dumps(key)}: {json.dumps(data[key], ensure_ascii=False)},\n")
            fh.write('  "events": [\n')
            evs = data["events"]
            assert isinstance(evs, list)
            for i, ev in enumerate(evs):
                sep = "," if i + 1 < len(evs) else ""
                fh.write(f"    {json.dumps(ev, ensure_ascii=False, separators=(',', ':'))}{sep}\n")
            fh.write("  ]\n}\n")
        print(f"{path.name}: {len(evs)} events")


if __name__ == "__main__":
    main(sys.argv[1:])
