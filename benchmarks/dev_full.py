"""dev.csv measured by a model trained on full_segmented.csv, and raw text against segmented text.

    nice -n 10 .venv/bin/python benchmarks/dev_full.py

dev.csv's 148 messages are in full_segmented.csv too (segmented). They are found there
(full_data.match_raw) and their duplicate groups are left out of training; the model is trained
on the rest (about 8,660 messages) as ``classifier train --text-cols seg`` does, then scores
dev twice: the raw messages (title + text, cut by jieba at prediction) and their segmented rows.
Prints one JSON object: dev macro-F1 of each form with a bootstrap interval, how often the two
forms get the same category, and the plain peer trained on the same rows.
"""

from __future__ import annotations

from onecore import APPEALS  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import json
import time

import numpy as np
from bench_classifier import bootstrap_macro_f1
from full_data import load_full, plain_peer
from sklearn.metrics import f1_score
from threadpoolctl import threadpool_limits

from classifier import Example, load_examples, train_model
from tests.classifier.support import word_jaccard


def main() -> None:
    data = load_full()
    dev = load_examples(APPEALS / "dev.csv")
    sim = word_jaccard([f"{e.title}。{e.text}" for e in dev], data.segs)
    rows = sim.argmax(axis=1)
    jac = sim.max(axis=1)
    held_groups = set(data.groups[rows].tolist())
    train_idx = np.array([i for i in range(len(data.segs)) if data.groups[i] not in held_groups])
    truth = [str(e.category) for e in dev]
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        model = train_model([Example("", data.segs[i], str(data.labels[i])) for i in train_idx])
        seconds = time.perf_counter() - t0
        raw = [p.category.top[0][0] for p in model.predict_batch([e.title for e in dev], [e.text for e in dev])]
        seg = [p.category.top[0][0] for p in model.predict_batch([""] * len(dev), [data.segs[i] for i in rows])]
        plain = plain_peer([data.segs[i] for i in train_idx], data.labels[train_idx], [data.segs[i] for i in rows])
    print(
        json.dumps(
            {
                "n_dev": len(dev),
                "dev_rows_found": {
                    "min_jaccard": round(float(jac.min()), 3),
                    "labels_agree": int(sum(str(data.labels[r]) == t for r, t in zip(rows, truth, strict=True))),
                },
                "n_train": len(train_idx),
                "training_seconds": round(seconds, 1),
                "dev_macro_f1_raw": round(float(f1_score(truth, raw, average="macro")), 4),
                "dev_macro_f1_raw_bootstrap_95": bootstrap_macro_f1(truth, raw),
                "dev_macro_f1_segmented": round(float(f1_score(truth, seg, average="macro")), 4),
                "raw_and_segmented_agree": round(float(np.mean(np.array(raw) == np.array(seg))), 4),
                "plain_peer_dev_macro_f1_segmented": round(float(f1_score(truth, plain, average="macro")), 4),
                "dev_per_class_f1_raw": dict(
                    zip(
                        sorted(set(truth)),
                        np.round(f1_score(truth, raw, average=None, labels=sorted(set(truth))), 3).tolist(),
                        strict=True,
                    )
                ),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
