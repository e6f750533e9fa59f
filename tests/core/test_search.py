"""Full-text search of tickets on PostgreSQL and SQLite: the same words find the same tickets."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.enums import AppealType, Channel
from hotline.fulltext import highlight, query_groups
from hotline.service import TicketFilter, list_tickets
from tests.conftest import Org
from tests.core.factory import user

APPEALS = {
    "noise_jiefang": ("解放路夜市噪音扰民", "每晚十点后夜市音响声音很大，噪音严重影响休息。", "东城区解放街道解放路"),
    "noise_heping": ("楼上装修噪音", "和平街道新苑小区楼上天天装修，电钻噪音大。", "东城区和平街道新苑小区"),
    "wages": ("公司拖欠工资三个月", "科技城一家公司拖欠工资三个月，老板失联。", "高新区科技城街道"),
    "wages_apart": ("工地老板不给钱", "在工地干活，老板拖欠了我们三个月的工资。", None),
    "lamp": ("解放路路灯不亮", "解放路上的路灯坏了一周了，晚上很黑。", "东城区解放街道解放路"),
}


def _register(session: Session, org: Org, key: str) -> int:
    title, content, address = APPEALS[key]
    ticket = lifecycle.register_ticket(
        session,
        user(session, org, "agent"),
        lifecycle.NewAppeal(
            title=title,
            content=content,
            address=address,
            appeal_type=AppealType.complaint,
            channel=Channel.web,
            category="城市管理",
        ),
    )
    session.commit()
    return ticket.id


def _search(session: Session, org: Org, q: str) -> list[int]:
    items, total, _exact = list_tickets(session, user(session, org, "supervisor"), TicketFilter(q=q), 1, 50)
    assert total == len(items)
    return [t.id for t in items]


def test_words_find_tickets_on_both_databases(db: tuple[Session, Org]) -> None:
    session, org = db
    ids = {key: _register(session, org, key) for key in APPEALS}

    assert set(_search(session, org, "噪音")) == {ids["noise_jiefang"], ids["noise_heping"]}
    # several words: all of them (the address counts as text too)
    assert _search(session, org, "解放路 噪音") == [ids["noise_jiefang"]]
    assert set(_search(session, org, "解放路")) == {ids["noise_jiefang"], ids["lamp"]}
    # a long word is also found as the words inside it
    assert set(_search(session, org, "拖欠工资")) == {ids["wages"], ids["wages_apart"]}
    assert _search(session, org, "路灯") == [ids["lamp"]]
    # nothing that is not there; punctuation alone is no query
    assert _search(session, org, "燃气") == []
    assert _search(session, org, "？！") == []
    # a word in the title ranks above the same word only in the content
    assert _search(session, org, "噪音")[0] in {ids["noise_jiefang"], ids["noise_heping"]}


def test_ticket_number_and_its_first_digits(db: tuple[Session, Org]) -> None:
    session, org = db
    first = _register(session, org, "lamp")
    number = session.execute(text("SELECT number FROM tickets WHERE id = :i"), {"i": first}).scalar_one()
    assert _search(session, org, number) == [first]
    assert _search(session, org, number.replace("-", "")) == [first]
    assert first in _search(session, org, number[:8])
    assert _search(session, org, number[:8] + "-999999") == []


def test_document_follows_the_text(db: tuple[Session, Org]) -> None:
    """The document is kept on write: a changed title is found by its new words, not the old."""
    session, org = db
    ticket_id = _register(session, org, "lamp")
    session.execute(text("SELECT 1"))
    from hotline.models import Ticket

    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    ticket.title = "红旗路井盖丢失"
    session.commit()
    assert _search(session, org, "井盖") == [ticket_id]
    assert _search(session, org, "路灯") == [ticket_id]  # still in the content
    assert _search(session, org, "红旗路 路灯") == [ticket_id]


def test_query_groups_and_highlight() -> None:
    assert query_groups("拖欠工资") == [[["拖欠工资"], ["拖欠", "工资"]]]
    assert query_groups("解放路  噪音") == [[["解放路"]], [["噪音"]]]
    assert query_groups("，。！") == []
    assert highlight("解放路<b>噪音</b>", "噪音") == "解放路&lt;b&gt;<em>噪音</em>&lt;/b&gt;"


def test_totals_are_exact_up_to_a_limit_then_estimated(db: tuple[Session, Org]) -> None:
    from sqlalchemy import select

    from hotline.models import Ticket
    from hotline.service import count_rows

    session, org = db
    for key in APPEALS:
        _register(session, org, key)
    assert count_rows(session, select(Ticket), exact_up_to=10) == (5, True)
    total, exact = count_rows(session, select(Ticket), exact_up_to=3)
    if session.get_bind().dialect.name == "postgresql":
        assert exact is False and total >= 4  # the planner's estimate, never below the counted floor
    else:
        assert (total, exact) == (5, True)  # the embedded database counts: it holds a small center


def test_a_search_matching_many_ranks_its_newest_matches(
    pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the exact count (1,000 rows at a city's scale; 1 here) a search ranks only its newest
    matches, and the total is the planner's estimate."""
    from hotline import service

    session, org = pg
    older = _register(session, org, "noise_jiefang")
    newer = _register(session, org, "noise_heping")
    monkeypatch.setattr(service, "EXACT_COUNT_UP_TO", 1)
    monkeypatch.setattr(service, "RANKED_MATCHES", 1)
    items, total, exact = list_tickets(session, user(session, org, "supervisor"), TicketFilter(q="噪音"), 1, 20)
    assert [t.id for t in items] == [newer] and older != newer
    assert exact is False and total >= 2
