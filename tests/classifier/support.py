"""Helpers shared by the classifier tests."""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from classifier import Example
from classifier.io import load_examples
from classifier.text import get_segmenter
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


def word_jaccard(raw_texts: list[str], segs: list[str]) -> np.ndarray:
    """(raw, segmented) Jaccard of word sets, counted over the segmented texts' words (stop words
    drop out). The public data carries dev.csv's messages segmented in full_segmented.csv: a raw
    message and its segmented row score about 0.8-1, the next best candidate rarely 0.3."""
    cut = get_segmenter("").cut_as_jieba_default
    vocab = CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, binary=True)
    x = vocab.fit_transform(segs).astype(np.float32).tocsr()
    q = vocab.transform([" ".join(cut(t)) for t in raw_texts]).astype(np.float32).tocsr()
    inter = (q @ x.T).toarray()
    size_x = np.asarray(x.sum(axis=1)).ravel()
    size_q = np.asarray(q.sum(axis=1)).ravel()
    return inter / np.maximum(size_q[:, None] + size_x[None, :] - inter, 1)
