"""Accuracy on the real public appeal data (train.csv → dev.csv), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from classifier.cli import group

MIN_DEV_MACRO_F1 = 0.88


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


def test_dev_macro_f1(shared_model: Path, shared_data: Path) -> None:
    r = CliRunner().invoke(group, ["eval", "--model", str(shared_model), "--data", str(shared_data / "dev.csv")])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["n"] == 148
    assert result["macro_f1"] >= MIN_DEV_MACRO_F1, json.dumps(result, ensure_ascii=False)
    assert set(result["per_class"]) >= {"城乡建设", "劳动和社会保障", "教育文体", "环境保护"}
