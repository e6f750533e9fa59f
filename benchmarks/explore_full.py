"""Model search on full_segmented.csv, by grouped cross-validation inside the "explore" part only.

    nice -n 10 .venv/bin/python benchmarks/explore_full.py EXPERIMENT [EXPERIMENT ...] [--seeds 0,1]

Each experiment's class scores for the held-out messages of each fold are kept in
benchmarks/out/explore/<experiment>/seed<S>_fold<F>.npy (a crash loses nothing, a rerun resumes,
and ensembles of saved experiments cost nothing: ``ens:a+b+c``). Prints one JSON line per
experiment: macro-F1 pooled over the folds done and per fold, per-class F1; ``--report`` only
reports what is saved (when a run was stopped, over the folds it finished). The "check" quarter
(full_data.explore_check_split) is never read here.
"""

from __future__ import annotations

from onecore import REPO  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import re
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from full_data import explore_check_split, grouped_folds, load_full
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.naive_bayes import ComplementNB
from sklearn.preprocessing import normalize as l2_rows
from sklearn.svm import LinearSVC

OUT = REPO / "benchmarks" / "out" / "explore"

Blocks = dict[str, sp.csr_matrix]


def tok(s: str) -> list[str]:
    return s.split()


def word_vectors(dim: int = 100, window: int = 4, min_count: int = 5) -> tuple[dict[str, int], np.ndarray]:
    """Word embeddings trained here, without labels, on every message of the source: the file's
    segmented messages plus unlabeled, hot_topics and replies (raw, cut by jieba, kept to the file's
    words). Count-based word2vec (Levy & Goldberg 2014): PPMI of co-occurrence within ``window``
    words, context distribution smoothed (0.75), reduced by truncated SVD; vectors U·sqrt(S).
    Cached in benchmarks/out/emb_<dim>.npz."""
    cache = OUT.parent / f"emb_{dim}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=True)
        return {w: i for i, w in enumerate(z["words"].tolist())}, z["vectors"]
    from collections import Counter

    from full_data import APPEALS
    from sklearn.decomposition import TruncatedSVD

    from classifier.io import read_table
    from classifier.text import get_segmenter

    docs = [s.split() for s in load_full().segs]
    known = {w for d in docs for w in d}
    cut = get_segmenter("").cut_as_jieba_default
    for name in ("unlabeled", "hot_topics", "replies"):
        for r in read_table(APPEALS / f"{name}.csv"):
            docs.append([w for w in cut(f"{r['title']}。{r['text']}") if w in known])
    counts = Counter(w for d in docs for w in d)
    words = sorted(w for w, c in counts.items() if c >= min_count)
    index = {w: i for i, w in enumerate(words)}
    rows, cols = [], []
    for d in docs:
        ids = np.array([index.get(w, -1) for w in d])
        for k in range(1, window + 1):
            a, b = ids[:-k], ids[k:]
            ok = (a >= 0) & (b >= 0)
            rows += [a[ok], b[ok]]
            cols += [b[ok], a[ok]]
    r, c = np.concatenate(rows), np.concatenate(cols)
    n = len(words)
    co = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(n, n))
    co.sum_duplicates()
    total = co.sum()
    row_sum = np.asarray(co.sum(axis=1)).ravel()
    ctx = row_sum**0.75
    ctx /= ctx.sum()
    co = co.tocoo()
    pmi = np.log(co.data / total) - np.log(row_sum[co.row] / total) - np.log(ctx[co.col])
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (co.row[keep], co.col[keep])), shape=(n, n))
    svd = TruncatedSVD(dim, random_state=0).fit(ppmi)
    vectors = (svd.transform(ppmi) / np.sqrt(svd.singular_values_)).astype(np.float32)  # U·sqrt(S)
    np.savez(cache, words=np.array(words, dtype=object), vectors=vectors)
    return index, vectors


