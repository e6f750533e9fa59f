"""The trained model: features, one calibrated head per label kind, urgency rules, and the
prediction API other packages call."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from .features import FeatureExtractor
from .io import TRAIN_DATA_FILE, Example, write_examples
from .rules import DEFAULT_RULES_PATH, RuleHit, UrgencyRules

MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
FORMAT_VERSION = 1


@dataclass
class HeadResult:
    """Top-k proposals for one head, best first, with calibrated scores in [0, 1].

    ``abstained`` is True when the best score is below the head's threshold: the model does not
    propose, the agent chooses (the list is still there to help).
    """

    top: list[tuple[str, float]]
    abstained: bool

    @property
    def label(self) -> str | None:
        """The proposed label, or None when abstaining."""
        return None if self.abstained or not self.top else self.top[0][0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "top": [{"label": lab, "score": round(s, 4)} for lab, s in self.top],
            "abstained": self.abstained,
        }


@dataclass
class Prediction:
    category: HeadResult  # 业务领域
    appeal_type: HeadResult | None  # 诉求类型 (None: the model has no such head)
    urgency: HeadResult  # 紧急程度 (from a rule when urgency_rule is set)
    urgency_rule: RuleHit | None
    department: HeadResult | None  # 承办单位 suggestion (None: no department head)
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for storing on a ticket."""
        return {
            "model_version": self.model_version,
            "category": self.category.to_dict(),
            "appeal_type": self.appeal_type.to_dict() if self.appeal_type else None,
            "urgency": self.urgency.to_dict(),
            "urgency_rule": self.urgency_rule.to_dict() if self.urgency_rule else None,
            "department": self.department.to_dict() if self.department else None,
        }


