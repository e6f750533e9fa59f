"""The classifier trained on all of full_segmented.csv (8,828 messages): training time, throughput,
latency and memory on one core. Prints one JSON object.

    nice -n 10 .venv/bin/python benchmarks/bench_full.py [--batch-rounds 3] [--single 1000]

Trains exactly as ``hotline classifier train --data full_segmented.csv --text-cols seg --label-col
label`` does (timed, one BLAS thread, pinned to one CPU), saves and reloads the model, then times
``predict_batch`` (500 a call) and ``predict`` (one at a time) on raw appeals (unlabeled.csv: title +
text, cut by jieba at prediction) and on segmented ones (the file's own messages). Memory: the
resident set of a fresh process before and after ``load_model``, and after the first prediction
(jieba's dictionary), read from /proc/self/status.
"""

from __future__ import annotations

from onecore import APPEALS  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from classifier import load_examples, load_model, train_model
from classifier.io import read_table

MEMORY_PROBE = """
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import classifier
before = rss()
m = classifier.load_model(sys.argv[1])
loaded = rss()
m.predict("小区物业乱收停车费", "我们小区的物业公司一直乱收停车费，请有关部门管一管")
print(round(loaded - before, 1), round(rss() - before, 1))
"""


def timed_batch(model, titles: list[str], texts: list[str], rounds: int) -> dict[str, float]:
    """Texts per second of wall time and of this process's CPU time (on a busy shared machine the
    CPU figure is what one free core would do)."""
    model.predict_batch(titles[:50], texts[:50])  # warm-up (jieba, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for i in range(0, len(titles), 500):
            model.predict_batch(titles[i : i + 500], texts[i : i + 500])
    n = rounds * len(titles)
    return {"wall": round(n / (time.perf_counter() - t0), 1), "cpu": round(n / (time.process_time() - c0), 1)}


def timed_single(model, titles: list[str], texts: list[str], n: int) -> dict[str, float]:
    """Wall-time percentiles of one-at-a-time predictions (they include any wait for the CPU), and
    the mean CPU time of one."""
    lat: list[float] = []
    c0 = time.process_time()
    for i in range(n):
        j = i % len(titles)
        t = time.perf_counter()
        model.predict(titles[j], texts[j])
        lat.append((time.perf_counter() - t) * 1000)
    cpu_ms = (time.process_time() - c0) * 1000 / n
    lat.sort()
    return {
        "p50": round(lat[len(lat) // 2], 3),
        "p99": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3),
        "mean": round(statistics.fmean(lat), 3),
        "cpu_mean": round(cpu_ms, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=APPEALS)
    ap.add_argument("--batch-rounds", type=int, default=3)
    ap.add_argument("--single", type=int, default=1000)
    args = ap.parse_args()
    if not (args.data / "full_segmented.csv").is_file():
        print(json.dumps({"skipped": f"no full_segmented.csv in {args.data}"}))
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load_avg_before = os.getloadavg()
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as tmp:
        examples = load_examples(args.data / "full_segmented.csv", ["seg"], "label")
        t0, c0 = time.perf_counter(), time.process_time()
        trained = train_model(examples, source="full_segmented.csv")
        train_seconds, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        trained.save(Path(tmp) / "model")
        size_mb = sum(f.stat().st_size for f in (Path(tmp) / "model").iterdir()) / 2**20
        probe = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(Path(tmp) / "model")], capture_output=True, text=True, check=True
        )
        loaded_mb, after_first_mb = (float(x) for x in probe.stdout.split())
        model = load_model(Path(tmp) / "model")

        raw = read_table(args.data / "unlabeled.csv")[:2000]
        raw_titles, raw_texts = [r["title"] for r in raw], [r["text"] for r in raw]
        seg_texts = [e.text for e in examples[:2000]]
        seg_titles = [""] * len(seg_texts)
        result = {
            "n_train": len(examples),
            "training_seconds": {"wall": round(train_seconds, 1), "cpu": round(train_cpu, 1)},
            "cv_macro_f1_in_training": trained.meta["metrics"]["cross_validated"]["category"]["macro_f1"],
            "model_dir_mb": round(size_mb, 1),
            "memory_mb": {"loaded_model": loaded_mb, "after_first_prediction": after_first_mb},
            "raw_text": {
                "batch_texts_per_second": timed_batch(model, raw_titles, raw_texts, args.batch_rounds),
                "single_latency_ms": timed_single(model, raw_titles, raw_texts, args.single),
                "mean_chars": round(
                    statistics.fmean(len(a) + len(b) for a, b in zip(raw_titles, raw_texts, strict=False)), 1
                ),
            },
            "segmented_text": {
                "batch_texts_per_second": timed_batch(model, seg_titles, seg_texts, args.batch_rounds),
                "single_latency_ms": timed_single(model, seg_titles, seg_texts, args.single),
            },
            "cpu": "one core (threadpoolctl limits=1, sched_setaffinity)",
            "load_average_before_after": [round(load_avg_before[0], 2), round(os.getloadavg()[0], 2)],
        }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