class AveragedEmbedding:
    """A message as the TF-IDF-weighted mean of its word vectors (fastText-style averaging), L2."""

    def fit_transform(self, segs: list[str]) -> sp.csr_matrix:
        self.index, self.vectors = word_vectors()
        self.tfidf = TfidfVectorizer(tokenizer=tok, token_pattern=None, lowercase=False, sublinear_tf=True)
        self.tfidf.fit(segs)
        return self.transform(segs)

    def transform(self, segs: list[str]) -> sp.csr_matrix:
        x = self.tfidf.transform(segs)
        vocab = self.tfidf.get_feature_names_out()
        m = np.zeros((len(vocab), self.vectors.shape[1]), np.float32)
        for j, w in enumerate(vocab):
            i = self.index.get(w)
            if i is not None:
                m[j] = self.vectors[i]
        return sp.csr_matrix(l2_rows(np.asarray(x @ m)))


def digits0(s: str) -> str:
    return re.sub(r"\d+", "0", s.lower())


def stacked(names: str, nb: str = "cnt12", folds: int = 3):
    """The classifier's head in small: a LinearSVC and a ComplementNB, stacked by a logistic
    regression fitted on their out-of-fold scores."""

    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        from sklearn.model_selection import StratifiedKFold

        def base(a: Blocks, ya: np.ndarray, b: Blocks) -> np.ndarray:
            s = LinearSVC(class_weight="balanced").fit(stack(a, names), ya).decision_function(stack(b, names))
            p = ComplementNB(alpha=0.1).fit(a[nb], ya).predict_log_proba(b[nb])
            return np.hstack([s, p - p.max(axis=1, keepdims=True)])

        oof = np.zeros((len(y), 2 * len(set(y.tolist()))))
        for i, j in StratifiedKFold(folds, shuffle=True, random_state=0).split(y, y):
            oof[j] = base({k: v[i] for k, v in tr.items()}, y[i], {k: v[j] for k, v in tr.items()})
        stacker = LogisticRegression(C=1.0, max_iter=5000).fit(oof, y)
        return stacker.predict_log_proba(base(tr, y, te))

    run.blocks = names + "+" + nb
    return run


def head_tokens(s: str, n: int = 12) -> list[str]:
    return s.split()[:n]


def vectorizers() -> dict[str, Callable[[], object]]:
    return {
        "w1": lambda: TfidfVectorizer(tokenizer=tok, token_pattern=None, lowercase=False, sublinear_tf=True),
        "w12": lambda: TfidfVectorizer(
            tokenizer=tok, token_pattern=None, lowercase=False, sublinear_tf=True, ngram_range=(1, 2), min_df=2
        ),
        "c13": lambda: TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        "c24": lambda: TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
        "cw13": lambda: TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
        "bin12": lambda: CountVectorizer(
            tokenizer=tok, token_pattern=None, lowercase=False, binary=True, ngram_range=(1, 2), min_df=2
        ),
        # the first words: the title, where the citizen names the matter, opens every message
        "h12": lambda: TfidfVectorizer(tokenizer=head_tokens, token_pattern=None, lowercase=False, sublinear_tf=True),
        "hc13": lambda: TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=lambda s: " ".join(head_tokens(s))
        ),
        "emb": AveragedEmbedding,
        # as the classifier normalises: lower case, digit runs → 0
        "w1n": lambda: TfidfVectorizer(tokenizer=tok, token_pattern=None, sublinear_tf=True, preprocessor=digits0),
        "c13n": lambda: TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=digits0),
        "cnt12": lambda: CountVectorizer(
            tokenizer=tok, token_pattern=None, lowercase=False, ngram_range=(1, 2), min_df=2
        ),
    }


def stack(b: Blocks, names: str, weights: dict[str, float] | None = None) -> sp.csr_matrix:
    w = weights or {}
    return sp.hstack([b[n] * w.get(n, 1.0) for n in names.split("+")]).tocsr()


def svm(names: str, c: float = 1.0, balanced: bool = False, weights: dict[str, float] | None = None):
    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        m = LinearSVC(C=c, class_weight="balanced" if balanced else None).fit(stack(tr, names, weights), y)
        return m.decision_function(stack(te, names, weights))

    run.blocks = names
    return run


def lr(names: str, c: float = 10.0, balanced: bool = False):
    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        m = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None)
        m.fit(stack(tr, names), y)
        return m.predict_log_proba(stack(te, names))

    run.blocks = names
    return run


