"""Repeated stratified k-fold cross-validation of a classifier configuration on train.csv only.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cv_classifier.py [--config '{"svc_c": 0.5}'] \
        [--unlabeled unlabeled,hot_topics,replies] [--seeds 0,1,2] [--folds 5] \
        [--weak replies [--weak-filter all|agree] [--weak-cap N] [--weak-chars 300]] \
        [--train-fraction 0.5] [--plain] [--with-dev]

Prints one JSON object: out-of-fold macro-F1 per seed (each seed: every train appeal predicted
once by a model trained on the other folds) and their mean. This is how the default TrainConfig is
chosen: dev.csv labels are never read here (except with ``--with-dev``, a final measurement over
train + dev of configurations already chosen). dev.csv is opened only for its ids and titles, to drop
unlabeled rows that duplicate a dev appeal (no transductive leak into the LSA); likewise, inside
each fold, unlabeled rows whose id or title is a held-out train appeal are dropped.

``--weak replies``: distant supervision. A replies.csv message is labelled with the category of
the department its reply names in its first ``--weak-chars`` characters
(``benchmarks/department_category_map.yaml``, written from what each line bureau handles), only
when exactly one category is named. The same dev and held-out exclusions apply; the weak examples
join the training folds only (``agree``: only those the model trained on the fold predicts the
same; ``--weak-cap``: at most N per category, a random sample per fold seed).

``--train-fraction``: a learning curve (each training fold subsampled, the same held-out folds).
``--plain``: the issue's reference point, a TF-IDF + LinearSVC, on the same folds.
"""

from __future__ import annotations

from onecore import APPEALS  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits
from weak_replies import compile_map, load_map, weak_label

from classifier import TrainConfig, train_model
from classifier.io import Example, read_table


def unlabeled_rows(data: Path, names: list[str]) -> list[dict[str, str]]:
    """Rows of the named unlabeled files minus any whose id or title is a dev appeal."""
    dev = read_table(data / "dev.csv") if (data / "dev.csv").is_file() else []
    dev_ids = {r["id"] for r in dev}
    dev_titles = {r["title"] for r in dev}
    out: list[dict[str, str]] = []
    for name in names:
        for r in read_table(data / f"{name}.csv"):
            if r["id"] not in dev_ids and r["title"] not in dev_titles:
                out.append(r)
    return out


