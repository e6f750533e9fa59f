"""Jurisdiction (属地): an address text → district → street/town → community, from a gazetteer.

Pure code: the entries (name, kind, department code) come from the ``dispatch_places`` table, the
department tree from ``departments``. Matching is a longest match over the gazetteer's names (aliases
are just more names); each matched name votes for its unit and every unit above it, and the finest
unit most mentions agree on wins. A name listed under several units (a road crossing two streets)
is ambiguous until another name in the address settles it; if nothing does, the common parent is
taken (or nothing, when they lie in different districts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from classifier.yamlfile import load_yaml
from dispatch.rules import normalize_text

KINDS = ("district", "street", "community", "road", "compound", "landmark")
DEPTH = {"city": 1, "district": 2, "street": 3, "community": 4}


class GazetteerError(ValueError):
    """The gazetteer file is malformed."""


@dataclass(frozen=True)
class Unit:
    code: str
    level: str
    parent: str | None


@dataclass
class Place:
    district: str | None = None
    street: str | None = None
    community: str | None = None
    matched: list[str] = field(default_factory=list)
    ambiguous: bool = False
    conflict: bool = False

    @property
    def code(self) -> str | None:
        return self.community or self.street or self.district

    @property
    def level(self) -> str | None:
        return "community" if self.community else "street" if self.street else "district" if self.district else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "street": self.street,
            "community": self.community,
            "level": self.level,
            "matched": self.matched,
            "ambiguous": self.ambiguous,
            "conflict": self.conflict,
        }


def parse_entries(text: str, fmt: str = "yaml") -> list[tuple[str, str, str]]:
    """A gazetteer file → (name, kind, department code) rows.

    YAML: ``places: {<department code>: {<kind>: [names...]}}``.
    CSV: a header ``name,kind,department_code`` then one place a line.
    """
    rows: list[tuple[str, str, str]] = []
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = {"name", "kind", "department_code"} - set(reader.fieldnames or ())
        if missing:
            raise GazetteerError(f"CSV 缺少列：{sorted(missing)}")
        for i, row in enumerate(reader, start=2):
            name, kind, code = (
                (row["name"] or "").strip(),
                (row["kind"] or "").strip(),
                (row["department_code"] or "").strip(),
            )
            if not name or not code or kind not in KINDS:
                raise GazetteerError(f"第 {i} 行无效：{row}")
            rows.append((name, kind, code))
        return rows
    data = load_yaml(text) or {}
    places = data.get("places") if isinstance(data, dict) else None
    if not isinstance(places, dict):
        raise GazetteerError("地名库须有 places: {部门编码: {类别: [地名]}}")
    for code, kinds in places.items():
        if not isinstance(kinds, dict):
            raise GazetteerError(f"{code}：须为 {{类别: [地名]}}")
        for kind, names in kinds.items():
            if kind not in KINDS:
                raise GazetteerError(f"{code}：未知类别 {kind}（可用：{', '.join(KINDS)}）")
            for name in names or ():
                if not isinstance(name, str) or not name.strip():
                    raise GazetteerError(f"{code}.{kind}：地名须为非空字符串")
                rows.append((name.strip(), kind, str(code)))
    return rows


class Gazetteer:
    """Resolves addresses against entries and the territorial department tree."""

    def __init__(self, entries: Iterable[tuple[str, str, str]], units: dict[str, Unit]) -> None:
        self.units = units
        self.names: dict[str, set[str]] = {}
        for name, _kind, code in entries:
            if code in units:
                self.names.setdefault(normalize_text(name), set()).add(code)
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)
        self._resolved: dict[str, Place] = {}  # addresses repeat (compounds, roads): resolve each once

    def __len__(self) -> int:
        return len(self.names)

    def chain(self, code: str) -> list[str]:
        """The unit and every territorial unit above it, top down."""
        out: list[str] = []
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current in self.units and current not in seen:
            seen.add(current)
            unit = self.units[current]
            if unit.level in ("district", "street", "community"):
                out.append(current)
            current = unit.parent
        return out[::-1]

    def _related(self, a: str, b: str) -> bool:
        return a in self.chain(b) or b in self.chain(a)

    def find(self, text: str) -> list[tuple[str, set[str]]]:
        """Names found in ``text``, longest first, never overlapping."""
        s = normalize_text(text)
        taken = [False] * len(s)
        found: list[tuple[int, str, set[str]]] = []
        for length in self.lengths:
            for start in range(0, len(s) - length + 1):
                piece = s[start : start + length]
                if piece in self.names and not any(taken[start : start + length]):
                    found.append((start, piece, self.names[piece]))
                    for i in range(start, start + length):
                        taken[i] = True
        return [(name, codes) for _start, name, codes in sorted(found)]

    def resolve(self, text: str | None) -> Place:
        if not text:
            return Place()
        known = self._resolved.get(text)
        if known is None:
            known = self._resolve(text)
            if len(self._resolved) >= 50_000:
                self._resolved.clear()
            self._resolved[text] = known
        return replace(known, matched=list(known.matched))

    def _resolve(self, text: str) -> Place:
        place = Place()
        mentions = self.find(text)
        if not mentions:
            return place
        place.matched = [name for name, _ in mentions]
        candidates = {c for _, codes in mentions for code in codes for c in self.chain(code)}

        def support(code: str) -> int:
            return sum(1 for _, codes in mentions if any(self._related(code, c) for c in codes))

        def depth(code: str) -> int:
            return DEPTH.get(self.units[code].level, 0)

        ranked = sorted(candidates, key=lambda c: (support(c), depth(c)), reverse=True)
        best_key = (support(ranked[0]), depth(ranked[0]))
        tied = [c for c in ranked if (support(c), depth(c)) == best_key]
        chosen: str | None = tied[0]
        if len(tied) > 1:
            place.ambiguous = True
            chains = [self.chain(c) for c in tied]
            common = [c for c in chains[0] if all(c in ch for ch in chains[1:])]
            chosen = common[-1] if common else None
        if chosen is None:
            return place
        place.conflict = support(chosen) < len(mentions)
        for code in self.chain(chosen):
            setattr(place, self.units[code].level, code)
        return place
