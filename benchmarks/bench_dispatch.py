"""Measure the dispatch decision on the labelled appeals (tests/dispatch/labelled_appeals.csv).

Per split: 直派 share and accuracy, top-1, top-3, and the calibration of the confidence (accuracy of
the first proposal by confidence band, and the share dispatched at once against its accuracy for a
range of thresholds).

Builds a fresh SQLite database with the demo organisation, the shipped catalogue and gazetteer,
proposes a 主办 for every appeal and prints JSON: the share dispatched at once (直派), the
accuracy of 直派, top-1 and top-3 accuracy over all rows, and the misses; also per split
("dev": the rows the catalogue's gaps were found on; "holdout": written after them, tuned on in
round 2; "holdout2": written before round 2's changes, never tuned on).

    .venv/bin/python benchmarks/bench_dispatch.py [--csv PATH] [--no-classifier] [--misses]
        [--history | --history-except SPLIT] [--no-combiner]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_CSV = REPO / "tests" / "dispatch" / "labelled_appeals.csv"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# Written blind for issue 18 and kept for measurement: never fitted or tuned on.
BLIND_SPLITS = ("holdout9", "holdout10")
BANDS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001)
THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def appeal_of(row: dict[str, str]) -> Any:
    from dispatch.proposals import Appeal

    return Appeal(
        title=row["title"],
        content=row["content"],
        address=row["address"] or None,
        category=row.get("category") or None,
        appeal_type=row.get("appeal_type") or "complaint",
        channel=row.get("channel") or "phone",
        enterprise=(row.get("enterprise") or "").strip().lower() in {"1", "true", "yes"},
    )


def calibration(scored: list[tuple[float, bool]]) -> dict[str, Any]:
    """Reliability (accuracy of the first proposal by confidence band) and the trade-off curve
    (dispatching at once from each threshold: the share of appeals and its accuracy)."""
    bands = []
    for lo, hi in zip(BANDS, BANDS[1:], strict=False):
        part = [ok for conf, ok in scored if lo <= conf < hi]
        if part:
            bands.append(
                {"band": f"{lo:.2f}-{min(hi, 1):.2f}", "rows": len(part), "accuracy": round(sum(part) / len(part), 4)}
            )
    curve = []
    for t in THRESHOLDS:
        part = [ok for conf, ok in scored if conf >= t]
        curve.append(
            {
                "threshold": t,
                "share": round(len(part) / len(scored), 4) if scored else 0.0,
                "accuracy": round(sum(part) / len(part), 4) if part else None,
            }
        )
    return {"bands": bands, "tradeoff": curve}


def evaluate(
    session: Any, rows: list[dict[str, str]], *, use_classifier: bool, combination: Any = None
) -> dict[str, Any]:
    from dispatch.departments import departments
    from dispatch.proposals import propose

    depts = departments(session)
    auto = auto_ok = top1 = top3 = 0
    misses: list[dict[str, Any]] = []
    by_outcome: dict[str, int] = {}
    scored: list[tuple[float, bool]] = []
    started = time.perf_counter()
    for row in rows:
        appeal = appeal_of(row)
        expected = row["expected"].strip()
        assert expected in depts, f"unknown department code in the labels: {expected}"
        proposed = propose(session, appeal, use_classifier=use_classifier, combination=combination)
        codes = [p.primary.code for p in proposed.proposals]
        ok1 = bool(codes) and codes[0] == expected
        ok3 = expected in codes[:3]
        top1 += ok1
        top3 += ok3
        scored.append((proposed.confidence, ok1))
        kind = "auto" if proposed.auto else "queue"
        by_outcome[kind] = by_outcome.get(kind, 0) + 1
        if proposed.auto:
            auto += 1
            auto_ok += ok1
        if (proposed.auto and not ok1) or not ok3:
            misses.append(
                {
                    "id": row["id"],
                    "title": row["title"],
                    "expected": expected,
                    "proposed": codes[:3],
                    "auto": proposed.auto,
                    "reason": proposed.reason,
                    "confidence": round(proposed.confidence, 3),
                }
            )
    n = len(rows)
    return {
        "rows": n,
        "classifier": use_classifier,
        "auto_dispatched": auto,
        "auto_share": round(auto / n, 4) if n else 0.0,
        "auto_accuracy": round(auto_ok / auto, 4) if auto else None,
        "top1_accuracy": round(top1 / n, 4) if n else 0.0,
        "top3_accuracy": round(top3 / n, 4) if n else 0.0,
        "queued": n - auto,
        "ms_per_appeal": round((time.perf_counter() - started) * 1000 / max(n, 1), 2),
        "calibration": calibration(scored),
        "misses": misses,
    }


def build_database(directory: Path) -> Any:
    """A migrated SQLite database with the demo organisation, catalogue and gazetteer."""
    os.environ["HOTLINE_DATABASE_URL"] = f"sqlite:///{directory / 'bench.sqlite3'}"
    os.environ["HOTLINE_DATA_DIR"] = str(directory)
    from hotline.db import get_sessionmaker, reset_engine_cache
    from hotline.migrate import upgrade
    from hotline.settings import reset_settings_cache

    reset_settings_cache()
    reset_engine_cache()
    upgrade(os.environ["HOTLINE_DATABASE_URL"])
    from dispatch.demo import load_demo_data
    from hotline.demo.seed import load_org
    from hotline.orgs import get_system_user
    from hotline.timelimits import ensure_default_policies

    session = get_sessionmaker()()
    ensure_default_policies(session)
    load_org(session)
    get_system_user(session)
    load_demo_data(session)
    session.commit()
    return session


def use_history_model(rows: list[dict[str, str]], held_out: str | tuple[str, ...]) -> str:
    """Stand in for a center's own model: train the classifier's category and department heads on
    the labelled appeals of every split but ``held_out`` (department labels are our codes, as a
    center's dispatch history gives them) and promote it in the core's registry, as a center's
    retraining does; dispatch then consults it through the usual door."""
    from classifier import train_model
    from classifier.io import Example
    from hotline import classification

    held = (held_out,) if isinstance(held_out, str) else held_out
    history = [
        Example(title=r["title"], text=r["content"], category=r["category"] or None, department=r["expected"])
        for r in rows
        if r.get("split") not in held
    ]
    registry = classification.registry()
    version: str = registry.add(train_model(history))
    registry.promote(version)
    return version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--no-classifier", action="store_true", help="rules, gazetteer and 兜底 only")
    parser.add_argument("--misses", action="store_true", help="list the misses")
    parser.add_argument(
        "--history-except",
        metavar="SPLIT",
        help="consult a model trained on the labelled appeals of all other splits (a center's history)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help=f"consult a model trained on the training splits only (all but {', '.join(BLIND_SPLITS)})",
    )
    parser.add_argument("--splits", help="only these splits (comma-separated)")
    parser.add_argument("--no-combiner", action="store_true", help="rank by the rules' precedence (before issue 18)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = build_database(Path(tmp))
        try:
            rows = read_rows(args.csv)
            if args.history_except:
                use_history_model(rows, args.history_except)
            elif args.history:
                use_history_model(rows, BLIND_SPLITS)
            if args.no_combiner:
                from dispatch.config import set_setting

                set_setting(session, "use_combiner", False)
                session.commit()
            if args.splits:  # measured on these only (the history model above learnt from the others)
                rows = [r for r in rows if r.get("split") in set(args.splits.split(","))]
            result = evaluate(session, rows, use_classifier=not args.no_classifier)
            splits = sorted({r.get("split") or "all" for r in rows})
            if len(splits) > 1:
                result["by_split"] = {
                    name: evaluate(
                        session, [r for r in rows if r.get("split") == name], use_classifier=not args.no_classifier
                    )
                    for name in splits
                }
        finally:
            session.close()
    if not args.misses:
        result["misses"] = len(result["misses"])
        for part in result.get("by_split", {}).values():
            part["misses"] = len(part["misses"])
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
