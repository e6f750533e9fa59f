"""热点诉求: near-duplicates about one place make one cluster, other places and other matters stay apart;
the heat index; the `hotline hot-topics` command; the topics kept on the product's tickets."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner

from dashboards.hot_topics import Appeal, PlaceReader, cluster, heat_of

TODAY = date(2026, 11, 20)

# Written for this test: one matter at 翠湖花园 said five ways by five citizens this week, the same
# matter at 锦绣家园 (four citizens, two weeks ago), another matter at 翠湖花园, and three strays.
APPEALS = [
    (1, 0, "翠湖花园旁工地夜间施工噪音扰民", "翠湖花园旁边的工地每天晚上十一点还在打桩，噪音太大，老人孩子都睡不着。"),
    (2, 1, "投诉翠湖花园附近工地晚上施工", "翠湖花园小区附近工地夜里施工，机器轰鸣，严重影响休息，请查处。"),
    (3, 2, "翠湖花园小区工地夜间噪音", "我是翠湖花园业主，隔壁工地深夜施工噪音扰民已经一个月了。"),
    (4, 3, "翠湖花园旁边工地半夜施工太吵", "翠湖花园旁的建筑工地半夜还在浇筑混凝土，噪音很大，请管一管。"),
    (5, 4, "翠湖花园周边工地夜间违规施工", "翠湖花园周边工地夜间违规施工，噪音扰民，希望城管执法。"),
    (6, 14, "锦绣家园旁工地夜间施工噪音扰民", "锦绣家园旁边的工地每天晚上十一点还在打桩，噪音太大，老人孩子都睡不着。"),
    (7, 15, "投诉锦绣家园附近工地晚上施工", "锦绣家园小区附近工地夜里施工，机器轰鸣，严重影响休息，请查处。"),
    (8, 15, "锦绣家园小区工地夜间噪音", "我是锦绣家园业主，隔壁工地深夜施工噪音扰民已经一个月了。"),
    (9, 16, "锦绣家园旁边工地半夜施工太吵", "锦绣家园旁的建筑工地半夜还在浇筑混凝土，噪音很大，请管一管。"),
    (10, 1, "翠湖花园物业乱收停车费", "翠湖花园物业公司擅自上调停车费，每月多收一百元，业主不同意。"),
    (11, 2, "翠湖花园物业停车收费不合理", "翠湖花园小区物业私自提高停车收费标准，没有公示，请物价部门核查。"),
    (12, 3, "咨询社保转移接续办理", "本人从外地来本市工作，想咨询养老保险关系怎么转移接续。"),
    (13, 5, "建议增设公交站点", "人民路沿线居民较多，建议增设一个公交站点，方便老人出行。"),
    (14, 6, "超市销售过期牛奶", "在解放路一家超市买到过期牛奶，店家拒绝退换，请市场监管部门查处。"),
]


def appeals() -> list[Appeal]:
    return [
        Appeal(id=i, day=TODAY - timedelta(days=ago), title=title, text=text, likes=i % 3, citizen=1000 + i)
        for i, ago, title, text in APPEALS
    ]


def test_places_are_read_from_titles() -> None:
    read = PlaceReader()
    assert "魅力之城小区" in read("A5区劳动东路魅力之城小区临街门面油烟扰民")
    assert "丽发新城" in read("A市万家丽南路丽发新城居民区附近搅拌站扰民")
    assert read("A市经开区泉星公园项目规划进一步优化")[0].startswith("泉星公园")
    assert PlaceReader(["和平路88号"])("东城区和平路88号楼下烧烤")[0] == "和平路88号"  # the gazetteer first


def test_one_place_one_matter_one_cluster_and_other_places_apart() -> None:
    topics = cluster(appeals())
    by_ids = {tuple(sorted(t.ids)): t for t in topics}
    assert (1, 2, 3, 4, 5) in by_ids  # the five ways of saying it at 翠湖花园
    assert (6, 7, 8, 9) in by_ids  # the same words at 锦绣家园 are another topic
    assert (10, 11) in by_ids  # another matter at 翠湖花园 too
    cuihu = by_ids[(1, 2, 3, 4, 5)]
    assert cuihu.place is not None and cuihu.place.startswith("翠湖花园")
    assert cuihu.first == TODAY - timedelta(days=4) and cuihu.last == TODAY
    assert cuihu.rising and not by_ids[(6, 7, 8, 9)].rising  # 5 this week against none before
    assert topics[0] is cuihu  # more citizens, and rising
    assert all(len(t.ids) >= 2 for t in topics)  # strays are no topic


def test_the_heat_index() -> None:
    parts = heat_of(citizens=5, appeals=6, support=10, this_week=5, last_week=0)
    assert parts["heat"] == round(10 * 1.791759 + 2 * 1.945910 + 3 * 2.397895 + 5 * 1.791759, 1)
    assert heat_of(citizens=5, appeals=6, support=0, this_week=1, last_week=4)["rise"] == 0.0  # never negative
    one_voice = heat_of(citizens=1, appeals=10, support=0, this_week=0, last_week=0)["heat"]
    ten_voices = heat_of(citizens=10, appeals=10, support=0, this_week=0, last_week=0)["heat"]
    assert ten_voices > one_voice  # ten citizens weigh more than one citizen calling ten times


def test_the_command_prints_the_top_clusters_as_json(tmp_path: Path) -> None:
    from hotline.cli import main

    data = tmp_path / "appeals.csv"
    lines = ["id,date,title,text,likes"]
    for i, ago, title, text in APPEALS:
        lines.append(f"{i},{(TODAY - timedelta(days=ago)):%Y/%m/%d} 10:00:00,{title},{text},{i}")
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["hot-topics", "--data", str(data), "--top", "2"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert len(printed) == 2 and sorted(printed[0]["ids"]) == [1, 2, 3, 4, 5]
    assert set(printed[0]) >= {"title", "place", "heat", "first", "last", "size", "ids"}
    assert printed[0]["first"] == "2026-11-16" and printed[0]["size"] == 5

    bad = tmp_path / "bad.csv"
    bad.write_text("id,title\n1,x\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["hot-topics", "--data", str(bad)])
    assert refused.exit_code == 2 and "date" in refused.output
