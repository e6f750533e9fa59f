"""Co-training experiment with replies.csv, cross-validated on train.csv only (prints JSON).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cv_cotrain_replies.py [--t1 0.5] [--t2 0.8] [--seeds 0,1]

For each outer fold: the default model (trained on the other folds) labels the reply messages
(title + text); a second view, a logistic regression on the department's reply text, is fitted on
the messages it labelled with probability ≥ t1 and scores every reply out-of-fold (5 parts); where
the product of the two views' probabilities is ≥ t2 the message joins the training data as a
pseudo-labelled appeal. Prints the out-of-fold macro-F1 of the default model and of the
co-trained one on the same folds. Replies sharing an id or title with dev.csv or with the held-out
fold are dropped. Result (2026-11-22): 0.832 vs 0.852 — not used.
"""

from __future__ import annotations

from onecore import APPEALS  # first: one BLAS thread before numpy loads, and the repo on sys.path

# isort: split

import argparse
import json
import time
from pathlib import Path

import numpy as np
from cv_classifier import unlabeled_rows
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from classifier import Model, TrainConfig, train_model
from classifier.features import CharNgramTfidf
from classifier.io import Example, read_table
from classifier.text import normalize


def category_proba(model: Model, titles: list[str], texts: list[str]) -> np.ndarray:
    return model.heads["category"].proba(model.features.transform(titles, texts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=APPEALS)
    ap.add_argument("--t1", type=float, default=0.5, help="message-view confidence to train the reply view")
    ap.add_argument("--t2", type=float, default=0.8, help="joint confidence to add a pseudo-labelled message")
    ap.add_argument("--seeds", default="0,1")
    args = ap.parse_args()
    rows = read_table(args.data / "train.csv")
    ex = [Example(r["title"], r["text"], r["label"]) for r in rows]
    y = np.array([r["label"] for r in rows])
    unlabeled = unlabeled_rows(args.data, ["unlabeled"])
    replies = unlabeled_rows(args.data, ["replies"])
    cfg = TrainConfig()
    res: dict[str, list[float]] = {"base": [], "cotrain": []}
    n_pseudo: list[int] = []
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        for seed in [int(s) for s in args.seeds.split(",")]:
            pb = np.empty(len(y), dtype=object)
            pc = np.empty(len(y), dtype=object)
            for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(y, y):
                hid = {rows[i]["id"] for i in te}
                htitle = {rows[i]["title"] for i in te}
                unl = [
                    f"{u['title']}。{u['text']}" for u in unlabeled if u["id"] not in hid and u["title"] not in htitle
                ]
                rr = [u for u in replies if u["id"] not in hid and u["title"] not in htitle]
                te_titles, te_texts = [ex[i].title for i in te], [ex[i].text for i in te]
                m0 = train_model([ex[i] for i in tr], unlabeled=unl, config=cfg)
                classes = m0.heads["category"].classes
                pb[te] = [classes[j] for j in category_proba(m0, te_titles, te_texts).argmax(1)]
                pm = category_proba(m0, [u["title"] for u in rr], [u["text"] for u in rr])
                reply = [normalize(u["reply"]) for u in rr]
                conf, lab = pm.max(1) >= args.t1, pm.argmax(1)
                pr = np.full_like(pm, 1.0 / pm.shape[1])
                part = np.arange(len(rr)) % 5
                for k in range(5):
                    fit_rows = np.where((part != k) & conf)[0]
                    out_rows = np.where(part == k)[0]
                    vec = CharNgramTfidf((1, 3), min_df=2).fit([reply[i] for i in fit_rows])
                    clf = LogisticRegression(C=10, max_iter=1000)
                    clf.fit(vec.transform([reply[i] for i in fit_rows]), lab[fit_rows])
                    pr[np.ix_(out_rows, clf.classes_)] = clf.predict_proba(vec.transform([reply[i] for i in out_rows]))
                joint = pm * pr
                joint /= joint.sum(1, keepdims=True)
                chosen = np.where(joint.max(1) >= args.t2)[0]
                pseudo = [Example(rr[i]["title"], rr[i]["text"], classes[joint[i].argmax()]) for i in chosen]
                n_pseudo.append(len(pseudo))
                m1 = train_model([ex[i] for i in tr] + pseudo, unlabeled=unl, config=cfg)
                pc[te] = [classes[j] for j in category_proba(m1, te_titles, te_texts).argmax(1)]
            res["base"].append(round(float(f1_score(y, pb.astype(str), average="macro")), 4))
            res["cotrain"].append(round(float(f1_score(y, pc.astype(str), average="macro")), 4))
    out = {
        "t1": args.t1,
        "t2": args.t2,
        "macro_f1_per_seed": res,
        "base_mean": round(float(np.mean(res["base"])), 4),
        "cotrain_mean": round(float(np.mean(res["cotrain"])), 4),
        "n_pseudo_per_fold": n_pseudo,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
