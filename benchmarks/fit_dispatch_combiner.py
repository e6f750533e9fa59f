"""Fit dispatch's learned combination (dispatch/combiner.py) on the training splits of the labelled
appeals, write dispatch/data/combiner.json, and print the out-of-fold calibration that the default
直派 threshold is chosen from.

Training splits: every split but the blind ones (``bench_dispatch.BLIND_SPLITS``: holdout9 and
holdout10 are never read here), grouped in ``--folds`` folds of whole splits (in their order). Out
of fold: for each fold, the history model (the classifier trained as a center's history teaches it)
and the category table are built from the other folds, and the candidates' features of that fold's
appeals are computed with them — so the combination learns how much to trust a history model on
appeals it never saw. The ``plain`` parameters are fitted on the same appeals with the shipped model
(no history). The reported calibration refits the combination without each fold in turn.

    .venv/bin/python benchmarks/fit_dispatch_combiner.py [--out PATH] [--target 0.97]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dispatch import (  # noqa: E402
    BLIND_SPLITS,
    DEFAULT_CSV,
    appeal_of,
    build_database,
    calibration,
    read_rows,
    use_history_model,
)


def features_of(session: Any, rows: list[dict[str, str]], comb: Any) -> list[Any]:
    from dispatch.combiner import Example
    from dispatch.proposals import propose

    out = []
    for row in rows:
        proposed = propose(session, appeal_of(row), combination=comb)
        if proposed.features is None:
            continue
        cands, feats, appeal, _ = proposed.features
        codes = [d.code for d in cands]
        expected = row["expected"].strip()
        out.append(Example(feats, appeal, codes.index(expected) if expected in codes else None))
    return out


def scored(params: Any, examples: list[Any]) -> list[tuple[float, bool]]:
    out = []
    for e in examples:
        probs = params.probabilities(e.candidates, e.appeal)
        if not probs:
            out.append((0.0, False))
            continue
        best = max(range(len(probs)), key=lambda i: probs[i])
        out.append((probs[best], best == e.right))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "dispatch/data/combiner.json"
    )
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--folds", type=int, default=3, help="folds of whole training splits")
    parser.add_argument(
        "--target", type=float, default=0.97, help="out-of-fold 直派 accuracy the default threshold must reach"
    )
    args = parser.parse_args()
    from dispatch import combiner
    from hotline import classification

    rows = [r for r in read_rows(args.csv) if r.get("split") not in BLIND_SPLITS]
    names = list(dict.fromkeys(r["split"] for r in rows))  # in the file's order (written over time)
    fold_of = {name: min(i * args.folds // len(names), args.folds - 1) for i, name in enumerate(names)}
    for r in rows:
        r["fold"] = str(fold_of[r["split"]])
    splits = sorted({r["fold"] for r in rows})
    zero = combiner.Params([0.0] * len(combiner.CANDIDATE_FEATURES), [0.0] * len(combiner.APPEAL_FEATURES))
    history: dict[str, list[Any]] = {}
    plain: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        session = build_database(Path(tmp))
        shipped = classification.registry().active_version()
        try:
            for split in splits:
                started = time.perf_counter()
                others = [r for r in rows if r["fold"] != split]
                mine = [r for r in rows if r["fold"] == split]
                table = combiner.category_table([(r["category"] or None, r["expected"]) for r in others])
                comb = combiner.Combiner("oof", zero, zero, table, "")
                classification.registry().promote(shipped)
                plain[split] = features_of(session, mine, comb)
                use_history_model(others, BLIND_SPLITS)
                history[split] = features_of(session, mine, comb)
                took = time.perf_counter() - started
                print(
                    f"fold {split}: {sorted({r['split'] for r in mine})} ({len(mine)} appeals, {took:.0f} s)",
                    file=sys.stderr,
                )
        finally:
            session.close()

    report: dict[str, Any] = {
        "training_splits": names,
        "folds": {k: [n for n in names if str(fold_of[n]) == k] for k in splits},
    }
    fitted: dict[str, Any] = {}
    for name, per in (("history", history), ("plain", plain)):
        everything = [e for split in splits for e in per[split]]
        fitted[name] = combiner.fit(everything, l2=args.l2)
        oof: list[tuple[float, bool]] = []
        for split in splits:
            params = combiner.fit([e for s in splits if s != split for e in per[s]], l2=args.l2)
            oof.extend(scored(params, per[split]))
        cal = calibration(oof)
        chosen = next(
            (c["threshold"] for c in cal["tradeoff"] if c["accuracy"] is not None and c["accuracy"] >= args.target),
            None,
        )
        report[name] = {"rows": len(oof), "out_of_fold": cal, "threshold_for_target": chosen}
    table = combiner.category_table([(r["category"] or None, r["expected"]) for r in rows])
    result = combiner.Combiner(
        version=datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        history=fitted["history"],
        plain=fitted["plain"],
        category_table=table,
        trained_on=f"tests/dispatch/labelled_appeals.csv splits {', '.join(names)} ({len(rows)} appeals)",
    )
    args.out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report["written"] = str(args.out)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
