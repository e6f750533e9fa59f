"""Prediction API: top-k with calibrated scores, abstention, batch = single, JSON form, save/load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from classifier import APPEAL_TYPES, CATEGORIES, URGENCIES, Model, load_model
from classifier.features import CharNgramTfidf, FeatureExtractor
from classifier.text import normalize


def test_default_model_covers_the_taxonomy(default_model: Model) -> None:
    assert sorted(default_model.labels["category"]) == sorted(CATEGORIES)
    assert sorted(default_model.labels["appeal_type"]) == sorted(APPEAL_TYPES)
    assert sorted(default_model.labels["urgency"]) == sorted(URGENCIES)
    assert "department" in default_model.heads
    meta = default_model.meta
    assert len(meta["training_data_sha256"]) == 64
    assert {"python", "sklearn", "jieba", "numpy"} <= set(meta["libraries"])
    assert meta["version"] == default_model.version and meta["created_at"]


def test_top_k_proposals_are_sorted_probabilities(default_model: Model) -> None:
    p = default_model.predict("小区门口烧烤油烟扰民", "楼下烧烤店每天营业到凌晨，油烟直排，窗户都不敢开", k=3)
    for head in (p.category, p.appeal_type, p.department):
        assert head is not None
        scores = [s for _, s in head.top]
        assert len(head.top) == 3
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores) and sum(scores) <= 1.0 + 1e-6
    assert p.category.label == "环境保护"
    assert p.appeal_type is not None and p.appeal_type.label == "投诉"
    assert p.model_version == default_model.version


def test_typical_appeals_get_the_expected_proposals(default_model: Model) -> None:
    cases = [
        ("公司拖欠工资", "我在一家物流公司上班，老板已经三个月没发工资了", "劳动和社会保障"),
        ("咨询公租房", "请问公租房申请需要什么条件", "住房"),
        ("暖气不热", "供暖后家里暖气片一直是凉的", "公用事业(水电气热)"),
        ("孩子入学", "请问随迁子女上小学需要准备哪些材料", "教育文体"),
        ("假种子", "在农资店买的玉米种子出芽率很低，庄稼减产", "三农"),
    ]
    preds = default_model.predict_batch([c[0] for c in cases], [c[1] for c in cases])
    assert [p.category.top[0][0] for p in preds] == [c[2] for c in cases]


def test_abstains_below_threshold_and_says_so(default_model: Model) -> None:
    p = default_model.predict("", "嗯嗯好的", min_confidence=0.999)
    assert p.category.abstained and p.category.label is None
    assert p.category.top  # the agent still sees the ranked options
    d = p.to_dict()
    assert d["category"]["abstained"] is True and d["category"]["label"] is None
    # The default thresholds: abstained exactly when the best score is below the head's threshold.
    texts = ["嗯", "你好", "我要反映一个问题", "燃气费怎么交", "路灯坏了", "谢谢"]
    for p in default_model.predict_batch([""] * len(texts), texts):
        thr = default_model.heads["category"].threshold
        assert p.category.abstained == (p.category.top[0][1] < thr)


def test_batch_equals_single_and_json_form(default_model: Model) -> None:
    titles = ["投诉公交司机", "", "咨询社保"]
    texts = ["12路公交司机开车打电话", "楼道里电动车充电，有安全隐患", "灵活就业人员怎么交社保"]
    batch = default_model.predict_batch(titles, texts, k=2)
    for t, x, b in zip(titles, texts, batch, strict=True):
        s = default_model.predict(t, x, k=2)
        assert s.to_dict() == b.to_dict()
    json.dumps(batch[0].to_dict(), ensure_ascii=False)
    assert default_model.predict_batch([], []) == []


def test_save_and_load_round_trip(small_model: Model, tmp_path: Path) -> None:
    small_model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    titles, texts = ["小区停水"], ["一整天没有水"]
    a = small_model.predict_batch(titles, texts)[0]
    b = loaded.predict_batch(titles, texts)[0]
    assert a.category.top[0][0] == b.category.top[0][0]
    # float16 storage moves scores only slightly
    assert abs(a.category.top[0][1] - b.category.top[0][1]) < 0.01
    assert (tmp_path / "m" / "train_data.csv.gz").is_file()


def test_char_ngrams_match_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [normalize(t) for t in ["小区门口垃圾堆积", "垃圾清运不及时，臭气熏天", "门口的路灯坏了", "ab 垃圾"]]
    ours = CharNgramTfidf((1, 3), min_df=1).fit(docs)
    ref = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, lowercase=False).fit(docs)
    assert ours.n_features == len(ref.vocabulary_)
    a = np.sort(ours.transform(docs).toarray(), axis=1)
    b = np.sort(ref.transform(docs).toarray(), axis=1)
    assert np.allclose(a, b, atol=1e-6)


def test_center_user_dictionary_keeps_its_terms_whole(tmp_path: Path) -> None:
    plain = FeatureExtractor(user_dict_text="")
    center = FeatureExtractor(user_dict_text="梧桐雅居北区 100 ns\n")
    text = normalize("梧桐雅居北区门口积水")
    assert "梧桐雅居北区" not in plain.segmenter.cut(text)
    assert "梧桐雅居北区" in center.segmenter.cut(text)


def test_lexicon_counts_match_a_plain_substring_count() -> None:
    import random

    from classifier.features import CategoryLexicon, load_lexicon
    from classifier.train import DEFAULT_LEXICON

    terms = load_lexicon(DEFAULT_LEXICON)
    terms["测试"] = ["的", "公交车站停车场"]  # one-character and long terms, overlapping others
    lex = CategoryLexicon(terms)

    def plain(text: str) -> list[int]:
        out = [0] * len(lex.categories)
        for term, cats in zip(lex.terms, lex.term_categories, strict=True):
            n = sum(text.startswith(term, i) for i in range(len(text) - len(term) + 1))
            for j in cats:
                out[j] += n
        return out

    rng = random.Random(0)
    alphabet = list("".join(lex.terms)) + list("，。了是我")
    texts = [normalize("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))) for _ in range(200)]
    texts += ["", "公交车站停车场etc收费站", "公交车站停车场"]
    counts = lex.counts(texts)
    assert [list(map(int, row)) for row in counts] == [plain(t) for t in texts]
    assert counts[-1][lex.categories.index("交通运输")] >= 3  # 公交, 公交车, 公交站, 停车场 …


def test_lexicon_is_keyed_by_category_and_optional(corpus: list, tmp_path: Path) -> None:
    from dataclasses import replace

    from classifier import train_model

    from .support import FAST, subset

    cfg = replace(FAST, lexicon_weight=0.5)
    rows = subset(corpus, 8)
    lexicon = {"交通运输": ["公交", "地铁"], "环境保护": ["污染"], "不在标签里": ["公交"]}
    model = train_model(rows, config=cfg, lexicon=lexicon)
    # only categories among the labels; the others (and the unknown one) get no columns
    assert set(model.features.lexicon) == {"交通运输", "环境保护"}
    assert model.features.n_lexicon == 4
    x = model.features.transform(["公交车不停靠"], ["地铁站附近公交线路"])
    lo, hi = model.features.blocks()["lexicon"]
    assert hi - lo == 4 and x[0, lo:hi].toarray().max() > 0
    model.save(tmp_path / "m")
    assert load_model(tmp_path / "m").predict("公交车不停靠", "").category.top
    # no lexicon entries for these labels at all: trains without lexicon columns
    bare = train_model(rows, config=cfg, lexicon={"别的分类": ["公交"]})
    assert bare.features.n_lexicon == 0