def cnb(names: str, alpha: float = 0.1):
    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        m = ComplementNB(alpha=alpha).fit(stack(tr, names), y)
        return m.predict_log_proba(stack(te, names))

    run.blocks = names
    return run


def sgd_mh(names: str, alpha: float = 1e-5):
    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        m = SGDClassifier(loss="modified_huber", alpha=alpha, max_iter=50, tol=None, random_state=0)
        m.fit(stack(tr, names), y)
        return m.decision_function(stack(te, names))

    run.blocks = names
    return run


def nbsvm(bin_name: str = "bin12", c: float = 0.5, extra: str = "", beta_lr: bool = False):
    """NB-SVM (Wang & Manning 2012): per class, binary features scaled by the log-count ratio
    r = log((p/|p|1) / (q/|q|1)), a one-vs-rest linear SVM on them; ``extra`` blocks are appended
    unscaled."""

    def run(tr: Blocks, y: np.ndarray, te: Blocks) -> np.ndarray:
        xb, xbt = tr[bin_name], te[bin_name]
        classes = sorted(set(y.tolist()))
        out = np.zeros((xbt.shape[0], len(classes)))
        for j, c_ in enumerate(classes):
            pos = y == c_
            p = np.asarray(xb[pos].sum(axis=0)).ravel() + 1.0
            q = np.asarray(xb[~pos].sum(axis=0)).ravel() + 1.0
            r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
            d = sp.diags(r)
            xa, xta = l2_rows((xb @ d).tocsr()), l2_rows((xbt @ d).tocsr())
            if extra:
                xa = sp.hstack([xa, stack(tr, extra)]).tocsr()
                xta = sp.hstack([xta, stack(te, extra)]).tocsr()
            m = LogisticRegression(C=c, max_iter=2000).fit(xa, pos) if beta_lr else LinearSVC(C=c).fit(xa, pos)
            out[:, j] = m.decision_function(xta)
        return out

    run.blocks = "+".join(b for b in (bin_name, extra) if b)
    return run


EXPERIMENTS: dict[str, Callable] = {
    "plain": svm("w1+c13"),
    "plain_bal": svm("w1+c13", balanced=True),
    "plain_c05": svm("w1+c13", c=0.5),
    "plain_c2": svm("w1+c13", c=2.0),
    "w12c13": svm("w12+c13"),
    "w12c13_bal": svm("w12+c13", balanced=True),
    "w12c24": svm("w12+c24"),
    "w1c24": svm("w1+c24"),
    "w12": svm("w12"),
    "c13": svm("c13"),
    "w1cw13": svm("w1+cw13"),
    "lr_w12c13": lr("w12+c13", c=30.0),
    "lr_w1c13": lr("w1+c13", c=30.0),
    "cnb_cnt12": cnb("cnt12", 0.3),
    "cnb_w12": cnb("w12", 0.03),
    "sgd_w12c13": sgd_mh("w12+c13"),
    "nbsvm": nbsvm(),
    "w12c13h": svm("w12+c13+h12"),
    "plain_digits0": svm("w1n+c13n"),
    "stack_w12c13": stacked("w12+c13"),
    "emb": svm("emb"),
    "w12c13emb": svm("w12+c13+emb", weights={"emb": 0.5}),
    "w12c13hc": svm("w12+c13+hc13"),
    "w12c24h": svm("w12+c24+h12"),
    "nbsvm_c13": nbsvm(extra="c13", c=0.3),
}


def needed_blocks(names: list[str]) -> set[str]:
    """The vectorizers the experiments' block names mention (``w1+c13`` → w1, c13)."""
    known = set(vectorizers())
    return {b for n in names for b in known if b in EXPERIMENTS[n].blocks.split("+")}


