"""Character n-gram similarity for 并单 (repeat appeals): cosine over 1–3-grams of the normalised text.

Chinese has no spaces; overlapping character bigrams and trigrams catch "小区门口路灯坏了" ≈
"小区门口的路灯不亮" without a segmenter, and do not need a model.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from dispatch.rules import normalize_text

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# Words every appeal says; they would make unrelated appeals look alike.
_STOP = ("市民", "来电", "反映", "希望", "尽快", "处理", "解决", "请求", "要求", "相关部门", "问题", "情况")


def grams(text: str) -> Counter[str]:
    s = _PUNCT.sub("", normalize_text(text))
    for word in _STOP:
        s = s.replace(word, "|")
    parts = [p for p in s.split("|") if p]
    out: Counter[str] = Counter()
    for p in parts:
        for n in (2, 3):
            out.update(p[i : i + n] for i in range(len(p) - n + 1))
    return out


def _norm(counts: Counter[str]) -> float:
    return math.sqrt(sum(v * v for v in counts.values()))


@lru_cache(maxsize=1024)
def profile(text: str) -> tuple[Counter[str], float]:
    """The grams of ``text`` and their norm, remembered: the same open tickets are the candidates of
    many new ones (one to a few dozen KB each; never change what this answers)."""
    counts = grams(text)
    return counts, _norm(counts)


def profile_cosine(a: tuple[Counter[str], float], b: tuple[Counter[str], float]) -> float:
    """:func:`cosine` of two :func:`profile` answers."""
    (ga, na), (gb, nb) = a, b
    if not ga or not gb:
        return 0.0
    dot = sum(v * gb[k] for k, v in ga.items() if k in gb)
    if dot == 0:
        return 0.0
    return dot / (na * nb)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    return profile_cosine((a, _norm(a)), (b, _norm(b)))


def similarity(a: str, b: str) -> float:
    return cosine(grams(a), grams(b))
