"""The condition language and the gazetteer, pure (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dispatch.gazetteer import Gazetteer, GazetteerError, Unit, parse_entries
from dispatch.rules import (
    CompiledRule,
    Facts,
    RuleError,
    count_leaves,
    evaluate,
    normalize_text,
    precedence,
    validate_conditions,
    validate_rule,
)

REPO = Path(__file__).resolve().parents[2]


def facts(text: str, **kw: object) -> Facts:
    return Facts(text=normalize_text(text), **kw)  # type: ignore[arg-type]


def test_all_any_none_and_nesting() -> None:
    cond = validate_conditions(
        {
            "all": [{"keywords": ["工资"]}, {"any": [{"keywords": ["工地"]}, {"enterprise": True}]}],
            "none": [{"keywords": ["咨询政策"]}],
        }
    )
    assert evaluate(cond, facts("工地拖欠工资三个月"))
    assert evaluate(cond, facts("公司拖欠工资", enterprise=True))
    assert not evaluate(cond, facts("公司拖欠工资"))  # neither 工地 nor 涉企
    assert not evaluate(cond, facts("工地工资咨询政策"))  # none of
    assert not evaluate(cond, facts("工地没活干"))  # all of


def test_leaf_keys_combine_as_all_of() -> None:
    cond = validate_conditions({"keywords": ["路灯"], "appeal_type": ["help", "complaint"], "channel": ["phone"]})
    assert evaluate(cond, facts("路灯不亮", appeal_type="help", channel="phone"))
    assert not evaluate(cond, facts("路灯不亮", appeal_type="consult", channel="phone"))
    assert not evaluate(cond, facts("路灯不亮", appeal_type="help", channel="web"))


def test_place_category_regex_and_keywords_all() -> None:
    cond = validate_conditions(
        {
            "all": [
                {"district": ["dc"]},
                {"category": ["城市管理"]},
                {"regex": "水压.{0,2}小"},
                {"keywords_all": ["高层", "晚上"]},
            ]
        }
    )
    hit = facts("高层晚上水压很小", district="dc", category="城市管理")
    assert evaluate(cond, hit) and "水压很小" in hit.matched
    assert not evaluate(cond, facts("高层晚上水压很小", district="xc", category="城市管理"))
    assert evaluate(validate_conditions({"has_place": False}), facts("x"))


def test_full_width_and_spaces_are_normalised() -> None:
    cond = validate_conditions({"keywords": ["KTV"]})
    assert evaluate(cond, facts("楼下 ＫＴＶ 太吵"))


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ({"all": []}, "非空列表"),
        ({"all": [{"keywords": ["a"]}], "keywords": ["b"]}, "混用"),
        ({"colour": ["red"]}, "未知条件"),
        ({"appeal_type": ["grumble"]}, "取值无效"),
        ({"regex": "(("}, "regex 无效"),
        ({"enterprise": "yes"}, "true 或 false"),
        ({"keywords": [996]}, "非空字符串列表"),
    ],
)
def test_malformed_conditions_are_refused(cond: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        validate_conditions(cond)


def test_rule_validation_checks_department_codes_and_duplicates() -> None:
    base = {"code": "R1", "name": "测试", "when": {"keywords": ["a"]}, "primary": "cgj"}
    assert validate_rule(base, {"cgj"})["assists"] == []
    with pytest.raises(RuleError, match="不存在"):
        validate_rule({**base, "primary": "nope"}, {"cgj"})
    with pytest.raises(RuleError, match="重复"):
        validate_rule({**base, "assists": ["cgj"]}, {"cgj"})
    assert validate_rule({**base, "primary": "@street", "assists": ["cgj"]}, {"cgj"})["primary"] == "@street"


def _rule(
    code: str, priority: int, when: dict[str, object], primary: str = "cgj", assists: tuple[str, ...] = ()
) -> CompiledRule:
    cond = validate_conditions(when)
    return CompiledRule(None, code, code, priority, cond, primary, assists, 0.9, count_leaves(cond))


def test_precedence_priority_then_specificity_then_code() -> None:
    broad = _rule("B", 50, {"keywords": ["噪音"]})
    specific = _rule("A", 50, {"all": [{"keywords": ["噪音"]}, {"keywords": ["工地"]}]})
    high = _rule("C", 70, {"keywords": ["夜间"]})
    assert [r.code for r in sorted([broad, specific, high], key=precedence)] == ["C", "A", "B"]


def test_modes() -> None:
    assert _rule("a", 1, {"keywords": ["x"]}, "@street").mode == "属地"
    assert _rule("b", 1, {"keywords": ["x"]}, "cgj").mode == "行业"
    assert _rule("c", 1, {"keywords": ["x"]}, "@street", ("fgj",)).mode == "双交办"
    assert _rule("d", 1, {"keywords": ["x"]}, "rsj", ("@street",)).mode == "双交办"


# ---------------------------------------------------------------- gazetteer


def demo_units() -> dict[str, Unit]:
    data = yaml.safe_load((REPO / "hotline/demo/org.yaml").read_text(encoding="utf-8"))
    units: dict[str, Unit] = {}
    for d in data["districts"]:
        units[d["code"]] = Unit(d["code"], "district", None)
        for s in d["streets"]:
            units[s["code"]] = Unit(s["code"], "street", d["code"])
            for c in s["communities"]:
                units[c["code"]] = Unit(c["code"], "community", s["code"])
    return units


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    text = (REPO / "dispatch/data/gazetteer.yaml").read_text(encoding="utf-8")
    return Gazetteer(parse_entries(text), demo_units())


def test_every_gazetteer_code_is_a_demo_territorial_unit() -> None:
    units = demo_units()
    rows = parse_entries((REPO / "dispatch/data/gazetteer.yaml").read_text(encoding="utf-8"))
    assert len(rows) > 150
    assert {code for _, _, code in rows} <= set(units)


def test_longest_match_down_to_the_community(gaz: Gazetteer) -> None:
    place = gaz.resolve("东城区和平街道和平路88号新苑小区3栋")
    assert (place.district, place.street, place.community) == ("dc", "dc.hp", "dc.hp.xy")
    assert "和平街道" in place.matched and not place.ambiguous and not place.conflict
    assert gaz.resolve("滨湖花园5栋").community == "dc.dh.bh"  # a 小区 alone is enough
    assert gaz.resolve("科技城地铁站B口").street == "xq.kj"  # a landmark
    assert gaz.resolve("高新技术开发区").district == "xq"  # an alias


def test_a_road_in_two_districts_is_settled_by_another_name(gaz: Gazetteer) -> None:
    alone = gaz.resolve("人民路")
    assert alone.ambiguous and alone.district is None
    assert gaz.resolve("西城区人民路").street == "xc.cy"
    assert gaz.resolve("人民路与胜利街交叉口").street == "dc.hp"


def test_conflicting_names_prefer_the_finest_and_say_so(gaz: Gazetteer) -> None:
    place = gaz.resolve("东城区悦来小区")
    assert place.community == "xc.jk.yl" and place.conflict


def test_nothing_known(gaz: Gazetteer) -> None:
    assert gaz.resolve("火星基地").district is None
    assert gaz.resolve(None).level is None


def test_csv_gazetteer_and_errors() -> None:
    rows = parse_entries("name,kind,department_code\n幸福里,compound,dc.hp.xy\n", "csv")
    assert rows == [("幸福里", "compound", "dc.hp.xy")]
    with pytest.raises(GazetteerError):
        parse_entries("name,kind\n幸福里,compound\n", "csv")
    with pytest.raises(GazetteerError):
        parse_entries("places: {dc: {planet: [火星]}}")
