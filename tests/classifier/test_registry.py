"""Model registry: versions, the ACTIVE pointer, and hot switching between processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import DEFAULT_MODEL_DIR, Model, ModelRegistry, NoActiveModel, train_model

from .support import FAST, corpus_examples, subset


@pytest.fixture(scope="module")
def two_models(small_model: Model) -> tuple[Model, Model]:
    other = train_model(subset(corpus_examples(), 12, seed=7), config=FAST)
    assert other.version != small_model.version
    return small_model, other


def test_empty_registry_has_no_active_model(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    assert reg.active_version() is None and reg.versions() == []
    with pytest.raises(NoActiveModel):
        reg.active()


def test_promotion_in_one_registry_is_seen_by_another(tmp_path: Path, two_models: tuple[Model, Model]) -> None:
    a, b = two_models
    api = ModelRegistry(tmp_path)  # e.g. the API process
    worker = ModelRegistry(tmp_path)  # e.g. a Celery worker
    va, vb = api.add(a), api.add(b)
    assert worker.versions() == sorted([va, vb])
    api.promote(va)
    assert worker.active().version == va
    first = worker.active()
    assert worker.active() is first  # no reload while the pointer is unchanged
    api.promote(vb)
    assert worker.active().version == vb  # switched without restart
    assert api.active().version == vb
    api.promote(va)
    assert worker.active().version == va
    assert worker.active().predict("小区停水", "一天没水了").model_version == va


def test_promotion_by_another_process(tmp_path: Path, two_models: tuple[Model, Model]) -> None:
    a, b = two_models
    reg = ModelRegistry(tmp_path)
    va, vb = reg.add(a), reg.add(b)
    reg.promote(va)
    assert reg.active().version == va
    code = f"from classifier import ModelRegistry; ModelRegistry({str(tmp_path)!r}).promote({vb!r})"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert reg.active().version == vb


def test_promote_unknown_version_fails(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    with pytest.raises(LookupError):
        reg.promote("20990101-000000-deadbeef-0000")
    with pytest.raises(ValueError):
        reg.promote("../escape")


def test_bootstrap_imports_the_shipped_model(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    version = reg.bootstrap()
    assert reg.active_version() == version
    assert (reg.path(version) / "model.joblib").is_file()
    assert reg.bootstrap() == version  # idempotent
    assert reg.active().predict("燃气泄漏", "楼道有煤气味").urgency_rule is not None
    assert DEFAULT_MODEL_DIR.is_dir()