@dataclass
class Head:
    """One label kind: LinearSVCs (one on all features, one per feature view: title characters,
    text characters + LSA, words) and a ComplementNB, stacked by a multinomial logistic regression
    fitted on their out-of-fold scores. The stacker makes the scores calibrated probabilities and
    learns how much to trust each view (the title alone is often decisive, sometimes misleading).

    A view's SVC is fitted with the other columns zeroed, so its weights there are exactly 0 and
    it scores the full feature row directly (no column slicing at prediction time)."""

    name: str
    classes: list[str]
    svcs: list[LinearSVC]
    nb: ComplementNB
    stacker: LogisticRegression
    threshold: float
    nb_columns: int  # NB sees only the leading non-negative TF-IDF columns

    def base_scores(self, x: sp.csr_matrix) -> np.ndarray:
        return base_scores(self.svcs, self.nb, x, self.classes, self.nb_columns)

    def compact(self) -> Head:
        """Drop what prediction does not use (NB counts) and keep weights as float32."""
        for svc in self.svcs:
            svc.coef_ = np.asarray(svc.coef_, dtype=np.float32)
        self.nb.feature_log_prob_ = np.asarray(self.nb.feature_log_prob_, dtype=np.float32)
        for attr in ("feature_count_", "feature_all_"):
            if hasattr(self.nb, attr):
                delattr(self.nb, attr)
        return self

    # On disk the two weight matrices are float16: it halves the model (the shipped one must stay
    # a few MB) and moves scores by ~1e-3, far below any decision the stacker makes.
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "_w"}
        svcs = [copy.copy(s) for s in self.svcs]
        for svc in svcs:
            svc.coef_ = np.asarray(svc.coef_, dtype=np.float16)
        nb = copy.copy(self.nb)
        nb.feature_log_prob_ = np.asarray(np.maximum(self.nb.feature_log_prob_, -60000), dtype=np.float16)
        state["svcs"], state["nb"] = svcs, nb
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for svc in self.svcs:
            svc.coef_ = np.asarray(svc.coef_, dtype=np.float32)
        self.nb.feature_log_prob_ = np.asarray(self.nb.feature_log_prob_, dtype=np.float32)

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        """(n, len(classes)) probabilities in ``self.classes`` order.

        Same arithmetic as ``stacker.predict_proba(base_scores(x))`` but as one sparse × dense
        product and a softmax: sklearn's per-call input validation would otherwise cost more
        than the maths for a single appeal.
        """
        w, b, order = self._weights()
        k = len(self.classes)
        s = np.asarray(x @ w) + b
        nb = s[:, -k:]
        nb -= nb.max(axis=1, keepdims=True)  # = NB log-proba, max-shifted (log-sum-exp cancels)
        z = s @ self.stacker.coef_.T.astype(np.float32) + self.stacker.intercept_.astype(np.float32)
        if z.shape[1] == 1:  # binary logistic regression: one logit, for classes_[1]
            z = np.hstack([np.zeros_like(z), z])
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return np.asarray(p[:, order], dtype=np.float64)

    def _weights(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """All base models' weights as one (features × scores) matrix, built once per process."""
        cached = self.__dict__.get("_w")
        if cached is not None:
            return cached
        k = len(self.classes)
        col = {c: i for i, c in enumerate(self.classes)}
        n_features = self.svcs[0].coef_.shape[1]
        blocks, biases = [], []
        for svc in self.svcs:
            coef, icpt = np.asarray(svc.coef_, dtype=np.float32), np.asarray(svc.intercept_, dtype=np.float32)
            if coef.shape[0] == 1:  # binary: margin for classes_[1], its negation for classes_[0]
                coef, icpt = np.vstack([-coef, coef]), np.concatenate([-icpt, icpt])
            w, b = np.zeros((n_features, k), np.float32), np.zeros(k, np.float32)
            for j, c in enumerate(svc.classes_):
                w[:, col[str(c)]], b[col[str(c)]] = coef[j], icpt[j]
            blocks.append(w)
            biases.append(b)
        w = np.zeros((n_features, k), np.float32)
        for j, c in enumerate(self.nb.classes_):
            w[: self.nb_columns, col[str(c)]] = self.nb.feature_log_prob_[j]
        blocks.append(w)
        biases.append(np.zeros(k, np.float32))
        order = [list(map(str, self.stacker.classes_)).index(c) for c in self.classes]
        cached = (np.hstack(blocks), np.concatenate(biases), order)
        self.__dict__["_w"] = cached
        return cached


def base_scores(
    svcs: Sequence[LinearSVC], nb: ComplementNB, x: sp.csr_matrix, classes: Sequence[str], nb_columns: int
) -> np.ndarray:
    """Each SVC's margins, then NB log-probabilities (max-shifted), aligned on ``classes``.

    A model fitted on a fold may lack a rare class: its columns get a low constant.
    """
    k = len(classes)
    col = {c: i for i, c in enumerate(classes)}
    blocks: list[np.ndarray] = []
    for svc in svcs:
        d = svc.decision_function(x)
        if d.ndim == 1:  # binary LinearSVC returns one margin, for classes_[1]
            d = np.column_stack([-d, d])
        blocks.append(_aligned(d, svc.classes_, col, k))
    lp = nb.predict_log_proba(x[:, :nb_columns] if nb_columns < x.shape[1] else x)
    lp = _aligned(lp, nb.classes_, col, k)
    blocks.append(lp - lp.max(axis=1, keepdims=True))
    return np.hstack(blocks)


def _aligned(scores: np.ndarray, model_classes: np.ndarray, col: dict[str, int], k: int) -> np.ndarray:
    out = np.full((scores.shape[0], k), (scores.min() - 1.0) if scores.size else -1.0)
    for j, c in enumerate(model_classes):
        out[:, col[str(c)]] = scores[:, j]
    return out


def _top(p: np.ndarray, classes: Sequence[str], k: int, threshold: float) -> HeadResult:
    order = np.argsort(-p, kind="stable")[: max(1, k)]
    top = [(classes[i], float(p[i])) for i in order]
    return HeadResult(top, abstained=top[0][1] < threshold)


class Model:
    """A loaded model. Thread-safe for prediction (nothing mutates after loading)."""

    def __init__(
        self,
        features: FeatureExtractor,
        heads: dict[str, Head],
        meta: dict[str, Any],
        rules: UrgencyRules | None = None,
        training_examples: Sequence[Example] = (),
    ) -> None:
        if "category" not in heads:
            raise ValueError("a model needs a category head")
        self.features = features
        self.heads = heads
        self.meta = meta
        self.rules = rules if rules is not None else UrgencyRules(DEFAULT_RULES_PATH)
        # Kept only between training and saving: saved beside the model so it can be retrained.
        self.training_examples = list(training_examples)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    @property
    def labels(self) -> dict[str, list[str]]:
        return {name: list(h.classes) for name, h in self.heads.items()}

    def predict(self, title: str, text: str, k: int = 3, min_confidence: float | None = None) -> Prediction:
        """Proposals for one appeal. ``min_confidence`` overrides every head's abstain threshold."""
        return self.predict_batch([title], [text], k=k, min_confidence=min_confidence)[0]

    def predict_batch(
        self,
        titles: Sequence[str],
        texts: Sequence[str],
        k: int = 3,
        min_confidence: float | None = None,
    ) -> list[Prediction]:
        if len(titles) != len(texts):
            raise ValueError("titles and texts differ in length")
        if not titles:
            return []
        titles = [t or "" for t in titles]
        texts = [t or "" for t in texts]
        x = self.features.transform(titles, texts)
        probs = {name: head.proba(x) for name, head in self.heads.items()}

        def result(name: str, i: int) -> HeadResult | None:
            head = self.heads.get(name)
            if head is None:
                return None
            thr = head.threshold if min_confidence is None else min_confidence
            return _top(probs[name][i], head.classes, k, thr)

        out: list[Prediction] = []
        for i in range(len(titles)):
            hit = self.rules.check(titles[i], texts[i])
            if hit is not None:
                # The rule decides; listing model scores beside it would invite overriding it.
                urgency = HeadResult([(hit.urgency, 1.0)], abstained=False)
            else:
                urgency = result("urgency", i) or HeadResult([], abstained=True)
            category = result("category", i)
            assert category is not None
            out.append(
                Prediction(
                    category=category,
                    appeal_type=result("appeal_type", i),
                    urgency=urgency,
                    urgency_rule=hit,
                    department=result("department", i),
                    model_version=self.version,
                )
            )
        return out

    def save(self, directory: str | Path) -> Path:
        """Write ``model.joblib``, ``meta.json``, ``userdict.txt`` and, when known, the training
        examples (gzip CSV) into ``directory`` (created; must be empty)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        if any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty")
        payload = {"format": FORMAT_VERSION, "features": self.features, "heads": self.heads}
        joblib.dump(payload, d / MODEL_FILE, compress=("lzma", 6))  # float16 weights: xz halves zlib's size
        (d / META_FILE).write_text(json.dumps(self.meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (d / "userdict.txt").write_text(self.features.user_dict_text, encoding="utf-8")
        if self.training_examples:
            write_examples(self.training_examples, d / TRAIN_DATA_FILE)
        return d


def load_model(directory: str | Path, rules: str | Path | UrgencyRules | None = None) -> Model:
    """Load a model directory. ``rules``: a rules file path or object; default: the shipped rules."""
    d = Path(directory)
    if not (d / MODEL_FILE).is_file():
        raise FileNotFoundError(f"no {MODEL_FILE} in {d}")
    payload = joblib.load(d / MODEL_FILE)
    if payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{d}: unsupported model format {payload.get('format')!r}")
    meta = json.loads((d / META_FILE).read_text(encoding="utf-8"))
    return Model(payload["features"], payload["heads"], meta, rules=resolve_rules(rules))


def resolve_rules(rules: str | Path | UrgencyRules | None) -> UrgencyRules:
    if isinstance(rules, UrgencyRules):
        return rules
    return UrgencyRules(DEFAULT_RULES_PATH if rules is None else rules)
