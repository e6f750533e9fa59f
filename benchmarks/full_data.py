"""full_segmented.csv (../shared/data/appeals, never copied into the repo): loading, duplicate
groups, the grouped folds every full-data figure uses, and the issue's plain peer.

Exact and near-duplicate messages (a citizen posting the same matter again, edited) must fall in
one fold, or cross-validation measures recall of a message seen in training. Two messages are
linked when their sets of adjacent-token pairs have Jaccard ≥ 0.3 or the smaller one is ≥ 60%
contained in the other; groups are the connected components (1,150 of 8,828 messages are in a
group of two or more; the largest has 9).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from onecore import APPEALS
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.svm import LinearSVC

FULL = APPEALS / "full_segmented.csv"


@dataclass
class FullData:
    ids: list[str]
    segs: list[str]
    labels: np.ndarray
    groups: np.ndarray

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels.tolist()))


def load_full(path: Path = FULL) -> FullData:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    segs = [r["seg"] for r in rows]
    return FullData([r["id"] for r in rows], segs, np.array([r["label"] for r in rows]), duplicate_groups(segs))


def duplicate_groups(segs: list[str], jaccard: float = 0.3, containment: float = 0.6) -> np.ndarray:
    """A group id per message: connected components of the near-duplicate links (see module doc)."""
    vec = CountVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, binary=True, ngram_range=(2, 2))
    x = vec.fit_transform(segs).astype(np.float32).tocsr()
    size = np.asarray(x.sum(axis=1)).ravel()
    inter = (x @ x.T).tocoo()
    upper = inter.row < inter.col
    r, c, shared = inter.row[upper], inter.col[upper], inter.data[upper]
    jac = shared / np.maximum(size[r] + size[c] - shared, 1)
    cont = shared / np.maximum(np.minimum(size[r], size[c]), 1)
    link = (jac >= jaccard) | (cont >= containment)
    n = len(segs)
    graph = sp.coo_matrix((np.ones(int(link.sum())), (r[link], c[link])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def grouped_folds(labels: np.ndarray, groups: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds that keep each duplicate group whole."""
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(labels, labels, groups))


# The held-out protocol: model choices are made by cross-validation inside the "explore" part
# only; the "check" quarter (whole groups, stratified) is scored once per final candidate.
CHECK_SEED = 17


def explore_check_split(data: FullData) -> tuple[np.ndarray, np.ndarray]:
    explore, check = grouped_folds(data.labels, data.groups, 4, CHECK_SEED)[0]
    return explore, check


def plain_peer(train_segs: list[str], train_labels: np.ndarray, test_segs: list[str]) -> np.ndarray:
    """The issue's peer: word unigram TF-IDF of the given tokens + char 1-3 TF-IDF, one LinearSVC."""
    words = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    x = sp.hstack([words.fit_transform(train_segs), chars.fit_transform(train_segs)]).tocsr()
    xt = sp.hstack([words.transform(test_segs), chars.transform(test_segs)]).tocsr()
    return LinearSVC().fit(x, train_labels).predict(xt)
