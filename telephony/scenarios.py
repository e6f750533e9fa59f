"""Recorded AMI scenarios (built from real Asterisk traces) and their renumbered replays.

A scenario file (``telephony/scenarios/NN_name.json``, made by
``telephony.tools.build_scenarios``) is a list of ``[offset_seconds, {header: value}]``
events with placeholders for every value that must be unique per replay (see the builder).
``Scenario.render`` fills them so one recording can be replayed many times at once:
fresh Uniqueids/Linkedids, channel numbers and bridge ids, and the caller numbers and
agent extensions the caller asks for.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
PLACEHOLDER = re.compile(r"«([a-z]+\d*)»")

INBOUND = ("01_inbound_answered", "02_inbound_abandoned", "03_inbound_rna_then_answered")


class IdAllocator:
    """Asterisk-style unique ids (``<epoch>.<sequence>``) and channel sequence numbers."""

    def __init__(self) -> None:
        self._seq = itertools.count()
        self._chan = itertools.count()
        self._lock = threading.Lock()
        self.epoch = int(time.time())

    def uniqueid(self) -> str:
        with self._lock:
            return f"{self.epoch}.{next(self._seq)}"

    def channel_seq(self) -> str:
        with self._lock:
            return f"{next(self._chan):08x}"


@dataclass
class RenderedEvent:
    offset: float
    headers: dict[str, str]


@dataclass
class Scenario:
    name: str
    kind: str
    description: str
    placeholders: dict[str, int]
    defaults: dict[str, str]
    events: list[tuple[float, dict[str, str]]]
    recorded_at: float = 0.0  # UTC epoch of offset 0 (the lab clock that Cdr times are written in)
    _compiled: list[tuple[float, list[tuple[str, str, bool]]]] = field(default_factory=list, repr=False)

    @property
    def duration(self) -> float:
        return self.events[-1][0] if self.events else 0.0

    def compiled(self) -> list[tuple[float, list[tuple[str, str, bool]]]]:
        if not self._compiled:
            self._compiled = [(off, [(k, v, "«" in v) for k, v in hdrs.items()]) for off, hdrs in self.events]
        return self._compiled

    def render(
        self,
        ids: IdAllocator,
        *,
        numbers: list[str] | None = None,
        agents: list[str] | None = None,
        values: dict[str, str] | None = None,
        replace: dict[str, str] | None = None,
    ) -> list[RenderedEvent]:
        """Fill the placeholders; ``numbers``/``agents`` replace ``n0..``/``a0..`` in order."""
        mapping: dict[str, str] = dict(self.defaults)
        for i in range(self.placeholders.get("u", 0)):
            mapping[f"u{i}"] = ids.uniqueid()
        for i in range(self.placeholders.get("c", 0)):
            mapping[f"c{i}"] = ids.channel_seq()
        for i in range(self.placeholders.get("b", 0)):
            mapping[f"b{i}"] = str(uuid.uuid4())
        for i, num in enumerate(numbers or []):
            mapping[f"n{i}"] = num
        for i, ext in enumerate(agents or []):
            mapping[f"a{i}"] = ext
        mapping.setdefault("case", "HL00000000")
        mapping.setdefault("action", "")
        if values:
            mapping.update(values)

        def sub(m: re.Match[str]) -> str:
            return mapping.get(m.group(1), m.group(0))

        out: list[RenderedEvent] = []
        for off, items in self.compiled():
            hdrs: dict[str, str] = {}
            for key, value, templ in items:
                if templ:
                    value = PLACEHOLDER.sub(sub, value)
                if replace:
                    for old, new in replace.items():
                        if old in value:
                            value = value.replace(old, new)
                hdrs[key] = value
            out.append(RenderedEvent(off, hdrs))
        return out


@lru_cache
def load(name: str) -> Scenario:
    path = SCENARIO_DIR / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return Scenario(
        name=data["name"],
        kind=data["kind"],
        description=data["description"],
        placeholders=data["placeholders"],
        defaults=data["defaults"],
        events=[(float(off), hdrs) for off, hdrs in data["events"]],
        recorded_at=float(data.get("recorded_at", 0.0)),
    )


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))


def survey_scenario(digit: str | None) -> Scenario:
    """The recorded answered-survey scenario for the first question's digit (1/2/3)."""
    name = {
        "1": "04a_callback_survey_satisfied",
        "2": "04b_callback_survey_basically_satisfied",
        "3": "04c_callback_survey_unsatisfied",
    }.get(digit or "1", "04a_callback_survey_satisfied")
    return load(name)


RESOLUTION = {"1": ("已解决", "resolved"), "2": ("未解决", "unresolved")}
SECOND_QUESTION_DELAY = 2.7  # s; the recorded first answer comes 2.7 s after SurveyStart


def add_second_question(events: list[RenderedEvent], digit: str | None) -> list[RenderedEvent]:
    """Extend a recorded one-question survey with the product's second question (已解决/未解决).

    The lab dialplan asked only the first question; the shipped ``callback-survey`` context
    asks both. The second answer is shaped exactly like the recorded first one (DTMFBegin,
    DTMFEnd, UserEvent SurveyResult) with ``Question: resolution``; everything after it
    moves later by the time the second question takes.
    """
    idx = next(
        (i for i, e in enumerate(events) if e.headers.get("UserEvent") == "SurveyResult"),
        None,
    )
    if idx is None:
        return events
    first = events[idx]
    first.headers.setdefault("Question", "satisfaction")
    dtmf = [e for e in events[:idx] if e.headers.get("Event") in ("DTMFBegin", "DTMFEnd")]
    shift = SECOND_QUESTION_DELAY
    extra: list[RenderedEvent] = []
    if digit:
        text, code = RESOLUTION.get(digit, ("无效", "invalid"))
        for d in dtmf:
            hd = dict(d.headers)
            hd["Digit"] = digit
            extra.append(RenderedEvent(d.offset + shift, hd))
        hdrs = dict(first.headers)
        hdrs.update({"Question": "resolution", "Digit": digit, "Result": text, "ResultCode": code})
        extra.append(RenderedEvent(first.offset + shift, hdrs))
    else:
        hdrs = dict(first.headers)
        hdrs.update({"Question": "resolution", "Digit": "", "Result": "无效", "ResultCode": "invalid"})
        extra.append(RenderedEvent(first.offset + shift + 8.0, hdrs))
        shift += 8.0
    tail = [RenderedEvent(e.offset + shift, e.headers) for e in events[idx + 1 :]]
    return events[: idx + 1] + extra + tail
