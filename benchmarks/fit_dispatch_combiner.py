"""Fit dispatch's learned combination (dispatch/combiner.py) on the training splits of the labelled
appeals, write dispatch/data/combiner.json, and print the out-of-fold calibration that the default
直派 threshold is chosen from.

Training splits: every split but the blind ones (``bench_dispatch.BLIND_SPLITS``: holdout9 and
holdout10 are never read here). The catalogue was fixed from each split's misses after its first
measurement, so today's rules are nearly always right on them — a combination fitted on that would
trust the rules far more than new appeals deserve. So each split's features are computed with the
catalogue **as it was when that split was written** (from git: the catalogue of the commit that added
its rows), i.e. rules that had never seen it; dev and holdout, present from the first commit, have no
such catalogue and serve only as history for the history model.

Out of fold, in ``--folds`` folds of whole splits: for each fold, the history model (the classifier
trained as a center's history teaches it) and the category table are built from every other training
split, and the features of the fold's appeals are computed with them — so the combination learns how
much to trust a history model on appeals it never saw. The ``plain`` parameters are fitted on the
same appeals with the shipped model (no history), the ``rules`` ones with no classifier at all. The
reported calibration refits the combination without each fold in turn.

    .venv/bin/python benchmarks/fit_dispatch_combiner.py [--out PATH] [--folds 3] [--target 0.97]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
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


def features_of(session: Any, rows: list[dict[str, str]], comb: Any, *, use_classifier: bool = True) -> list[Any]:
    from dispatch.combiner import Example
    from dispatch.proposals import propose

    out = []
    for row in rows:
        proposed = propose(session, appeal_of(row), combination=comb, use_classifier=use_classifier)
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


def blind_catalogues(csv_path: Path, names: list[str]) -> dict[str, str]:
    """For each split, the catalogue (YAML text) of the commit that added its rows: what the rules
    were before anything was fixed from them (each split was measured once, then its misses were
    fixed). A split present from the first commit has none. Read from git."""
    repo = Path(__file__).resolve().parent.parent
    rel = csv_path.resolve().relative_to(repo)
    commits = subprocess.run(
        ["git", "log", "--reverse", "--format=%H", "--", str(rel)], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    seen: set[str] = set()
    out: dict[str, str] = {}
    for i, commit in enumerate(commits):
        text = subprocess.run(
            ["git", "show", f"{commit}:{rel}"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
        present = {r.get("split") or "" for r in csv.DictReader(io.StringIO(text))}
        for name in sorted(present - seen):
            if i > 0 and name in names:
                out[name] = subprocess.run(
                    ["git", "show", f"{commit}:dispatch/data/catalogue.yaml"],
                    cwd=repo,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
        seen |= present
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "dispatch/data/combiner.json"
    )
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--folds", type=int, default=3, help="folds of whole splits")
    parser.add_argument(
        "--target", type=float, default=0.97, help="out-of-fold 直派 accuracy the default threshold must reach"
    )
    args = parser.parse_args()
    from dispatch import combiner
    from dispatch.catalogue import import_catalogue
    from hotline import classification
    from hotline.orgs import get_system_user

    rows = [r for r in read_rows(args.csv) if r.get("split") not in BLIND_SPLITS]
    names = list(dict.fromkeys(r["split"] for r in rows))  # in the file's order (written over time)
    blind = blind_catalogues(args.csv, names)
    fitted_on = [n for n in names if n in blind]  # dev and holdout never were blind: history only
    fold_of = {name: min(i * args.folds // len(fitted_on), args.folds - 1) for i, name in enumerate(fitted_on)}
    splits = sorted({str(f) for f in fold_of.values()})
    zero = combiner.Params([0.0] * len(combiner.CANDIDATE_FEATURES), [0.0] * len(combiner.APPEAL_FEATURES))
    history: dict[str, list[Any]] = {k: [] for k in splits}
    plain: dict[str, list[Any]] = {k: [] for k in splits}
    alone: dict[str, list[Any]] = {k: [] for k in splits}
    with tempfile.TemporaryDirectory() as tmp:
        session = build_database(Path(tmp))
        shipped = classification.registry().active_version()
        admin = get_system_user(session)
        try:
            for fold in splits:
                started = time.perf_counter()
                held = [n for n in fitted_on if str(fold_of[n]) == fold]
                others = [r for r in rows if r["split"] not in held]
                table = combiner.category_table([(r["category"] or None, r["expected"]) for r in others])
                comb = combiner.Combiner("oof", zero, zero, zero, table, "")
                trained = use_history_model(others, BLIND_SPLITS)
                for name in held:
                    # the catalogue as it was when this split was written and first measured
                    import_catalogue(session, admin, blind[name], replace=True, source="fit")
                    session.commit()
                    mine = [r for r in rows if r["split"] == name]
                    alone[fold] += features_of(session, mine, comb, use_classifier=False)
                    classification.registry().promote(shipped)
                    plain[fold] += features_of(session, mine, comb)
                    classification.registry().promote(trained)
                    history[fold] += features_of(session, mine, comb)
                took = time.perf_counter() - started
                print(f"fold {fold}: {held} ({took:.0f} s)", file=sys.stderr)
        finally:
            session.close()

    report: dict[str, Any] = {
        "history_model_trained_on": names,
        "combination_fitted_on": {k: [n for n in fitted_on if str(fold_of[n]) == k] for k in splits},
    }
    fitted: dict[str, Any] = {}
    for name, per in (("history", history), ("plain", plain), ("rules", alone)):
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
    # one setting for both: the lowest threshold at which both reach the target out of fold
    chosen = [report[name]["threshold_for_target"] for name in combiner.MODES]
    report["default_threshold"] = max(chosen) if None not in chosen else None
    table = combiner.category_table([(r["category"] or None, r["expected"]) for r in rows])
    result = combiner.Combiner(
        version=datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        history=fitted["history"],
        plain=fitted["plain"],
        rules=fitted["rules"],
        category_table=table,
        trained_on=f"tests/dispatch/labelled_appeals.csv splits {', '.join(names)} ({len(rows)} appeals)",
    )
    args.out.write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report["written"] = str(args.out)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
