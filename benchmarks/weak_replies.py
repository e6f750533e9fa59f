"""Distant supervision: label a citizen message by the department named in its reply."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

MAP_FILE = Path(__file__).with_name("department_category_map.yaml")


def load_map(path: Path = MAP_FILE) -> list[tuple[str, str | None]]:
    return [(str(e["pattern"]), e.get("category")) for e in yaml.safe_load(path.read_text(encoding="utf-8"))]


def compile_map(mapping: Sequence[tuple[str, str | None]]) -> tuple[re.Pattern[str], dict[str, str | None]]:
    # Earlier patterns first; at one position, regex alternation takes the first listed alternative.
    return re.compile("|".join(re.escape(p) for p, _ in mapping)), dict(mapping)


def weak_label(reply: str, compiled: tuple[re.Pattern[str], dict[str, str | None]], head: int = 300) -> str | None:
    rx, cats = compiled
    found = {cats[m.group(0)] for m in rx.finditer(reply[:head])} - {None}
    return next(iter(found)) if len(found) == 1 else None
