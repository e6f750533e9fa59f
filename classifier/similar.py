"""并单 candidates: earlier appeals that look like the same matter as a new one.

Pure function over given candidates (no database): the caller passes recent appeals, e.g. the
open tickets of the last weeks. "Same matter" needs near-same words (character bigram cosine),
the same place, and recency; the score combines them in [0, 1].
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

_NOISE = re.compile(r"[\s\d\W_]+", re.UNICODE)
# Administrative suffixes dropped when comparing places: "朝阳区幸福路" ≈ "朝阳幸福路".
_PLACE_SUFFIX = re.compile(r"(省|市|区|县|镇|乡|街道|社区|村|小区|号院|号楼|栋|单元|号)")


@dataclass(frozen=True)
class Candidate:
    id: str
    text: str
    place: str | None
    created_at: datetime


@dataclass(frozen=True)
class SimilarMatch:
    id: str
    score: float  # 0..1, higher = more likely the same matter
    text_similarity: float
    place_similarity: float | None  # None: a place is unknown on one side
    age_days: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": round(self.score, 4),
            "text_similarity": round(self.text_similarity, 4),
            "place_similarity": None if self.place_similarity is None else round(self.place_similarity, 4),
            "age_days": round(self.age_days, 2),
        }


def _clean(s: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", s or "").lower())


def _bigrams(s: str) -> Counter[str]:
    s = _clean(s)
    if len(s) < 2:
        return Counter([s]) if s else Counter()
    return Counter(s[i : i + 2] for i in range(len(s) - 1))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


def place_similarity(a: str | None, b: str | None) -> float | None:
    """1.0 same place (or one address contains the other), else bigram overlap; None if unknown."""
    if not a or not b or not _clean(a) or not _clean(b):
        return None
    ca, cb = _clean(_PLACE_SUFFIX.sub("", a)) or _clean(a), _clean(_PLACE_SUFFIX.sub("", b)) or _clean(b)
    if ca == cb or ca in cb or cb in ca:
        return 1.0
    ga, gb = set(_bigrams(ca)), set(_bigrams(cb))
    return len(ga & gb) / max(1, min(len(ga), len(gb)))


def _as_candidate(c: Candidate | Sequence[Any]) -> Candidate:
    if isinstance(c, Candidate):
        return c
    cid, text, place, created = c
    return Candidate(str(cid), text or "", place, created)


def find_similar(
    text: str,
    candidates: Iterable[Candidate | tuple[Any, str, str | None, datetime]],
    *,
    place: str | None = None,
    now: datetime | None = None,
    window_days: float = 30.0,
    min_text_similarity: float = 0.35,
    min_score: float = 0.5,
    limit: int = 10,
) -> list[SimilarMatch]:
    """Candidates (``(id, text, place, created_at)`` tuples or ``Candidate``) that look like the
    same matter as ``text`` at ``place``, best first.

    score = 0.6 × text similarity + 0.25 × place agreement + 0.15 × recency, where a different
    place scores 0, an unknown place 0.5, and recency falls linearly to 0 at ``window_days``.
    Candidates older than the window, created after ``now``, or with text similarity below
    ``min_text_similarity`` are never returned, whatever their place.
    """
    query = _bigrams(text)
    if not query:
        return []
    cands = [_as_candidate(c) for c in candidates]
    if now is None:
        stamps = [c.created_at for c in cands]
        now = max(stamps) if stamps else datetime.now()
    window = timedelta(days=window_days)
    out: list[SimilarMatch] = []
    for c in cands:
        age = now - c.created_at
        if age > window or age < -timedelta(minutes=5):  # clock skew of a few minutes is fine
            continue
        sim = _cosine(query, _bigrams(c.text))
        if sim < min_text_similarity:
            continue
        ps = place_similarity(place, c.place)
        place_term = 0.5 if ps is None else ps
        recency = max(0.0, 1.0 - max(age, timedelta(0)) / window)
        score = 0.6 * sim + 0.25 * place_term + 0.15 * recency
        if score >= min_score:
            out.append(SimilarMatch(c.id, min(1.0, score), sim, ps, max(age, timedelta(0)) / timedelta(days=1)))
    out.sort(key=lambda m: (-m.score, m.age_days, m.id))
    return out[:limit]
