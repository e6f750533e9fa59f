"""Urgency safety rules: each fires, exclusions hold, the model never overrides a rule."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from classifier import Model, UrgencyRules
from classifier.features import load_lexicon
from classifier.rules import DEFAULT_RULES_PATH, RulesError

RULES = UrgencyRules(DEFAULT_RULES_PATH)

FIRING = [
    ("gas_leak", "特急", "楼道有煤气味", "三单元楼道里有很浓的煤气味，像是燃气管道漏气了"),
    ("gas_leak", "特急", "", "家里天然气管子在漏气，嘶嘶响"),
    ("fire", "特急", "楼下着火了", "五楼窗户冒出浓烟，好像着火了，请快来"),
    ("fire", "特急", "", "仓库发生火灾，火势很大"),
    ("collapse", "特急", "", "工地的围墙倒塌了，压住了两个人"),
    ("collapse", "特急", "隧道塌方", "施工隧道发生塌方"),
    ("self_harm_threat", "特急", "", "老板不给工资，我哥说今天不给钱就从楼上跳下去，扬言跳楼"),
    ("self_harm_threat", "特急", "", "我实在活不下去了"),
    ("violence_threat", "特急", "", "邻居扬言要和我们同归于尽"),
    ("violence_threat", "特急", "", "他说要报复社会"),
    ("trapped_or_missing", "特急", "", "我和孩子被困在电梯里半小时了"),
    ("outage", "紧急", "小区停水", "从早上开始停水，到现在还没来水"),
    ("outage", "紧急", "", "整个小区停电了"),
    ("safety_hazard", "紧急", "", "人行道上的井盖丢失了，晚上很危险"),
    ("safety_hazard", "紧急", "", "楼下饭店有火灾隐患，消防通道堵塞"),
    ("mass_impact", "紧急", "", "工地欠了我们30多名工人的工资"),
    ("mass_impact", "紧急", "", "这件事影响全小区上百户居民"),
]


@pytest.mark.parametrize(("rule_id", "urgency", "title", "text"), FIRING)
def test_each_rule_fires(rule_id: str, urgency: str, title: str, text: str) -> None:
    hit = RULES.check(title, text)
    assert hit is not None
    assert (hit.id, hit.urgency) == (rule_id, urgency)
    assert hit.matched and hit.matched in (title + "\n" + text).lower()


@pytest.mark.parametrize(
    "text",
    [
        "商场年底跳楼价大甩卖，质量很差",  # 跳楼价 is a price, not a threat
        "咨询一下社区今年组织消防演练的时间",  # a drill
        "请问办理营业执照需要什么材料",
        "小区有2户人家养狗不拴绳",  # two households is not many people
    ],
)
def test_no_rule_for_ordinary_or_excluded_text(text: str) -> None:
    assert RULES.check("", text) is None


def test_hazard_wording_is_urgent_but_not_a_fire() -> None:
    hit = RULES.check("", "饭店后厨油污很厚，存在火灾隐患")
    assert hit is not None and hit.id == "safety_hazard" and hit.urgency == "紧急"


def test_most_urgent_rule_wins() -> None:
    # a hazard (紧急) and a gas leak (特急) in one appeal: 特急
    hit = RULES.check("井盖丢失", "路边井盖丢失，旁边的燃气管道漏气了")
    assert hit is not None and hit.urgency == "特急" and hit.id == "gas_leak"


def test_model_never_overrides_a_rule(default_model: Model) -> None:
    # Consultation-style texts the model itself rates 一般; the rule must still decide.
    cases = [
        ("咨询", "请问燃气开户需要什么材料？另外我家厨房有煤气味"),
        ("表扬", "感谢社区工作人员，顺便说一下楼下商铺着火了"),
        ("", "我想咨询一下养老保险，我爸说不给办就跳楼"),
    ]
    for title, text in cases:
        p = default_model.predict(title, text)
        assert p.urgency_rule is not None
        assert p.urgency.top == [(p.urgency_rule.urgency, 1.0)]
        assert p.urgency.label == p.urgency_rule.urgency
        assert not p.urgency.abstained
        assert p.to_dict()["urgency_rule"]["id"] == p.urgency_rule.id
    # and without a rule, the model's own urgency head answers
    p = default_model.predict("咨询营业执照", "请问个体工商户营业执照可以网上办理吗？")
    assert p.urgency_rule is None
    assert p.urgency.top[0][0] == "一般"
    assert len(p.urgency.top) == 3  # the model's ranking, not a rule's single forced level


def _edit(rules: UrgencyRules, text: str) -> None:
    """Rewrite the running rules' file as an editor would: a new mtime, seen at the next check."""
    stamp = rules.path.stat().st_mtime_ns
    rules.path.write_text(text, encoding="utf-8")
    st = rules.path.stat()
    os.utime(rules.path, ns=(st.st_atime_ns, max(st.st_mtime_ns, stamp) + 2_000_000_000))
    rules._checked = time.monotonic() - 2  # skip the once-a-second throttle


def test_rules_from_a_center_file_and_hot_reload(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {id: dam, name: 溃坝, urgency: 特急, keywords: [溃坝]}\n", encoding="utf-8")
    rules = UrgencyRules(path)
    assert rules.check("", "水库大坝出现溃坝险情").id == "dam"  # type: ignore[union-attr]
    assert rules.check("", "小区燃气泄漏") is None  # only this center's rules apply
    # edit the file: the running object picks it up without a restart
    _edit(rules, "rules:\n  - {id: flood, name: 内涝, urgency: 紧急, keywords: [内涝]}\n")
    assert rules.check("", "路口严重内涝").id == "flood"  # type: ignore[union-attr]
    # a broken edit keeps the rules in force
    _edit(rules, "rules: [ {id: x")
    assert rules.check("", "路口严重内涝").id == "flood"  # type: ignore[union-attr]


def test_bad_rules_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [{"id": "x", "urgency": "一般", "keywords": ["a"]}]}', encoding="utf-8")
    with pytest.raises(RulesError):
        UrgencyRules(path)


def test_a_key_written_twice_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    # Plain YAML keeps the second `keywords:` only: 燃气泄漏 would stop forcing 特急 without a word.
    path = tmp_path / "rules.yaml"
    good = "rules:\n  - id: gas\n    name: 燃气泄漏\n    urgency: 特急\n    keywords: [燃气泄漏, 煤气泄漏]\n"
    path.write_text(good, encoding="utf-8")
    rules = UrgencyRules(path)
    path.write_text(good + "    keywords: [天然气味]\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError, match="第 6 行：键「keywords」重复"):
        UrgencyRules(path)
    # the running set keeps the last good rules when such an edit lands
    _edit(rules, good + "    keywords: [天然气味]\n")
    assert rules.check("", "楼道里燃气泄漏了").id == "gas"  # type: ignore[union-attr]


def test_a_lexicon_with_a_category_written_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text("categories:\n  交通运输: [公交]\n  交通运输: [地铁]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="键「交通运输」重复"):
        load_lexicon(path)