def run(names: list[str], seeds: list[int], folds: int, fit: bool = True) -> None:
    data = load_full()
    explore, _ = explore_check_split(data)
    segs = [data.segs[i] for i in explore]
    y = data.labels[explore]
    groups = data.groups[explore]
    classes = data.classes
    todo = [n for n in names if not n.startswith("ens:")] if fit else []
    for seed in seeds:
        for f, (tr, te) in enumerate(grouped_folds(y, groups, folds, seed)):
            pending = [n for n in todo if not (OUT / n / f"seed{seed}_fold{f}.npy").is_file()]
            if not pending:
                continue
            vecs = {k: v() for k, v in vectorizers().items() if k in needed_blocks(pending)}
            b_tr = {k: v.fit_transform([segs[i] for i in tr]).tocsr() for k, v in vecs.items()}
            b_te = {k: v.transform([segs[i] for i in te]).tocsr() for k, v in vecs.items()}
            for n in pending:
                t0 = time.perf_counter()
                scores = EXPERIMENTS[n](b_tr, y[tr], b_te)
                (OUT / n).mkdir(parents=True, exist_ok=True)
                np.save(OUT / n / f"seed{seed}_fold{f}.npy", np.column_stack([te, scores]))
                (OUT / n / f"seed{seed}_fold{f}.json").write_text(
                    json.dumps({"seconds": round(time.perf_counter() - t0, 1)})
                )
    for n in names:
        report(n, seeds, y, classes, folds)


def load_scores(name: str, seed: int, n: int, folds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Held-out rows and their (rows, classes) scores over the given folds of one seed; for
    ``ens:a+b``, the sum of the members' scores standardised per message."""
    if name.startswith("ens:"):
        total = 0
        for part in name[4:].split("+"):
            rows, s = load_scores(part, seed, n, folds)
            total = total + (s - s.mean(axis=1, keepdims=True)) / (s.std(axis=1, keepdims=True) + 1e-9)
        return rows, total
    blocks = [np.load(OUT / name / f"seed{seed}_fold{f}.npy") for f in folds]
    b = np.vstack(blocks)
    order = np.argsort(b[:, 0], kind="stable")
    return b[order, 0].astype(int), b[order, 1:]


def done_folds(name: str, seed: int, folds: int) -> list[int]:
    if name.startswith("ens:"):
        sets = [set(done_folds(p, seed, folds)) for p in name[4:].split("+")]
        return sorted(set.intersection(*sets))
    return [f for f in range(folds) if (OUT / name / f"seed{seed}_fold{f}.npy").is_file()]


def report(name: str, seeds: list[int], y: np.ndarray, classes: list[str], folds: int) -> None:
    """Macro-F1 pooled over the folds done (all of them once the run is complete) and per fold."""
    pooled, per_fold, pcs, secs, n_done = [], [], [], [], []
    cl = np.array(classes)
    for seed in seeds:
        done = done_folds(name, seed, folds)
        n_done.append(len(done))
        rows, scores = load_scores(name, seed, len(y), done)
        pred = cl[scores.argmax(axis=1)]
        pooled.append(f1_score(y[rows], pred, average="macro"))
        pcs.append(f1_score(y[rows], pred, average=None, labels=classes))
        for f in done:
            r, s = load_scores(name, seed, len(y), [f])
            per_fold.append(round(float(f1_score(y[r], cl[s.argmax(axis=1)], average="macro")), 4))
            if not name.startswith("ens:"):
                secs.append(json.loads((OUT / name / f"seed{seed}_fold{f}.json").read_text())["seconds"])
    pc = np.mean(pcs, axis=0)
    print(
        json.dumps(
            {
                "exp": name,
                "folds_done": n_done,
                "macro_f1_pooled": [round(f, 4) for f in pooled],
                "macro_f1_per_fold": per_fold,
                "min_class": round(float(pc.min()), 3),
                "per_class": {c: round(float(v), 3) for c, v in zip(classes, pc, strict=True)},
                "fit_seconds_per_fold": round(float(np.mean(secs)), 1) if secs else None,
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="+")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--report", action="store_true", help="only report what is saved (no fitting)")
    args = ap.parse_args()
    unknown = [n for n in args.experiments if not n.startswith("ens:") and n not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiments: {unknown}; known: {sorted(EXPERIMENTS)}")
    run(args.experiments, [int(s) for s in args.seeds.split(",")], args.folds, fit=not args.report)


if __name__ == "__main__":
    main()
