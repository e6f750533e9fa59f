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
    """One label kind: a LinearSVC and a ComplementNB on the same features, stacked by a
    multinomial logistic regression fitted on their out-of-fold scores. The stacker is what
    makes the scores calibrated probabilities (and lets the two models' strengths combine)."""

    name: str
    classes: list[str]
    svc: LinearSVC
    nb: ComplementNB
    stacker: LogisticRegression
    threshold: float
    nb_columns: int  # NB sees only the leading non-negative TF-IDF columns

    def base_scores(self, x: sp.csr_matrix) -> np.ndarray:
        return base_scores(self.svc, self.nb, x, self.classes, self.nb_columns)

    def compact(self) -> Head:
        """Drop what prediction does not use (NB counts) and keep weights as float32."""
        self.svc.coef_ = np.asarray(self.svc.coef_, dtype=np.float32)
        self.nb.feature_log_prob_ = np.asarray(self.nb.feature_log_prob_, dtype=np.float32)
        for attr in ("feature_count_", "feature_all_"):
            if hasattr(self.nb, attr):
                delattr(self.nb, attr)
        return self

    # On disk the two weight matrices are float16: it halves the model (the shipped one must stay
    # a few MB) and moves scores by ~1e-3, far below any decision the stacker makes.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        svc, nb = copy.copy(self.svc), copy.copy(self.nb)
        svc.coef_ = np.asarray(self.svc.coef_, dtype=np.float16)
        nb.feature_log_prob_ = np.asarray(np.maximum(self.nb.feature_log_prob_, -60000), dtype=np.float16)
        state["svc"], state["nb"] = svc, nb
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.svc.coef_ = np.asarray(self.svc.coef_, dtype=np.float32)
        self.nb.feature_log_prob_ = np.asarray(self.nb.feature_log_prob_, dtype=np.float32)

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        """(n, len(classes)) probabilities in ``self.classes`` order."""
        p = self.stacker.predict_proba(self.base_scores(x))
        out = np.zeros((x.shape[0], len(self.classes)))
        col = {c: i for i, c in enumerate(self.classes)}
        for j, c in enumerate(self.stacker.classes_):
            out[:, col[str(c)]] = p[:, j]
        return out


def base_scores(
    svc: LinearSVC, nb: ComplementNB, x: sp.csr_matrix, classes: Sequence[str], nb_columns: int
) -> np.ndarray:
    """SVC margins and NB log-probabilities (max-shifted), aligned on ``classes``.

    A model fitted on a fold may lack a rare class: its columns get a low constant.
    """
    k = len(classes)
    col = {c: i for i, c in enumerate(classes)}
    out = np.empty((x.shape[0], 2 * k))
    d = svc.decision_function(x)
    if d.ndim == 1:  # binary LinearSVC returns one margin, for classes_[1]
        d = np.column_stack([-d, d])
    lp = nb.predict_log_proba(x[:, :nb_columns] if nb_columns < x.shape[1] else x)
    out[:, :k] = d.min() - 1.0 if d.size else -1.0
    out[:, k:] = lp.min() - 1.0 if lp.size else -1.0
    for j, c in enumerate(svc.classes_):
        out[:, col[str(c)]] = d[:, j]
    for j, c in enumerate(nb.classes_):
        out[:, k + col[str(c)]] = lp[:, j]
    out[:, k:] -= out[:, k:].max(axis=1, keepdims=True)
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
        joblib.dump(payload, d / MODEL_FILE, compress=3)
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