def plain_svc(train: list[Example], test: list[Example]) -> list[str]:
    """The issue's reference point ("a plain TF-IDF and linear SVM"), what our model is measured against."""
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    x = vec.fit_transform([f"{e.title}。{e.text}" for e in train])
    svc = LinearSVC().fit(x, [e.category for e in train])
    return [str(p) for p in svc.predict(vec.transform([f"{e.title}。{e.text}" for e in test]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=APPEALS)
    ap.add_argument("--config", default="{}", help="TrainConfig overrides as JSON")
    ap.add_argument("--unlabeled", default="unlabeled", help="comma-separated unlabeled files ('' for none)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--label", default="", help="a name for this run in the output")
    ap.add_argument(
        "--weak",
        default="",
        help="a file (e.g. replies) whose messages are labelled by the department named in the reply "
        "(benchmarks/department_category_map.yaml) and added to the training folds",
    )
    ap.add_argument("--weak-chars", type=int, default=300, help="reply characters searched for a department")
    ap.add_argument(
        "--weak-filter",
        choices=["all", "agree"],
        default="all",
        help="agree: keep weak examples the model trained on the training folds predicts the same category for",
    )
    ap.add_argument("--weak-cap", type=int, default=0, help="at most this many weak examples per category (0: all)")
    ap.add_argument(
        "--train-fraction",
        type=float,
        default=1.0,
        help="train on a stratified sample of this fraction of each training fold (a learning curve: the held-out "
        "folds, and so what is measured, stay the same)",
    )
    ap.add_argument(
        "--extra-labels",
        type=Path,
        default=None,
        help="CSV id,label[,sure] labelling unlabeled.csv appeals by hand; they join the training folds only",
    )
    ap.add_argument("--extra-sure-only", action="store_true", help="only extra labels marked sure=1")
    ap.add_argument(
        "--with-dev",
        action="store_true",
        help="cross-validate over train.csv + dev.csv (for a final measurement with 7x dev's appeals; "
        "never for choosing a configuration)",
    )
    ap.add_argument(
        "--plain",
        action="store_true",
        help="the reference baseline instead of our model: TF-IDF of character 1-2-grams of title + text, LinearSVC",
    )
    args = ap.parse_args()

    overrides = json.loads(args.config)
    for k, v in overrides.items():
        if isinstance(v, list):  # JSON has no tuples
            overrides[k] = tuple(tuple(x) if isinstance(x, list) else x for x in v)
    cfg = TrainConfig(**overrides)
    rows = read_table(args.data / "train.csv")
    if args.with_dev:
        rows += read_table(args.data / "dev.csv")
    examples = [Example(r["title"], r["text"], r["label"]) for r in rows]
    y = np.array([r["label"] for r in rows])
    extra = unlabeled_rows(args.data, [n for n in args.unlabeled.split(",") if n])
    weak: list[tuple[dict[str, str], str]] = []
    if args.weak and args.extra_labels:
        ap.error("--weak and --extra-labels are separate experiments")
    if args.weak:
        compiled = compile_map(load_map())
        for r in unlabeled_rows(args.data, [args.weak]):  # minus rows duplicating a dev appeal
            lab = weak_label(r["reply"], compiled, args.weak_chars)
            if lab is not None:
                weak.append((r, lab))
    if args.extra_labels:
        by_id = {r["id"]: r for r in unlabeled_rows(args.data, ["unlabeled"])}  # minus rows duplicating dev
        for lab_row in read_table(args.extra_labels):
            if args.extra_sure_only and lab_row.get("sure", "1") != "1":
                continue
            if lab_row["id"] in by_id:
                weak.append((by_id[lab_row["id"]], lab_row["label"]))
    weak_counts = dict(sorted(Counter(lab for _, lab in weak).items()))
    weak_used: list[int] = []

    started = time.perf_counter()
    per_seed: list[float] = []
    per_class: list[np.ndarray] = []
    labels = sorted(set(y.tolist()))
    with threadpool_limits(limits=1):
        for seed in [int(s) for s in args.seeds.split(",")]:
            pred = np.empty(len(y), dtype=object)
            for tr, te in StratifiedKFold(args.folds, shuffle=True, random_state=seed).split(y, y):
                held_ids = {rows[i]["id"] for i in te}
                held_titles = {rows[i]["title"] for i in te}
                unl = [
                    f"{u['title']}。{u['text']}"
                    for u in extra
                    if u["id"] not in held_ids and u["title"] not in held_titles
                ]
                if args.train_fraction < 1.0:
                    tr, _ = train_test_split(tr, train_size=args.train_fraction, stratify=y[tr], random_state=seed)
                train_ex = [examples[i] for i in tr]
                if args.plain:
                    pred[te] = plain_svc(train_ex, [examples[i] for i in te])
                    continue
                wk = [
                    Example(r["title"], r["text"], lab)
                    for r, lab in weak
                    if r["id"] not in held_ids and r["title"] not in held_titles
                ]
                if wk and args.weak_filter == "agree":
                    base = train_model(train_ex, unlabeled=unl, config=cfg)
                    bp = base.predict_batch([e.title for e in wk], [e.text for e in wk])
                    wk = [e for e, p in zip(wk, bp, strict=True) if p.category.top[0][0] == e.category]
                if wk and args.weak_cap:
                    rng = random.Random(seed)
                    rng.shuffle(wk)
                    seen: Counter[str | None] = Counter()
                    kept = []
                    for e in wk:
                        seen[e.category] += 1
                        if seen[e.category] <= args.weak_cap:
                            kept.append(e)
                    wk = kept
                weak_used.append(len(wk))
                model = train_model(train_ex + wk, unlabeled=unl, config=cfg)
                preds = model.predict_batch([examples[i].title for i in te], [examples[i].text for i in te])
                pred[te] = [p.category.top[0][0] for p in preds]
            per_seed.append(float(f1_score(y, pred.astype(str), average="macro")))
            per_class.append(f1_score(y, pred.astype(str), average=None, labels=labels))
    pc = np.mean(per_class, axis=0)
    print(
        json.dumps(
            {
                "label": args.label,
                "config": overrides,
                "unlabeled": args.unlabeled,
                "n_unlabeled": len(extra),
                "folds": args.folds,
                "macro_f1_per_seed": [round(f, 4) for f in per_seed],
                "macro_f1_mean": round(statistics.mean(per_seed), 4),
                "per_class_f1": {lab: round(float(v), 3) for lab, v in zip(labels, pc, strict=True)},
                "train_fraction": args.train_fraction,
                "plain": args.plain,
                "with_dev": args.with_dev,
                "extra_labels": str(args.extra_labels or ""),
                "extra_sure_only": args.extra_sure_only,
                "weak": args.weak,
                "weak_filter": args.weak_filter,
                "weak_cap": args.weak_cap,
                "weak_counts": weak_counts,
                "weak_used_per_fold_mean": round(statistics.mean(weak_used), 1) if weak_used else 0,
                "seconds": round(time.perf_counter() - started, 1),
            },
            ensure_ascii=False,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
