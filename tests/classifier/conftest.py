"""Shared fixtures: models are trained once per session (training is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Example, Model, load_model, train_model
from classifier.registry import DEFAULT_MODEL_DIR

from .support import FAST, SHARED, corpus_examples, subset


@pytest.fixture(scope="session")
def corpus() -> list[Example]:
    return corpus_examples()


@pytest.fixture(scope="session")
def default_model() -> Model:
    """The model shipped in classifier/default_model/."""
    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def small_model(corpus: list[Example]) -> Model:
    """Category + type + urgency heads on 20 corpus appeals per category."""
    return train_model(subset(corpus, 20), config=FAST)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "train.csv").is_file() or not (SHARED / "dev.csv").is_file():
        pytest.skip(f"shared appeal data not found at {SHARED}")
    return SHARED
