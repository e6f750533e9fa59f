"""Training, evaluation, and learning from staff corrections."""

from __future__ import annotations

import hashlib
import platform
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jieba
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .features import FeatureExtractor, load_lexicon
from .io import TRAIN_DATA_FILE, Example, read_examples
from .model import Head, Model, base_scores
from .text import RESOURCES, default_user_dict_text, mostly_segmented, normalize

if TYPE_CHECKING:
    from .registry import ModelRegistry

# Default abstain thresholds: below these calibrated scores the agent chooses.
DEFAULT_THRESHOLDS: dict[str, float] = {"category": 0.5, "appeal_type": 0.5, "urgency": 0.5, "department": 0.4}
LABEL_FIELDS: tuple[str, ...] = ("category", "appeal_type", "urgency", "department")
# Per-category terms from domain knowledge (see the file's header); a center passes its own.
DEFAULT_LEXICON = RESOURCES / "category_lexicon.yaml"


@dataclass
class TrainConfig:
    """Model hyper-parameters, chosen by cross-validation on the competition train split only."""

    svc_c: float = 1.0
    nb_alpha: float = 0.1
    stack_c: float = 1.0
    stack_class_weight: str | None = None
    # Words from the title only: text words (first 60/120 chars) scored the same in cross-validation
    # (0.866 vs 0.863 macro-F1) at half the speed; the text is covered by char n-grams and LSA.
    word_chars: int = 0
    lsa_components: int = 150
    # Feature views that get an SVC of their own besides the one on all features (see Head).
    views: tuple[tuple[str, ...], ...] = (("title_char",), ("text_char", "lsa"), ("words",))
    folds: int = 5
    seed: int = 0
    # Category lexicon (train_model's ``lexicon``): per category log(1 + term hits) in title and
    # text, times this weight (0: not used); ``lexicon_view`` gives that block an SVC of its own in
    # the stack; ``lexicon_userdict`` adds the terms to the jieba dictionary. Off by default: CV on
    # train (benchmarks/cv_classifier.py) prefers weight 0.25 + userdict (0.868 / 0.860 on seeds
    # 0-2 / 3-5 against 0.853 / 0.852), but its dev macro-F1 was 0.858 (see README).
    lexicon_weight: float = 0.0
    lexicon_view: bool = False
    lexicon_userdict: bool = False

    @classmethod
    def for_segmented(cls, **changes: Any) -> TrainConfig:
        """The defaults for data that comes segmented (``train_model`` picks them when no config is
        given): one SVC on all features beside the NB, no LSA, 3 stacking folds. Chosen by grouped
        cross-validation inside the explore part of full_segmented.csv (classifier/README.md)."""
        return cls(**{**SEGMENTED_DEFAULTS, **changes})


