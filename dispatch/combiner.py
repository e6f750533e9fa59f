"""The learned combination of the three scorers — the 派单目录's rules, the classifier's category and
the department model trained on the center's dispatch history — into one calibrated probability per
candidate department (issue 18).

A conditional logit with an outside option: every candidate department ``j`` of an appeal has a
feature vector ``x_j`` (what the rules, the category and the history model say about it, and whether
it is the 属地 unit of the place); the appeal has a few features ``z`` of its own (no rule matched,
how many rules disagree…). Then

    P(j is the right 主办) = exp(w·x_j) / (exp(v·z) + Σ_k exp(w·x_k))

The outside option stands for "the right department is none of these", so the probability of the
first candidate is the probability that a 直派 to it is right; it is fitted by maximum likelihood
(L2-penalised), which makes it calibrated on the rows it was fitted on, and its calibration on rows
never seen is measured by ``benchmarks/bench_dispatch.py`` (accuracy by confidence band).

Three parameter sets, by what answered: ``history`` (a model trained on this center's own dispatch
history, naming our departments by code or name), ``plain`` (the shipped generic classifier) and
``rules`` (no classifier opinion at all). ``benchmarks/fit_dispatch_combiner.py`` fits them on the
training splits of the labelled appeals and writes ``dispatch/data/combiner.json``; a center refits
it on its own history the same way. The category → department table (the classifier's category as
a scorer) is part of the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MODES = ("history", "plain", "rules")
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "combiner.json"

# Per candidate department.
CANDIDATE_FEATURES: tuple[str, ...] = (
    "rule_score",  # the best matching rule's score for it (after the disagreement penalties)
    "rule_first",  # it is the 主办 of the rule that wins by precedence
    "rule_second",  # ... of the second distinct department the rules name
    "rule_priority",  # the best rule's priority / 100
    "rule_title",  # a rule for it matched words of the title
    "rule_count",  # how many rules name it (≤ 3) / 3
    "rule_catchall",  # its best rule is a broad 业务领域 catch-all (priority ≤ 30)
    "rule_territorial",  # its best rule names the 属地 (@street …)
    "rule_assist",  # the winning rule names it as 协办
    "history_prob",  # the history model's probability for it
    "history_first",  # it is the history model's first department
    "generic_prob",  # the shipped (generic) model's probability for it (names mapped)
    "category_prior",  # P(department | 业务领域) in the center's history
    "category_first",  # it is the most frequent department of the 业务领域
    "is_street",  # it is the street office / town the address resolves to
    "is_district",  # it is the district the address resolves to
    "is_fallback",  # it is the 兜底 of the district
    "place_unsure",  # it is a 属地 unit and the address is ambiguous or conflicting
)
# Per appeal (the outside option's utility: how likely the right department is none of them).
APPEAL_FEATURES: tuple[str, ...] = (
    "bias",
    "no_rule",  # no rule of the catalogue matched
    "rule_departments",  # distinct departments the rules name (≤ 4) / 4
    "no_place",  # no district resolved
    "history_missing",  # the history model had no opinion
)


@dataclass
class Params:
    w: list[float]  # CANDIDATE_FEATURES
    v: list[float]  # APPEAL_FEATURES

    def probabilities(self, candidates: Sequence[Sequence[float]], appeal: Sequence[float]) -> list[float]:
        """P(candidate j is right) for each candidate (the rest is the outside option)."""
        if not candidates:
            return []
        utilities = [sum(wi * xi for wi, xi in zip(self.w, x, strict=True)) for x in candidates]
        outside = sum(vi * zi for vi, zi in zip(self.v, appeal, strict=True))
        top = max(max(utilities), outside)
        exps = [math.exp(u - top) for u in utilities]
        total = sum(exps) + math.exp(outside - top)
        return [e / total for e in exps]


@dataclass
class Combiner:
    version: str
    history: Params
    plain: Params
    rules: Params
    category_table: dict[str, dict[str, float]]  # 业务领域 → {department code: share}
    trained_on: str

    def params(self, mode: str) -> Params:
        """``history``, ``plain`` or ``rules`` (see :data:`MODES`)."""
        return {"history": self.history, "plain": self.plain, "rules": self.rules}[mode]

    def category_prior(self, category: str | None, code: str) -> tuple[float, bool]:
        table = self.category_table.get(category or "") or {}
        share = table.get(code, 0.0)
        return share, bool(table) and share >= max(table.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "trained_on": self.trained_on,
            "candidate_features": list(CANDIDATE_FEATURES),
            "appeal_features": list(APPEAL_FEATURES),
            "history": {"w": self.history.w, "v": self.history.v},
            "plain": {"w": self.plain.w, "v": self.plain.v},
            "rules": {"w": self.rules.w, "v": self.rules.v},
            "category_table": self.category_table,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Combiner:
        if list(data["candidate_features"]) != list(CANDIDATE_FEATURES) or list(data["appeal_features"]) != list(
            APPEAL_FEATURES
        ):
            raise ValueError("combiner file was fitted on other features")
        return cls(
            version=str(data["version"]),
            history=Params(list(data["history"]["w"]), list(data["history"]["v"])),
            plain=Params(list(data["plain"]["w"]), list(data["plain"]["v"])),
            rules=Params(list(data["rules"]["w"]), list(data["rules"]["v"])),
            category_table=data["category_table"],
            trained_on=str(data.get("trained_on", "")),
        )


@lru_cache(maxsize=4)
def load(path: str = str(DEFAULT_PATH)) -> Combiner | None:
    """The combiner in ``path`` (cached); None when there is none (dispatch then ranks by rules)."""
    p = Path(path)
    if not p.exists():
        return None
    return Combiner.from_dict(json.loads(p.read_text(encoding="utf-8")))


# ---------------------------------------------------------------- fitting


@dataclass
class Example:
    """One appeal for fitting: its candidates' features, the appeal's, and which candidate was right
    (None: the right department was not among them)."""

    candidates: list[list[float]]
    appeal: list[float]
    right: int | None


def fit(examples: Sequence[Example], *, l2: float = 1.0) -> Params:
    """Maximum likelihood (L2-penalised) of the conditional logit with an outside option."""
    import numpy as np
    from scipy.optimize import minimize

    nw, nv = len(CANDIDATE_FEATURES), len(APPEAL_FEATURES)
    usable = [e for e in examples if e.candidates]
    xs = [np.asarray(e.candidates, dtype=float) for e in usable]
    zs = np.asarray([e.appeal for e in usable], dtype=float)

    def loss(theta: Any) -> tuple[float, Any]:
        w, v = theta[:nw], theta[nw:]
        total = 0.0
        gw = np.zeros(nw)
        gv = np.zeros(nv)
        for x, z, e in zip(xs, zs, usable, strict=True):
            u = np.append(x @ w, z @ v)
            m = u.max()
            p = np.exp(u - m)
            p /= p.sum()
            right = e.right if e.right is not None else len(u) - 1
            total -= math.log(max(p[right], 1e-300))
            # gradient of -log p_right: Σ p_k f_k - f_right
            gw += p[:-1] @ x
            gv += p[-1] * z
            if e.right is not None:
                gw -= x[e.right]
            else:
                gv -= z
        total += 0.5 * l2 * float(theta @ theta)
        grad = np.concatenate([gw, gv]) + l2 * theta
        return total, grad

    result = minimize(loss, np.zeros(nw + nv), jac=True, method="L-BFGS-B")
    return Params([round(float(t), 5) for t in result.x[:nw]], [round(float(t), 5) for t in result.x[nw:]])


def category_table(rows: Sequence[tuple[str | None, str]], *, minimum: int = 3) -> dict[str, dict[str, float]]:
    """业务领域 → the share of each department among the history's appeals of that 业务领域."""
    counts: dict[str, dict[str, int]] = {}
    for category, code in rows:
        if category:
            per = counts.setdefault(category, {})
            per[code] = per.get(code, 0) + 1
    out: dict[str, dict[str, float]] = {}
    for category, per in counts.items():
        n = sum(per.values())
        if n >= minimum:
            out[category] = {code: round(c / n, 4) for code, c in sorted(per.items(), key=lambda kv: -kv[1])}
    return out
