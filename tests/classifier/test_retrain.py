"""Learning from staff corrections: promote a candidate only when it is not worse."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from classifier import Example, ModelRegistry, retrain_and_maybe_promote, train_model

from .support import FAST, corpus_examples, subset


def test_better_candidate_is_promoted(tmp_path: Path) -> None:
    corpus = corpus_examples()
    # The active model has never seen 民政 appeals; staff keep correcting them to 民政.
    base = subset(corpus, 14, seed=1, exclude={"民政"})
    reg = ModelRegistry(tmp_path)
    active = reg.add(train_model(base, config=FAST))
    reg.promote(active)
    # 64 corrections hold back 16: with 8, one appeal type read differently decided the comparison.
    corrections = [e for e in corpus if e.category == "民政"][:64]
    report = retrain_and_maybe_promote(reg, corrections, config=FAST)
    assert report["promoted"] is True, report
    assert reg.active_version() == report["candidate_version"] != active
    cmp = report["comparison"]["category"]
    assert cmp["candidate"] > cmp["active"]
    assert report["n_holdout"] >= 16
    # the promoted model knows the new class and remembers where it came from
    model = reg.active()
    assert "民政" in model.labels["category"]
    assert model.meta["parent_version"] == active


def test_worse_candidate_is_not_promoted(tmp_path: Path) -> None:
    corpus = corpus_examples()
    good = subset(corpus, 14, seed=2)
    reg = ModelRegistry(tmp_path)
    active = reg.add(train_model(good, config=FAST))
    reg.promote(active)
    # Retraining on a base whose labels got scrambled (say, a bad export) must not replace a good model.
    rng = random.Random(0)
    labels = [e.category for e in good]
    rng.shuffle(labels)
    scrambled = [replace(e, category=c) for e, c in zip(good, labels, strict=True)]
    corrections = subset(corpus, 2, seed=3)  # correct labels, 30 appeals
    report = retrain_and_maybe_promote(reg, corrections, base_examples=scrambled, config=FAST)
    assert report["promoted"] is False, report
    assert "worse" in report["reason"]
    assert reg.active_version() == active
    cmp = report["comparison"]["category"]
    assert cmp["candidate"] < cmp["active"]
    assert report["candidate_version"] in reg.versions()  # kept for inspection, not active


def test_too_few_corrections_changes_nothing(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    report = retrain_and_maybe_promote(reg, [Example("停水", "没水了", category="公用事业(水电气热)")])
    assert report["promoted"] is False and "no active model" in report["reason"]
    reg.promote(reg.add(train_model(subset(corpus_examples(), 6, seed=4), config=FAST)))
    before = reg.versions()
    report = retrain_and_maybe_promote(reg, [Example("停水", "没水了", category="公用事业(水电气热)")] * 3)
    assert report["promoted"] is False and "too few" in report["reason"]
    assert reg.versions() == before
