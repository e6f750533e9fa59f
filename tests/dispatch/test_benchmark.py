"""The dispatch decision on the labelled appeals (tests/dispatch/labelled_appeals.csv)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from benchmarks.bench_dispatch import evaluate, read_rows
from dispatch import classify, config, proposals
from tests.dispatch.conftest import City

ROWS = read_rows(Path(__file__).with_name("labelled_appeals.csv"))


def test_the_labelled_set_is_large_varied_and_uses_known_codes(city: tuple[Session, City]) -> None:
    _session, c = city
    assert len(ROWS) >= 200
    assert {r["expected"] for r in ROWS} <= set(c.dept)
    assert sum(1 for r in ROWS if not r["address"]) >= 30  # no address given
    assert len({r["expected"] for r in ROWS}) >= 30


# Blind sets whose misses are not (yet) fixed in the catalogue: held to their own floors below,
# not to the targets the tuned rows meet.
UNFIXED = {"holdout9", "holdout10"}


def test_direct_dispatch_is_right_and_the_top_three_hold_the_answer(city: tuple[Session, City]) -> None:
    session, _c = city
    result = evaluate(session, [r for r in ROWS if r.get("split") not in UNFIXED], use_classifier=False)
    assert result["auto_accuracy"] >= 0.90, result["misses"]
    assert result["top3_accuracy"] >= 0.97, result["misses"]
    assert result["auto_share"] >= 0.6


# The holdouts were each written blind to the catalogue and measured once before any fix made
# from them (直派 right / top-3): holdout2 89.2% / 96.0%, holdout3 83.3% / 97.0%, holdout4 82.9% /
# 94.0%, holdout5 85.8% / 97.3%, holdout6 90.6% / 98.7%, holdout7 90.3% / 97.3%, holdout8
# (paraphrased) 71.2% / 84.0%, holdout9 82.9% / 96.0%, holdout10 (plain words) 60.5% / 83.3%;
# then their misses' gap families were fixed (holdout8's, holdout9's and holdout10's were not).
# Floors a little under today's figures catch a regression; the blind figures are the README's
# honest measure of unseen text.
HOLDOUT_FLOORS = {
    "holdout2": {"auto_accuracy": 0.95, "top3_accuracy": 0.97},
    "holdout3": {"auto_accuracy": 0.92, "top3_accuracy": 0.97},
    "holdout4": {"auto_accuracy": 0.94, "top3_accuracy": 0.97},
    "holdout5": {"auto_accuracy": 0.95, "top3_accuracy": 0.97},
    "holdout6": {"auto_accuracy": 0.94, "top3_accuracy": 0.97},
    "holdout7": {"auto_accuracy": 0.95, "top3_accuracy": 0.97},
    # written to avoid the usual words (paraphrase on purpose); rules alone are far under the targets
    "holdout8": {"auto_accuracy": 0.69, "top3_accuracy": 0.82},
    # issue 18's blind sets at their first measurement (82.9% / 96.0% and 60.5% / 83.3%)
    "holdout9": {"auto_accuracy": 0.82, "top3_accuracy": 0.95},
    "holdout10": {"auto_accuracy": 0.60, "top3_accuracy": 0.83},
}


@pytest.mark.parametrize("split", sorted(HOLDOUT_FLOORS))
def test_each_holdout_stays_above_its_floor(city: tuple[Session, City], split: str) -> None:
    session, _c = city
    rows = [r for r in ROWS if r.get("split") == split]
    assert len(rows) >= 60
    result = evaluate(session, rows, use_classifier=False)
    print(f"{split}: 直派 {result['auto_accuracy']:.1%} right, top-3 {result['top3_accuracy']:.1%}")
    for key, floor in HOLDOUT_FLOORS[split].items():
        assert result[key] >= floor, (key, result[key], result["misses"])


def test_the_classifier_is_used_only_through_the_adapter(city: tuple[Session, City]) -> None:
    session, _c = city
    if classify.predict("小区停水", "今天早上开始停水了") is None:
        pytest.skip("classifier/default_model not available")
    config.set_setting(session, "use_classifier", True)
    session.commit()
    proposed = proposals.propose(session, proposals.Appeal(title="想问一件事", content="今天早上开始家里停水了"))
    assert proposed.opinion is not None and proposed.opinion.model_version
    result = evaluate(session, ROWS, use_classifier=True)
    assert result["top3_accuracy"] >= 0.9


# With the learned combination (rules alone: no classifier in these tests), 直派 only from the
# calibrated 0.93: right far more often than the rules' own ranking, at a smaller share (README,
# "Calibrated confidence"; holdout9/holdout10 98.7% / 93.0% right at 51.3% / 28.7% now).
COMBINED_FLOORS = {"holdout9": 0.95, "holdout10": 0.90, "older": 0.97}


def test_the_combination_dispatches_at_once_only_what_it_is_sure_of(city: tuple[Session, City]) -> None:
    session, _c = city
    config.set_setting(session, "use_combiner", True)
    session.commit()
    for name, floor in COMBINED_FLOORS.items():
        if name == "older":
            rows = [r for r in ROWS if r.get("split") not in UNFIXED]
        else:
            rows = [r for r in ROWS if r.get("split") == name]
        result = evaluate(session, rows, use_classifier=False)
        print(f"{name}: 直派 {result['auto_accuracy']:.1%} right of {result['auto_share']:.1%}")
        assert result["auto_accuracy"] >= floor, (name, result["auto_accuracy"], result["misses"])
