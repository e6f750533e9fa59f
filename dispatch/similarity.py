"""Character n-gram similarity for 并单 (repeat appeals): cosine over 1–3-grams of the normalised text.

Chinese has no spaces; overlapping character bigrams and trigrams catch "小区门口路灯坏了" ≈
"小区门口的路灯不亮" without a segmenter, and do not need a model.
"""

from __future__ import annotations

import math
import re
from collections import Counter

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


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    if dot == 0:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def similarity(a: str, b: str) -> float:
    return cosine(grams(a), grams(b))
