"""The ``classifier`` click group: train/eval/predict round trips and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

from classifier.cli import group

from .support import corpus_examples, subset, write_csv

FAST_ENV = {"PYTHONHASHSEED": "0"}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "appeals.csv", subset(corpus_examples(), 10, seed=5))


@pytest.fixture(scope="module")
def small_xlsx(small_csv: Path) -> Path:
    import csv

    path = small_csv.with_suffix(".xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    with small_csv.open(encoding="utf-8") as f:
        for row in csv.reader(f):
            ws.append(row)
    wb.save(path)
    return path


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(group, list(args), env=FAST_ENV, catch_exceptions=False)


def test_group_is_named_classifier() -> None:
    assert isinstance(group, click.Group) and group.name == "classifier"
    assert {"train", "eval", "predict"} <= set(group.commands)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_train_eval_predict_round_trip(fmt: str, small_csv: Path, small_xlsx: Path, tmp_path: Path) -> None:
    data = small_csv if fmt == "csv" else small_xlsx
    out = tmp_path / "model"
    r = run(
        "train",
        "--data",
        str(data),
        "--text-cols",
        "title,text",
        "--label-col",
        "label",
        "--type-col",
        "type",
        "--urgency-col",
        "urgency",
        "--out",
        str(out),
        "--quiet",
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert set(summary["heads"]) == {"category", "appeal_type", "urgency"}
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["version"] == summary["version"] and len(meta["training_data_sha256"]) == 64
    assert (out / "model.joblib").is_file()

    r = run("eval", "--model", str(out), "--data", str(data))
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)  # exactly one JSON object
    assert {"accuracy", "macro_f1", "per_class", "n", "confusion_matrix"} <= set(result)
    # its own training data (10 per category; chance is 1/15): the stacker is fitted on out-of-fold
    # scores, so it does not simply recall each row
    assert result["n"] == 150 and result["accuracy"] > 0.6
    cm = result["confusion_matrix"]
    assert len(cm["labels"]) == len(cm["matrix"]) == 15

    r = run("eval", "--model", str(out), "--data", str(data), "--label-col", "type", "--head", "appeal_type")
    assert r.exit_code == 0 and json.loads(r.output)["head"] == "appeal_type"

    r = run("predict", "--model", str(out), "--title", "小区停电", "整栋楼停电一下午了，冰箱里的东西都坏了")
    assert r.exit_code == 0, r.output
    pred = json.loads(r.output)
    assert pred["model_version"] == summary["version"]
    assert pred["urgency"]["label"] == "紧急" and pred["urgency_rule"]["id"] == "outage"
    assert len(pred["category"]["top"]) == 3


def _assert_fails_without_output(args: list[str], out: Path, needle: str) -> None:
    r = CliRunner().invoke(group, args)
    assert r.exit_code != 0
    assert needle in r.output
    assert not out.exists()


def test_missing_column(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["train", "--data", str(small_csv), "--label-col", "category", "--out", str(out), "--quiet"]
    _assert_fails_without_output(args, out, "missing column")
    args = ["train", "--data", str(small_csv), "--text-cols", "headline,text", "--out", str(out), "--quiet"]
    _assert_fails_without_output(args, out, "headline")


def test_empty_file(tmp_path: Path) -> None:
    out = tmp_path / "m"
    for content in ["", "title,text,label\n"]:
        data = tmp_path / "empty.csv"
        data.write_text(content, encoding="utf-8")
        _assert_fails_without_output(["train", "--data", str(data), "--out", str(out)], out, "empty.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    data = tmp_path / "appeals.json"
    data.write_text("[]", encoding="utf-8")
    out = tmp_path / "m"
    _assert_fails_without_output(["train", "--data", str(data), "--out", str(out)], out, "unsupported file type")


def test_single_label_is_a_training_error(tmp_path: Path) -> None:
    data = tmp_path / "one.csv"
    data.write_text("title,text,label\n停水,没水了,公用事业\n停电,没电了,公用事业\n", encoding="utf-8")
    out = tmp_path / "m"
    _assert_fails_without_output(["train", "--data", str(data), "--out", str(out), "--quiet"], out, "two distinct")


def test_refuses_to_overwrite_a_model(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("x", encoding="utf-8")
    r = CliRunner().invoke(group, ["train", "--data", str(small_csv), "--out", str(out), "--quiet"])
    assert r.exit_code != 0 and "not empty" in r.output
    assert (out / "keep.txt").is_file()


def test_lexicon_option(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["train", "--data", str(small_csv), "--label-col", "label", "--out", str(out), "--quiet"]
    _assert_fails_without_output([*args, "--lexicon", str(tmp_path / "nope.yaml")], out, "lexicon file not found")
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text("categories:\n  交通运输: [公交, 地铁]\n  别的分类: [公交]\n", encoding="utf-8")
    r = run(*args, "--lexicon", str(lexicon))
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["config"]["lexicon_weight"] > 0 and meta["config"]["lexicon_userdict"]
    assert "公交" in (out / "userdict.txt").read_text(encoding="utf-8")


def test_threshold_option(small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["train", "--data", str(small_csv), "--label-col", "label", "--out", str(out), "--quiet"]
    _assert_fails_without_output([*args, "--threshold", "categroy=0.7"], out, "the head must be one of")
    _assert_fails_without_output([*args, "--threshold", "category=1.5"], out, "from 0 to 1")
    _assert_fails_without_output([*args, "--threshold", "category=高"], out, "from 0 to 1")
    r = run(*args, "--threshold", "category=0.7", "--threshold", "urgency=0.6")
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["thresholds"] == {"category": 0.7}  # urgency: no such column, so no such head
    r = run("predict", "--model", str(out), "--title", "噪音", "晚上有点吵")
    assert r.exit_code == 0, r.output
    category = json.loads(r.output)["category"]
    assert category["abstained"] == (category["top"][0]["score"] < 0.7)
