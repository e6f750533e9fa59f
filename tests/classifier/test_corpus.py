"""The default corpus in the repo is what build_corpus makes, and hand-written rows are checked."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifier.corpus import build_corpus


def test_the_committed_corpus_is_what_the_builder_makes() -> None:
    with build_corpus.OUT.open(encoding="utf-8", newline="") as f:
        committed = list(csv.DictReader(f))
    assert build_corpus.build() == committed


def test_written_appeals_are_all_in_the_corpus_unless_near_duplicates() -> None:
    written = build_corpus.written_appeals()
    corpus = {(r["title"], r["text"]) for r in build_corpus.build()}
    kept = sum((r["title"], r["text"]) in corpus for r in written)
    assert kept >= 0.95 * len(written)


@pytest.mark.parametrize(
    ("column", "value"),
    [("category", "城建"), ("appeal_type", "投拆"), ("urgency", "很急"), ("department", "不存在局")],
)
def test_a_written_row_with_an_unknown_label_is_refused(tmp_path: Path, column: str, value: str) -> None:
    row = {
        "title": "路灯不亮",
        "text": "市民来电反映小区门口路灯坏了一个月",
        "category": "城市管理",
        "appeal_type": "投诉",
        "urgency": "一般",
        "department": "城市管理综合执法局",
    }
    path = tmp_path / "written.csv"
    for bad in (False, True):
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=build_corpus.FIELDS)
            w.writeheader()
            w.writerow({**row, column: value} if bad else row)
        if bad:
            with pytest.raises(ValueError, match=f"line 2: {column}"):
                build_corpus.written_appeals(path)
        else:
            assert build_corpus.written_appeals(path) == [row]
