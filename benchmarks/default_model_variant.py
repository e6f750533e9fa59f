"""Would the shipped default model gain from a configuration? Trains it as shipped (the corpus, the
lexicon, abstain below 0.7) with TrainConfig overrides and measures it like bench_default_model.

    nice -n 10 .venv/bin/python benchmarks/default_model_variant.py --config '{"views": [], "lsa_components": 0}'

Prints one JSON object: the variant's figures on the ``dev`` split of tests/dispatch/labelled_appeals.csv
(where the default model's steps were chosen) and on all of it.
"""

from __future__ import annotations

from onecore import REPO  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import csv
import json
import time
from dataclasses import replace

from bench_default_model import APPEALS, measure
from cv_full import config_from_json
from threadpoolctl import threadpool_limits

from classifier import TrainConfig, load_examples, train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="{}", help="TrainConfig overrides as JSON (on the shipped model's config)")
    args = ap.parse_args()
    shipped = TrainConfig(lexicon_weight=0.25, lexicon_userdict=True)  # `classifier train --lexicon default`
    overrides = config_from_json(args.config)
    changed = {k: getattr(overrides, k) for k in json.loads(args.config)}
    cfg = replace(shipped, **changed)
    corpus = load_examples(
        REPO / "classifier" / "corpus" / "default_corpus.csv",
        ["title", "text"],
        "category",
        "appeal_type",
        "urgency",
        "department",
    )
    with threadpool_limits(limits=1):
        t0 = time.process_time()
        model = train_model(corpus, config=cfg, thresholds={"category": 0.7})
        cpu = time.process_time() - t0
        with APPEALS.open(encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["category"]]
        print(
            json.dumps(
                {
                    "overrides": changed,
                    "training_cpu_seconds": round(cpu, 1),
                    "dev": measure([r for r in rows if r["split"] == "dev"], model),
                    "all": measure(rows, model),
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
