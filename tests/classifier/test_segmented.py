"""Training on text that comes already segmented (words joined by spaces, as full_segmented.csv),
and classifying new text segmented the same way and raw text alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from classifier import CATEGORIES, Example, Model, load_model, train_model
from classifier.cli import group
from classifier.text import get_segmenter, is_segmented, split_segmented

from .support import FAST, corpus_examples, subset

# What a data set's stop-word list removes (a few of them): segmented text lacks these words.
STOP = {"的", "了", "是", "我", "在", "和", "有", "也", "都", "就", "我们", "请", "吗", "呢"}


def segment(title: str, text: str) -> str:
    """An appeal the way segmented data sets carry it: title + text cut by jieba with its defaults,
    stop words removed, words joined by spaces."""
    words = get_segmenter("").cut_as_jieba_default(f"{title}。{text}")
    return " ".join(w for w in words if w not in STOP)


def test_segmented_text_is_told_from_raw_text() -> None:
    assert is_segmented("市 西湖 建筑 集团 占 道 施工 安全隐患 A3 区")
    assert is_segmented("停车 收费")
    assert not is_segmented("市西湖建筑集团占道施工，存在安全隐患，A3区大道")
    assert not is_segmented("我们小区 物业乱收费")  # one space in ordinary text
    assert not is_segmented("")
    words = split_segmented("小区 物业 ， 乱收 停车费 。 A3 区 　 ２０１９")
    assert words == ["小区", "物业", "乱收", "停车费", "a0", "区", "0"]


@pytest.fixture(scope="module")
def split() -> tuple[list[Example], list[Example]]:
    examples = subset(corpus_examples(), 40, seed=3)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(examples))
    held = {int(i) for i in order[: len(examples) // 4]}
    train = [e for i, e in enumerate(examples) if i not in held]
    test = [e for i, e in enumerate(examples) if i in held]
    return train, test


@pytest.fixture(scope="module")
def segmented_model(split: tuple[list[Example], list[Example]]) -> Model:
    train, _ = split
    return train_model([Example("", segment(e.title, e.text), e.category) for e in train], config=FAST)


def test_segmented_training_text_is_not_segmented_again(segmented_model: Model) -> None:
    fx = segmented_model.features
    assert fx.segmented_ and not fx.titles_
    given = "物业公司 乱收 停车费 小区业主"  # 物业公司 would be cut again by a word segmenter
    _, text, words = fx._prepare([""], [given])
    assert words == [["物业公司", "乱收", "停车费", "小区业主"]]
    assert text == [given]


def test_raw_text_meets_the_words_of_segmented_text(
    segmented_model: Model, split: tuple[list[Example], list[Example]]
) -> None:
    """A raw appeal is cut as the data was, and words the training text never had (its stop words)
    are dropped: on the held-out appeals, raw and segmented forms get the same category."""
    fx = segmented_model.features
    _, test = split
    # Exactly the same features when the raw text holds only known words and stop words.
    raw_text = "小区的物业收了停车费"
    seg = segment("", raw_text)
    assert set(seg.split()) <= fx.token_vocab_ and seg.count(" ") == 3
    assert np.allclose(fx.transform([""], [seg]).toarray(), fx.transform([""], [raw_text]).toarray())
    raw = segmented_model.predict_batch([e.title for e in test], [e.text for e in test])
    segd = segmented_model.predict_batch([""] * len(test), [segment(e.title, e.text) for e in test])
    same = np.mean([a.category.top[0][0] == b.category.top[0][0] for a, b in zip(raw, segd, strict=True)])
    assert same >= 0.9, same
    right = np.mean([p.category.top[0][0] == e.category for p, e in zip(raw, test, strict=True)])
    assert right >= 0.7, right


def test_cli_trains_on_one_segmented_column(tmp_path: Path, split: tuple[list[Example], list[Example]]) -> None:
    """``classifier train --text-cols seg``: the file as a segmented data set ships it."""
    train, test = split
    data = tmp_path / "seg.csv"
    lines = ["id,seg,label"] + [f"{i},{segment(e.title, e.text)},{e.category}" for i, e in enumerate(train)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model"
    args = ["train", "--data", str(data), "--text-cols", "seg", "--label-col", "label", "--out", str(out), "--quiet"]
    r = CliRunner().invoke(group, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(group, ["predict", "--model", str(out), "--title", test[0].title, test[0].text])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["category"]["top"][0]["label"] in CATEGORIES
    model = load_model(out)
    assert model.features.segmented_ and model.meta["n_train"] == len(train)
    raw = model.predict_batch([e.title for e in test], [e.text for e in test])
    segd = model.predict_batch([""] * len(test), [segment(e.title, e.text) for e in test])
    same = np.mean([a.category.top[0][0] == b.category.top[0][0] for a, b in zip(raw, segd, strict=True)])
    assert same >= 0.9, same
