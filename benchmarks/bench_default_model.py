"""How useful the shipped default model is on day one: prints one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_default_model.py [--model classifier/default_model]

The model is measured on ``tests/dispatch/labelled_appeals.csv``: appeals written by separate
sessions for the dispatch tests (the blind holdouts were written without seeing the catalogue or
the classifier corpus), each with the 业务领域 category and 诉求类型 an agent would register.
Per split: category top-1 accuracy (what an agent accepts as proposed), top-3 (the proposal list
holds it), the share where the model abstains, top-1 accuracy where it does not, the share it
prefills with a wrong category, and the appeal-type top-1 accuracy. Nothing here is used to train the default model.
"""

from __future__ import annotations

from onecore import REPO  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from classifier import load_model
from hotline.enums import APPEAL_TYPE_LABELS, AppealType

APPEALS = REPO / "tests" / "dispatch" / "labelled_appeals.csv"


def measure(rows: list[dict[str, str]], model: Any) -> dict[str, Any]:
    preds = model.predict_batch([r["title"] for r in rows], [r["content"] for r in rows])
    n = len(rows)
    top1 = sum(p.category.top[0][0] == r["category"] for p, r in zip(preds, rows, strict=True))
    top3 = sum(r["category"] in [lab for lab, _ in p.category.top[:3]] for p, r in zip(preds, rows, strict=True))
    answered = [(p, r) for p, r in zip(preds, rows, strict=True) if not p.category.abstained]
    right_answered = sum(p.category.top[0][0] == r["category"] for p, r in answered)
    types = [
        (p, APPEAL_TYPE_LABELS[AppealType(r["appeal_type"])])
        for p, r in zip(preds, rows, strict=True)
        if r["appeal_type"] and p.appeal_type is not None
    ]
    type_right = sum(p.appeal_type.top[0][0] == t for p, t in types)
    return {
        "n": n,
        "category_top1": round(top1 / n, 3),
        "category_top3": round(top3 / n, 3),
        "abstain_rate": round(1 - len(answered) / n, 3),
        "category_top1_when_answered": round(right_answered / max(1, len(answered)), 3),
        # registration takes the model's category when it answers: a wrong one here is a misfiled ticket
        # unless the agent notices
        "category_wrong_prefilled": round((len(answered) - right_answered) / n, 3),
        "appeal_type_top1": round(type_right / max(1, len(types)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "classifier" / "default_model")
    args = ap.parse_args()
    model = load_model(args.model)
    with APPEALS.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["category"]]
    by_split: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_split[r["split"]].append(r)
    print(
        json.dumps(
            {
                "model": model.meta.get("version"),
                "all": measure(rows, model),
                "per_split": {name: measure(part, model) for name, part in sorted(by_split.items())},
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