SEGMENTED_DEFAULTS: dict[str, Any] = {"views": (), "lsa_components": 0, "folds": 3}


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 over the training rows (order-sensitive, as training is)."""
    h = hashlib.sha256()
    for e in examples:
        for v in (e.title, e.text, e.category, e.appeal_type, e.urgency, e.department):
            h.update((v or "").encode("utf-8"))
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()


def _folds(y: np.ndarray, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    counts = Counter(y.tolist())
    k = min(n, len(y))
    if min(counts.values()) >= k:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    # Rare labels (a department with two tickets): plain folds; base_scores pads absent classes.
    return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y))))


def _fit_base(
    x: sp.csr_matrix, y: np.ndarray, nb_columns: int, cfg: TrainConfig, masks: Sequence[np.ndarray]
) -> tuple[list[LinearSVC], ComplementNB]:
    svcs: list[LinearSVC] = []
    for mask in (None, *masks):
        if len(set(y.tolist())) < 2:  # a fold with one class: a constant model
            svcs.append(_ConstantSVC(y[0]))
            continue
        xv = x if mask is None else (x @ sp.diags(mask.astype(np.float32))).tocsr()
        svcs.append(LinearSVC(C=cfg.svc_c, class_weight="balanced").fit(xv, y))
    nb = ComplementNB(alpha=cfg.nb_alpha).fit(x[:, :nb_columns], y)
    return svcs, nb


class _ConstantSVC(LinearSVC):
    """Stand-in for a LinearSVC fitted on a single class (only happens inside tiny CV folds)."""

    def __init__(self, label: Any = None) -> None:
        super().__init__()
        self.label = label
        self.classes_ = np.array([label])

    def decision_function(self, x: Any) -> np.ndarray:
        return np.ones((x.shape[0], 1))


def fit_head(
    name: str,
    x: sp.csr_matrix,
    labels: Sequence[str],
    nb_columns: int,
    cfg: TrainConfig,
    threshold: float,
    masks: Sequence[np.ndarray] = (),
    progress: tqdm | None = None,
) -> tuple[Head, np.ndarray]:
    """Fit one head; also return its out-of-fold calibrated probabilities (for honest metrics)."""
    y = np.asarray(labels, dtype=object).astype(str)
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ValueError(f"{name}: need at least two distinct labels, got {classes}")
    oof = np.zeros((len(y), (len(masks) + 2) * len(classes)))
    folds = _folds(y, cfg.folds, cfg.seed)
    for tr, te in folds:
        svcs, nb = _fit_base(x[tr], y[tr], nb_columns, cfg, masks)
        oof[te] = base_scores(svcs, nb, x[te], classes, nb_columns)
        if progress is not None:
            progress.update(1)
    stacker = LogisticRegression(C=cfg.stack_c, max_iter=5000, class_weight=cfg.stack_class_weight).fit(oof, y)
    # Out-of-fold probabilities from the stacker fitted on the other folds' scores: an honest
    # estimate of how the final head does on unseen appeals.
    oof_p = np.zeros((len(y), len(classes)))
    for tr, te in folds:
        if len(set(y[tr].tolist())) < 2:
            continue
        s = LogisticRegression(C=cfg.stack_c, max_iter=5000, class_weight=cfg.stack_class_weight).fit(oof[tr], y[tr])
        for j, c in enumerate(s.classes_):
            oof_p[te, classes.index(str(c))] = s.predict_proba(oof[te])[:, j]
    svcs, nb = _fit_base(x, y, nb_columns, cfg, masks)
    if progress is not None:
        progress.update(1)
    head = Head(name, classes, svcs, nb, stacker, threshold, nb_columns).compact()
    return head, oof_p


def metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] | None = None) -> dict[str, Any]:
    """accuracy, macro_f1, per_class {label: precision/recall/f1/support}, n, confusion_matrix."""
    yt, yp = list(map(str, y_true)), list(map(str, y_pred))
    labs = sorted(set(yt) | set(yp)) if labels is None else [str(x) for x in labels]
    labs = labs + sorted((set(yt) | set(yp)) - set(labs))
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=labs, zero_division=0)
    present = [lab for lab in labs if lab in set(yt)]
    return {
        "n": len(yt),
        "accuracy": round(float(accuracy_score(yt, yp)), 4) if yt else 0.0,
        "macro_f1": round(float(f1_score(yt, yp, labels=present, average="macro", zero_division=0)), 4) if yt else 0.0,
        "per_class": {
            lab: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labs)
        },
        "confusion_matrix": {
            "labels": labs,
            "matrix": confusion_matrix(yt, yp, labels=labs).tolist() if yt else [],
        },
    }


def _abstention(truth: Sequence[str], pred: Sequence[str], proba: np.ndarray, threshold: float) -> dict[str, Any]:
    """How often the head abstains, and how right it is when it does propose."""
    accepted = proba.max(axis=1) >= threshold
    right = np.asarray(pred, dtype=object) == np.asarray(truth, dtype=object)
    return {
        "abstain_rate": round(float(1 - accepted.mean()), 4),
        "accuracy_when_proposing": round(float(right[accepted].mean()), 4) if accepted.any() else None,
    }


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "jieba": str(getattr(jieba, "__version__", "unknown")),
        "numpy": np.__version__,
    }


def train_model(
    examples: Sequence[Example],
    *,
    user_dicts: Sequence[str | Path] = (),
    unlabeled: Sequence[str] = (),
    config: TrainConfig | None = None,
    thresholds: dict[str, float] | None = None,
    progress: bool = False,
    source: str = "",
    lexicon: str | Path | Mapping[str, Sequence[str]] | None = None,
) -> Model:
    """Train a model with a head for every label field that at least two examples carry.

    ``user_dicts``: a center's jieba dictionaries, added to the shipped one.
    ``unlabeled``: raw appeal texts used only for the unsupervised LSA features.
    ``lexicon``: a category lexicon file or mapping (category → terms); default: the shipped
    ``resources/category_lexicon.yaml``. Used only when ``config`` enables it (``lexicon_weight``
    > 0 or ``lexicon_userdict``), and only for categories among the training labels.
    """
    if config is None:
        config = TrainConfig.for_segmented() if mostly_segmented(e.text for e in examples) else TrainConfig()
    cfg = config
    thr = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    examples = [e for e in examples if (e.title or "").strip() or (e.text or "").strip()]
    if not any(e.category for e in examples):
        raise ValueError("no examples with a category label")
    started = time.perf_counter()
    head_rows = {f: [i for i, e in enumerate(examples) if getattr(e, f)] for f in LABEL_FIELDS}
    head_rows = {f: rows for f, rows in head_rows.items() if len({getattr(examples[i], f) for i in rows}) >= 2}
    if "category" not in head_rows:
        raise ValueError("category: need at least two distinct labels")
    steps = 1 + sum(min(cfg.folds, len(rows)) + 1 for rows in head_rows.values())
    bar = tqdm(total=steps, desc="training", unit="step", file=sys.stderr, disable=not progress, leave=False)
    lex: dict[str, list[str]] = {}
    if cfg.lexicon_weight > 0 or cfg.lexicon_userdict:
        terms = lexicon if isinstance(lexicon, Mapping) else load_lexicon(lexicon or DEFAULT_LEXICON)
        labels = {e.category for e in examples if e.category}
        lex = {c: [str(t) for t in ts] for c, ts in terms.items() if c in labels and ts}
    user_dict_text = default_user_dict_text(user_dicts)
    if cfg.lexicon_userdict and lex:
        words = sorted({normalize(t) for ts in lex.values() for t in ts} - {""})
        user_dict_text += "".join(f"{w}\n" for w in words if " " not in w)
    # One BLAS thread: the stacker's small dense problems run 10x slower when threads fight
    # over a shared machine's cores, and nothing here gains from more.
    with bar, threadpool_limits(limits=1):
        fx = FeatureExtractor(
            user_dict_text=user_dict_text,
            word_chars=cfg.word_chars,
            lsa_components=cfg.lsa_components,
            lexicon=lex,
            lexicon_weight=cfg.lexicon_weight,
        )
        x = fx.fit_transform([e.title for e in examples], [e.text for e in examples], unlabeled)
        masks = [fx.view_mask(v) for v in cfg.views]
        if cfg.lexicon_view and fx.n_lexicon:
            masks.append(fx.view_mask(("lexicon",)))
        bar.update(1)
        heads: dict[str, Head] = {}
        cv: dict[str, Any] = {}
        for f, rows in head_rows.items():
            bar.set_postfix_str(f)
            y = [str(getattr(examples[i], f)) for i in rows]
            head, oof_p = fit_head(f, x[rows], y, fx.n_sparse, cfg, thr[f], masks, progress=bar)
            heads[f] = head
            pred = [head.classes[j] for j in oof_p.argmax(axis=1)]
            cv[f] = {**metrics(y, pred, head.classes), **_abstention(y, pred, oof_p, head.threshold)}
    digest = data_hash(examples)
    created = datetime.now(UTC)
    meta: dict[str, Any] = {
        "version": f"{created:%Y%m%d-%H%M%S}-{digest[:8]}-{uuid.uuid4().hex[:4]}",
        "created_at": created.isoformat(timespec="seconds"),
        "training_data_sha256": digest,
        "training_source": source,
        "n_train": len(examples),
        "n_unlabeled": len(unlabeled),
        "labels": {name: h.classes for name, h in heads.items()},
        "thresholds": {name: h.threshold for name, h in heads.items()},
        "config": asdict(cfg),
        "n_features": {"sparse": fx.n_sparse, "dense": fx.n_dense},
        "libraries": library_versions(),
        "training_seconds": round(time.perf_counter() - started, 2),
        # Cross-validated (out-of-fold) metrics on the training data.
        "metrics": {"cross_validated": cv},
    }
    return Model(fx, heads, meta, training_examples=examples)


def read_training_examples(directory: str | Path) -> list[Example]:
    """Examples saved with a model directory (empty when none were saved)."""
    p = Path(directory) / TRAIN_DATA_FILE
    return read_examples(p) if p.is_file() else []


def evaluate(model: Model, examples: Sequence[Example], head: str = "category") -> dict[str, Any]:
    """Metrics of one head on labelled examples (rows without that label are skipped)."""
    if head not in model.heads:
        raise ValueError(f"the model has no {head!r} head (it has {sorted(model.heads)})")
    rows = [e for e in examples if getattr(e, head)]
    if not rows:
        raise ValueError(f"no examples with a {head!r} label")
    h = model.heads[head]
    x = model.features.transform([e.title for e in rows], [e.text for e in rows])
    p = h.proba(x)
    pred = [h.classes[j] for j in p.argmax(axis=1)]
    truth = [str(getattr(e, head)) for e in rows]
    m = metrics(truth, pred, h.classes)
    accepted = p.max(axis=1) >= h.threshold
    m["abstain_rate"] = round(float(1 - accepted.mean()), 4)
    m["accuracy_when_proposing"] = (
        round(float(np.mean(np.asarray(pred)[accepted] == np.asarray(truth)[accepted])), 4) if accepted.any() else None
    )
    m["head"] = head
    m["model_version"] = model.version
    return m


def retrain_and_maybe_promote(
    registry: ModelRegistry,
    examples: Sequence[Example],
    *,
    base_examples: Sequence[Example] | None = None,
    holdout_fraction: float = 0.25,
    min_holdout: int = 8,
    tolerance: float = 0.0,
    metric: str = "macro_f1",
    seed: int = 0,
    config: TrainConfig | None = None,
) -> dict[str, Any]:
    """Learn from staff corrections (labelled examples): train a candidate on the active model's
    training data plus most corrections, score both on the held-back rest of the corrections, and
    promote the candidate only if it is not worse (``candidate ≥ active − tolerance`` on ``metric``
    for every head both have and the slice labels). Returns a report of what happened.

    ``base_examples``: the data to extend; default: the examples saved with the active model.
    """
    report: dict[str, Any] = {"promoted": False, "n_corrections": len(examples)}
    active_version = registry.active_version()
    report["active_version"] = active_version
    if active_version is None:
        report["reason"] = "no active model to compare with"
        return report
    active = registry.active()
    corrections = [e for e in examples if e.category or e.appeal_type or e.urgency or e.department]
    rng = random.Random(seed)
    order = list(range(len(corrections)))
    rng.shuffle(order)
    n_hold = max(min_holdout, round(len(corrections) * holdout_fraction))
    if len(corrections) < 2 * min_holdout:
        report["reason"] = f"too few corrections ({len(corrections)}; need {2 * min_holdout})"
        return report
    held = [corrections[i] for i in order[:n_hold]]
    fresh = [corrections[i] for i in order[n_hold:]]
    base = list(base_examples) if base_examples is not None else read_training_examples(registry.path(active_version))
    # A correction replaces the older label of the same appeal.
    corrected = {(e.title, e.text) for e in fresh} | {(e.title, e.text) for e in held}
    train_rows = [e for e in base if (e.title, e.text) not in corrected] + fresh
    # The active model's lexicon (a center's own, when it was trained with one) carries over.
    lexicon = getattr(active.features, "lexicon", None) or None
    if config is None and lexicon:
        saved = active.meta.get("config", {})
        keys = ("lexicon_weight", "lexicon_view", "lexicon_userdict")
        config = TrainConfig(**{k: saved[k] for k in keys if k in saved})
    candidate = train_model(train_rows, config=config, source=f"retrain of {active_version}", lexicon=lexicon)
    candidate.meta["parent_version"] = active_version
    comparison: dict[str, Any] = {}
    worse: list[str] = []
    for head in LABEL_FIELDS:
        if head not in active.heads or head not in candidate.heads:
            continue
        if not any(getattr(e, head) for e in held):
            continue
        a = evaluate(active, held, head)
        c = evaluate(candidate, held, head)
        comparison[head] = {"active": a[metric], "candidate": c[metric], "n": c["n"]}
        if c[metric] < a[metric] - tolerance:
            worse.append(head)
    candidate.meta["metrics"]["holdout_vs_parent"] = comparison
    version = registry.add(candidate)
    report.update(
        candidate_version=version,
        n_train=len(train_rows),
        n_holdout=len(held),
        metric=metric,
        comparison=comparison,
    )
    if not comparison:
        report["reason"] = "held-back slice has no label the two models share"
    elif worse:
        report["reason"] = f"candidate is worse on {', '.join(worse)}; kept {active_version}"
    else:
        registry.promote(version)
        report["promoted"] = True
        report["reason"] = "candidate is not worse on the held-back corrections"
    return report
