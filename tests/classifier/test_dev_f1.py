"""Accuracy on the real public appeal data (train.csv → dev.csv), through the CLI.

A regression floor, not a target. #4 aimed at 0.88 on dev; 148 appeals measure macro-F1 only to
±0.06 (95% bootstrap interval 0.79-0.92 around the 0.862 measured), so that target could neither
be reached nor missed with any confidence. Issue 17 replaced it with repeated grouped
cross-validation on the 8,828 messages of full_segmented.csv (classifier/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.cli import group

# Measured 0.862 (0.862-0.872 over fold seeds): the floor catches a model that got worse by more
# than one or two of dev's appeals.
FLOOR_DEV_MACRO_F1 = 0.85


@pytest.fixture(scope="module")
def shared_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shared") / "model"
    args = [
        "train",
        "--data",
        str(shared_data / "train.csv"),
        "--text-cols",
        "title,text",
        "--label-col",
        "label",
        "--out",
        str(out),
        "--quiet",
    ]
    if (shared_data / "unlabeled.csv").is_file():
        args += ["--unlabeled", str(shared_data / "unlabeled.csv")]
    r = CliRunner().invoke(group, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def dev_result(shared_model: Path, shared_data: Path) -> dict:
    r = CliRunner().invoke(group, ["eval", "--model", str(shared_model), "--data", str(shared_data / "dev.csv")])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_dev_macro_f1_floor(dev_result: dict) -> None:
    assert dev_result["n"] == 148
    assert set(dev_result["per_class"]) >= {"城乡建设", "劳动和社会保障", "教育文体", "环境保护"}
    assert dev_result["macro_f1"] >= FLOOR_DEV_MACRO_F1, json.dumps(dev_result, ensure_ascii=False)
