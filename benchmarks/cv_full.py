"""Repeated grouped stratified k-fold cross-validation on full_segmented.csv (8,828 messages).

    nice -n 10 .venv/bin/python benchmarks/cv_full.py [--model ours|plain] [--config '{"svc_c": 0.5}'] \
        [--seeds 0,1,2] [--folds 5] [--part all|explore|check] [--train-size N] [--label NAME]

Duplicate groups stay in one fold (full_data.py). ``--model ours`` trains ``classifier.train_model``
on the fold's messages exactly as ``hotline classifier train --text-cols seg`` does; ``plain`` is
the issue's peer (word unigram + char 1-3 TF-IDF, one LinearSVC) on the same folds.
``--part explore`` cross-validates inside the explore three quarters only (how configurations are
chosen); ``--part check`` trains on the explore part and scores the check quarter once (``--seeds``
ignored). ``--train-size``: a learning curve (each training fold subsampled, stratified; the
held-out folds stay the same).

Predictions are kept per fold in benchmarks/out/cv_full/<label>/ (a rerun resumes). Prints one
JSON object: macro-F1 per seed (pooled over its folds), mean and standard deviation over seeds,
per-fold macro-F1 range, per-class F1 (mean over seeds), seconds per fold.
"""

from __future__ import annotations

from onecore import REPO  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import time

import numpy as np
from full_data import explore_check_split, grouped_folds, load_full, plain_peer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from classifier import Example, TrainConfig, train_model

OUT = REPO / "benchmarks" / "out" / "cv_full"


def config_from_json(text: str) -> TrainConfig:
    """The segmented data's defaults with the given overrides."""
    overrides = json.loads(text)
    for k, v in overrides.items():
        if isinstance(v, list):  # JSON has no tuples
            overrides[k] = tuple(tuple(x) if isinstance(x, list) else x for x in v)
    return TrainConfig.for_segmented(**overrides)


def fit_predict(model: str, cfg: TrainConfig, segs: list[str], y: np.ndarray, tr: np.ndarray, te: np.ndarray):
    train_segs = [segs[i] for i in tr]
    test_segs = [segs[i] for i in te]
    if model == "plain":
        return plain_peer(train_segs, y[tr], test_segs)
    m = train_model([Example("", s, str(lab)) for s, lab in zip(train_segs, y[tr], strict=True)], config=cfg)
    return np.array([p.category.top[0][0] for p in m.predict_batch([""] * len(test_segs), test_segs)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["ours", "plain"], default="ours")
    ap.add_argument("--config", default="{}", help="TrainConfig overrides as JSON")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--part", choices=["all", "explore", "check"], default="all")
    ap.add_argument("--train-size", type=int, default=0, help="subsample each training fold to N messages")
    ap.add_argument("--label", default="", help="name of the run (its folder under benchmarks/out/cv_full)")
    ap.add_argument("--only-folds", default="", help="run only these folds (e.g. 0,1) for a first look")
    args = ap.parse_args()
    cfg = config_from_json(args.config)
    label = args.label or f"{args.model}-{args.part}-{args.train_size or 'all'}"
    out = OUT / label
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(vars(args), ensure_ascii=False))

    data = load_full()
    rows = np.arange(len(data.segs))
    if args.part != "all":
        explore, check = explore_check_split(data)
        rows = explore
    segs = [data.segs[i] for i in rows]
    y = data.labels[rows]
    groups = data.groups[rows]
    classes = data.classes
    if args.part == "check":
        check_segs = [data.segs[i] for i in check]
        runs = {0: [(np.arange(len(rows)), np.arange(len(rows), len(rows) + len(check)))]}
        segs = segs + check_segs
        y = np.concatenate([y, data.labels[check]])
    else:
        runs = {int(s): grouped_folds(y, groups, args.folds, int(s)) for s in args.seeds.split(",")}

    per_seed, per_class, per_fold, seconds = [], [], [], []
    with threadpool_limits(limits=1):
        for seed, folds in runs.items():
            pred = np.empty(len(y), dtype=object)
            scored = np.zeros(len(y), dtype=bool)
            for f, (tr, te) in enumerate(folds):
                if args.only_folds and str(f) not in args.only_folds.split(","):
                    continue
                path = out / f"seed{seed}_fold{f}.json"
                if path.is_file():
                    saved = json.loads(path.read_text())
                else:
                    if args.train_size and args.train_size < len(tr):
                        tr, _ = train_test_split(tr, train_size=args.train_size, stratify=y[tr], random_state=seed)
                    t0 = time.perf_counter()
                    p = fit_predict(args.model, cfg, segs, y, tr, te)
                    saved = {"te": te.tolist(), "pred": [str(x) for x in p], "seconds": time.perf_counter() - t0}
                    path.write_text(json.dumps(saved, ensure_ascii=False))
                te_idx = np.array(saved["te"])
                pred[te_idx] = saved["pred"]
                scored[te_idx] = True
                per_fold.append(float(f1_score(y[te_idx], saved["pred"], average="macro")))
                seconds.append(saved["seconds"])
            yt, yp = y[scored], pred[scored].astype(str)
            per_seed.append(float(f1_score(yt, yp, average="macro")))
            per_class.append(f1_score(yt, yp, average=None, labels=classes))
    pc = np.mean(per_class, axis=0)
    print(
        json.dumps(
            {
                "label": label,
                "model": args.model,
                "config": json.loads(args.config),
                "part": args.part,
                "n": int(len(y)),
                "train_size": args.train_size or "all",
                "macro_f1_per_seed": [round(f, 4) for f in per_seed],
                "macro_f1_mean": round(float(np.mean(per_seed)), 4),
                "macro_f1_std_over_seeds": round(float(np.std(per_seed, ddof=1)), 4) if len(per_seed) > 1 else None,
                "fold_macro_f1_range": [round(min(per_fold), 4), round(max(per_fold), 4)],
                "fold_macro_f1_std": round(float(np.std(per_fold, ddof=1)), 4) if len(per_fold) > 1 else None,
                "per_class_f1": {c: round(float(v), 3) for c, v in zip(classes, pc, strict=True)},
                "min_class_f1": round(float(pc.min()), 3),
                "seconds_per_fold": round(float(np.mean(seconds)), 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
