"""Helpers shared by the classifier tests."""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from pathlib import Path

from classifier import Example
from classifier.io import load_examples
from classifier.train import TrainConfig

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "classifier" / "corpus" / "default_corpus.csv"
# HOTLINE_APPEALS_DATA: where ../shared is not beside the checkout (a worktree)
SHARED = Path(os.environ.get("HOTLINE_APPEALS_DATA") or REPO.parent / "shared" / "data" / "appeals")

# Small and quick: tests check behaviour, not accuracy.
FAST = TrainConfig(lsa_components=40, folds=3)


def corpus_examples() -> list[Example]:
    return load_examples(CORPUS, ["title", "text"], "category", "appeal_type", "urgency", "department")


def subset(
    examples: list[Example], per_category: int, seed: int = 0, exclude: frozenset[str] | set[str] = frozenset()
) -> list[Example]:
    by: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        if e.category not in exclude:
            by[str(e.category)].append(e)
    rng = random.Random(seed)
    out: list[Example] = []
    for cat in sorted(by):
        out += rng.sample(by[cat], min(per_category, len(by[cat])))
    return out


def write_csv(path: Path, examples: list[Example]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["title", "text", "label", "type", "urgency"])
        for e in examples:
            w.writerow([e.title, e.text, e.category, e.appeal_type, e.urgency])
    return path
