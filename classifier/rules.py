"""Explicit urgency safety rules (安全规则) that a center edits in YAML or JSON.

A rule that matches decides the urgency: the model is never consulted, so it can never lower a
gas leak or a threat of self-harm to 一般. When several rules match, the most urgent wins (the
first in file order among equals). Rules match on width-folded (全角→半角), lower-cased title + text with
digits kept (so "20多户" can be told from "2户").

File format (see ``resources/urgency_rules.yaml``)::

    rules:
      - id: gas_leak            # stable id, stored on the ticket
        name: 燃气泄漏           # shown to the agent
        urgency: 特急            # 紧急 or 特急
        keywords: [燃气泄漏, 煤气味]   # any of these (plain substrings)
        patterns: ['(燃气|煤气).{0,6}漏']  # and/or any of these regexes
        exclude: [燃气泄漏演练]        # phrases removed before matching (negations, drills)
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .taxonomy import urgency_rank
from .text import fold_width
from .yamlfile import load_yaml

log = logging.getLogger(__name__)

DEFAULT_RULES_PATH = Path(__file__).with_name("resources") / "urgency_rules.yaml"


class RulesError(ValueError):
    """The rules file is malformed."""


@dataclass(frozen=True)
class RuleHit:
    """The rule that decided the urgency, and the words that made it fire."""

    id: str
    name: str
    urgency: str
    matched: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    urgency: str
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[str, ...]
    regex: re.Pattern[str]  # keywords (escaped) and patterns as one alternation

    def match(self, text: str) -> str | None:
        """The matched words, or None. ``text`` is already prepared by ``_prepare``."""
        if not self.regex.search(text):
            return None  # the common case: skip the exclusions
        for phrase in self.exclude:
            text = text.replace(phrase, "　")  # a full-width space: cannot join the two sides
        m = self.regex.search(text)
        return m.group(0) if m else None


def _prepare(text: str) -> str:
    return fold_width(text)


def parse_rules(data: Any, source: str) -> tuple[Rule, ...]:
    """The rules of a file's data, checked (:class:`RulesError` names the rule at fault)."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesError(f"{source}: expected a mapping with a 'rules' list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict):
            raise RulesError(f"{source}: rule #{i + 1} is not a mapping")
        rid = str(raw.get("id") or "").strip()
        if not rid or rid in seen:
            raise RulesError(f"{source}: rule #{i + 1} needs a unique 'id'")
        seen.add(rid)
        urgency = str(raw.get("urgency") or "")
        if urgency_rank(urgency) < 1:
            raise RulesError(f"{source}: rule {rid!r}: urgency must be 紧急 or 特急, not {urgency!r}")
        keywords = tuple(_prepare(str(k)) for k in raw.get("keywords") or () if str(k).strip())
        try:
            patterns = tuple(re.compile(_prepare(str(p))) for p in raw.get("patterns") or ())
        except re.error as exc:
            raise RulesError(f"{source}: rule {rid!r}: bad pattern: {exc}") from exc
        if not keywords and not patterns:
            raise RulesError(f"{source}: rule {rid!r} has neither keywords nor patterns")
        exclude = tuple(_prepare(str(x)) for x in raw.get("exclude") or () if str(x).strip())
        # Longest first, so "没有煤气泄漏的情况" is removed before a shorter phrase splits it.
        exclude = tuple(sorted(exclude, key=len, reverse=True))
        alternatives = [re.escape(k) for k in sorted(keywords, key=len, reverse=True)] + [
            f"(?:{p.pattern})" for p in patterns
        ]
        regex = re.compile("|".join(alternatives))
        rules.append(Rule(rid, str(raw.get("name") or rid), urgency, keywords, patterns, exclude, regex))
    return tuple(rules)


class UrgencyRules:
    """A rule set loaded from a file, re-read when the file changes (checked at most once a second),
    so a center's edit takes effect without restarting the API or the workers."""

    def __init__(self, path: str | Path = DEFAULT_RULES_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self.rules: tuple[Rule, ...] = ()
        self._load()

    def _load(self) -> None:
        st = os.stat(self.path)
        raw = self.path.read_text(encoding="utf-8")
        data = json.loads(raw) if self.path.suffix.lower() == ".json" else load_yaml(raw)
        rules = parse_rules(data, str(self.path))
        # Most appeals match no rule: one scan for all keywords (plus the few patterns) rejects them
        # ~10x faster than trying rule by rule. Exclusions only remove text: a safe pre-check.
        keywords = sorted({k for r in rules for k in r.keywords}, key=len, reverse=True)
        self._any_keyword = re.compile("|".join(map(re.escape, keywords)) or "(?!)")
        self._patterns = tuple(p for r in rules for p in r.patterns)
        self.rules = rules
        self._stamp = (st.st_mtime_ns, st.st_size)

    def reload(self) -> None:
        """Read the file now (after this process wrote it), not at the next check."""
        with self._lock:
            self._load()
            self._checked = time.monotonic()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        with self._lock:
            self._checked = now
            try:
                st = os.stat(self.path)
            except OSError:
                return  # keep the last good rules rather than dropping safety checks
            if (st.st_mtime_ns, st.st_size) != self._stamp:
                try:
                    self._load()
                except (OSError, RulesError, yaml.YAMLError, json.JSONDecodeError) as exc:
                    # A half-saved or broken edit must not disable the rules in force.
                    log.warning("urgency rules %s not reloaded, keeping the previous set: %s", self.path, exc)

    def check(self, title: str, text: str) -> RuleHit | None:
        """The deciding rule for this appeal, or None when no rule matches."""
        self._refresh()
        doc = _prepare(title) + "\n" + _prepare(text)
        if not self._any_keyword.search(doc) and not any(p.search(doc) for p in self._patterns):
            return None
        best: RuleHit | None = None
        for rule in self.rules:
            if best is not None and urgency_rank(rule.urgency) <= urgency_rank(best.urgency):
                continue
            matched = rule.match(doc)
            if matched is not None:
                best = RuleHit(rule.id, rule.name, rule.urgency, matched)
        return best
