"""Classifier benchmark on the public appeal data: prints one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_classifier.py [--data DIR] [--no-unlabeled]

Trains on train.csv (timed), evaluates macro-F1 on dev.csv (with a bootstrap interval: how precisely
148 appeals measure it, and the issue's plain TF-IDF + LinearSVC on the same split), then measures on one core (BLAS
threads limited to one, the process pinned to CPU 0 where the OS allows it):
batch throughput (texts/s through ``Model.predict_batch``, all heads and rules included) and
single-text latency p50/p99 (``Model.predict``, one appeal at a time, as on a keystroke pause).
"""

from __future__ import annotations

from onecore import APPEALS  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from cv_classifier import plain_svc
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from classifier import TrainConfig, evaluate, load_examples, train_model
from classifier.io import read_table


def bootstrap_macro_f1(
    truth: list[str], pred: list[str], minus: list[str] | None = None, rounds: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """How precisely a test set of this size measures macro-F1: the 95% percentile interval over resamples
    of it; with ``minus`` (another model's predictions), of the paired difference pred − minus."""
    rng = np.random.default_rng(seed)
    t, p = np.array(truth), np.array(pred)
    m = None if minus is None else np.array(minus)
    labels = sorted(set(truth))
    scores = np.empty(rounds)
    for r in range(rounds):
        i = rng.integers(0, len(t), len(t))
        scores[r] = f1_score(t[i], p[i], average="macro", labels=labels, zero_division=0)
        if m is not None:
            scores[r] -= f1_score(t[i], m[i], average="macro", labels=labels, zero_division=0)
    lo, hi = np.percentile(scores, [2.5, 97.5])
    return {"low": round(float(lo), 3), "high": round(float(hi), 3), "std": round(float(scores.std()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=APPEALS)
    ap.add_argument("--no-unlabeled", action="store_true", help="do not use unlabeled.csv for the LSA features")
    ap.add_argument("--batch-rounds", type=int, default=5, help="passes over the batch set")
    ap.add_argument("--single", type=int, default=1000, help="single-text predictions timed")
    ap.add_argument("--word-chars", type=int, default=None, help="override TrainConfig.word_chars")
    args = ap.parse_args()
    if not (args.data / "train.csv").is_file():
        print(json.dumps({"skipped": f"no train.csv in {args.data}"}))
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    with threadpool_limits(limits=1):
        train = load_examples(args.data / "train.csv")
        dev = load_examples(args.data / "dev.csv")
        unlabeled: list[str] = []
        if not args.no_unlabeled and (args.data / "unlabeled.csv").is_file():
            unlabeled = [f"{r['title']}。{r['text']}" for r in read_table(args.data / "unlabeled.csv")]

        t0 = time.perf_counter()
        cfg = TrainConfig() if args.word_chars is None else TrainConfig(word_chars=args.word_chars)
        model = train_model(train, unlabeled=unlabeled, config=cfg, source="train.csv")
        train_seconds = time.perf_counter() - t0
        result = evaluate(model, dev)
        dev_pred = [p.category.top[0][0] for p in model.predict_batch([e.title for e in dev], [e.text for e in dev])]
        truth = [str(e.category) for e in dev]
        ci = bootstrap_macro_f1(truth, dev_pred)
        plain_pred = plain_svc(train, dev)
        plain = {
            "dev_macro_f1": round(float(f1_score(truth, plain_pred, average="macro")), 4),
            "ours_minus_plain_bootstrap_95": bootstrap_macro_f1(truth, dev_pred, minus=plain_pred),
        }

        # The texts timed: dev, then unlabeled appeals (same source, same lengths) for volume.
        pool = [(e.title, e.text) for e in dev]
        if args.data.joinpath("unlabeled.csv").is_file():
            pool += [(r["title"], r["text"]) for r in read_table(args.data / "unlabeled.csv")][:2000]
        titles, texts = [p[0] for p in pool], [p[1] for p in pool]
        model.predict_batch(titles[:50], texts[:50])  # warm-up (jieba, caches)

        t0 = time.perf_counter()
        for _ in range(args.batch_rounds):
            for i in range(0, len(titles), 500):
                model.predict_batch(titles[i : i + 500], texts[i : i + 500])
        batch_rate = args.batch_rounds * len(titles) / (time.perf_counter() - t0)

        lat: list[float] = []
        for i in range(args.single):
            j = i % len(titles)
            t = time.perf_counter()
            model.predict(titles[j], texts[j])
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()

    chars = [len(t) + len(x) for t, x in pool]
    print(
        json.dumps(
            {
                "dev_macro_f1": result["macro_f1"],
                "dev_macro_f1_bootstrap_95": ci,
                "plain_tfidf_svc": plain,
                "dev_accuracy": result["accuracy"],
                "dev_per_class_f1": {k: v["f1"] for k, v in result["per_class"].items()},
                "dev_confusion_matrix": result["confusion_matrix"],
                "word_chars": model.meta["config"]["word_chars"],
                "cv_macro_f1_train": model.meta["metrics"]["cross_validated"]["category"]["macro_f1"],
                "training_seconds": round(train_seconds, 2),
                "n_train": len(train),
                "n_unlabeled": len(unlabeled),
                "batch_texts_per_second": round(batch_rate, 1),
                "batch_texts": len(titles),
                "single_latency_ms": {
                    "p50": round(lat[len(lat) // 2], 3),
                    "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3),
                    "mean": round(statistics.fmean(lat), 3),
                },
                "mean_chars_per_text": round(statistics.fmean(chars), 1),
                "cpu": "one core (threadpoolctl limits=1, sched_setaffinity)",
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
