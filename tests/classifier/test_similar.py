"""并单 candidates."""

from __future__ import annotations

from datetime import datetime, timedelta

from classifier import Candidate, find_similar

NOW = datetime(2025, 6, 1, 12, 0)
TEXT = "阳光花园小区3栋楼下烧烤店油烟直排，每天营业到凌晨，严重扰民"


def cands() -> list[tuple[str, str, str | None, datetime]]:
    return [
        (
            "same",
            "阳光花园3栋楼下的烧烤店油烟直排，营业到凌晨两点，吵得睡不着",
            "阳光花园小区3栋",
            NOW - timedelta(days=2),
        ),
        ("other-place", "锦绣家园楼下烧烤店油烟直排，每天营业到凌晨，扰民", "锦绣家园", NOW - timedelta(days=1)),
        ("unrelated", "请问公租房申请需要哪些材料", "阳光花园小区", NOW - timedelta(days=1)),
        (
            "too-old",
            "阳光花园小区3栋楼下烧烤店油烟直排，每天营业到凌晨，严重扰民",
            "阳光花园小区",
            NOW - timedelta(days=90),
        ),
        ("no-place", "阳光花园小区楼下烧烤店油烟扰民，营业到凌晨", None, NOW - timedelta(days=5)),
    ]


def test_same_matter_ranks_first_and_scores_are_bounded() -> None:
    got = find_similar(TEXT, cands(), place="阳光花园小区3栋", now=NOW)
    ids = [m.id for m in got]
    assert ids[0] == "same"
    assert "unrelated" not in ids and "too-old" not in ids
    assert all(0.0 <= m.score <= 1.0 for m in got)
    assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)
    by = {m.id: m for m in got}
    assert by["same"].place_similarity == 1.0
    if "other-place" in by:
        assert by["other-place"].score < by["same"].score
    assert by["no-place"].place_similarity is None


def test_place_and_recency_matter() -> None:
    near = find_similar(TEXT, [("a", TEXT, "阳光花园", NOW - timedelta(hours=1))], place="阳光花园", now=NOW)
    far = find_similar(TEXT, [("a", TEXT, "翠湖苑", NOW - timedelta(hours=1))], place="阳光花园", now=NOW, min_score=0)
    older = find_similar(TEXT, [("a", TEXT, "阳光花园", NOW - timedelta(days=25))], place="阳光花园", now=NOW)
    assert near[0].score > older[0].score > far[0].score
    assert near[0].score > 0.95  # identical text, same place, an hour ago


def test_accepts_candidate_objects_and_handles_empty_input() -> None:
    c = Candidate("x", TEXT, "阳光花园", NOW)
    assert find_similar(TEXT, [c], place="阳光花园", now=NOW)[0].id == "x"
    assert find_similar("", [c], now=NOW) == []
    assert find_similar(TEXT, [], now=NOW) == []
    assert find_similar(TEXT, [c], now=NOW, window_days=1, min_score=0.0)[0].to_dict()["id"] == "x"
