"""The knowledge base on PostgreSQL and SQLite: search ranking and highlights, the approval flow
(every version kept), who may propose and approve, and 直办 from an article with its usage count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.models import Department, TimelineEvent
from knowledge import articles
from knowledge.articles import ArticleFields
from knowledge.demo import load_articles, seed_articles
from knowledge.models import KnowledgeUse
from knowledge.search import ArticleQuery, search_articles
from tests.conftest import Org
from tests.core.factory import register, user


def _publish(session: Session, org: Org, title: str, body: str, dept: str = "zjj", **extra: object) -> int:
    fields = ArticleFields(title=title, body=body, category="住房", department_id=org.dept[dept], **extra)  # type: ignore[arg-type]
    version = articles.write_article(session, user(session, org, dept), fields, propose=True)
    articles.approve_version(session, user(session, org, "supervisor"), version.id)
    session.commit()
    return version.article_id


def _found(session: Session, org: Org, q: str, who: str = "agent", scope: str = "offered") -> list[int]:
    items, total = search_articles(session, user(session, org, who), ArticleQuery(q=q, scope=scope), 1, 50)
    assert total == len(items)
    return [i["id"] for i in items]


def test_search_ranks_title_first_needs_all_words_and_highlights(db: tuple[Session, Org]) -> None:
    session, org = db
    in_body = _publish(
        session, org, "住房公积金提取须知", "租房提取公积金每年一次。装修老旧住宅时也可以申请提取，需提供装修合同。"
    )
    in_title = _publish(session, org, "老旧小区装修备案办理流程", "到街道城建科填写备案表，携带房产证复印件。")
    other = _publish(session, org, "物业服务收费标准", "多层住宅每月每平方米一元。")

    assert _found(session, org, "装修") == [in_title, in_body]  # the title's word ranks first
    assert _found(session, org, "装修 合同") == [in_body]  # several words: all of them
    assert _found(session, org, "装修 收费") == []
    assert _found(session, org, "物业收费") == [other]  # a long word as the words inside it
    assert _found(session, org, "？！") == []

    items, _ = search_articles(session, user(session, org, "agent"), ArticleQuery(q="装修 合同"), 1, 10)
    assert items[0]["title_html"] == "住房公积金提取须知"
    assert "<em>装修</em>" in items[0]["passage_html"] and "<em>合同</em>" in items[0]["passage_html"]


def test_a_proposal_is_offered_only_once_approved_and_every_version_is_kept(db: tuple[Session, Org]) -> None:
    session, org = db
    zjj, supervisor = user(session, org, "zjj"), user(session, org, "supervisor")
    fields = ArticleFields(title="城镇燃气入户安检时间", body="每年入户安检一次，安检员持证上门。", category="住房")
    draft = articles.write_article(session, zjj, fields, propose=False)
    session.commit()
    article_id = draft.article_id
    assert _found(session, org, "安检") == []
    assert _found(session, org, "安检", who="zjj", scope="all") == [article_id]  # its department sees its draft
    with pytest.raises(NotFound):
        articles.get_article(session, user(session, org, "agent"), article_id)
    with pytest.raises(Conflict):  # a draft is not in the queue yet
        articles.approve_version(session, supervisor, draft.id)
    articles.propose_version(session, zjj, draft.id)
    assert _found(session, org, "安检") == []  # proposed: still not offered
    articles.approve_version(session, supervisor, draft.id, "同意")
    session.commit()
    assert _found(session, org, "安检") == [article_id]

    # an edit is a new version; agents keep the old text until it is approved
    edit = articles.write_version(
        session,
        zjj,
        articles.get_article(session, zjj, article_id),
        ArticleFields(
            title="城镇燃气入户安检时间",
            body="每两年入户安检一次，预约电话96777。",
            category="住房",
            change_note="安检周期调整",
        ),
        propose=True,
    )
    session.commit()
    assert edit.number == 2
    assert _found(session, org, "预约") == []
    with pytest.raises(Conflict):  # one open version at a time
        articles.write_version(session, zjj, articles.get_article(session, zjj, article_id), fields, propose=True)
    articles.approve_version(session, supervisor, edit.id)
    session.commit()
    assert _found(session, org, "预约") == [article_id]
    assert _found(session, org, "每年") == []
    article = articles.get_article(session, user(session, org, "agent"), article_id)
    assert article.current_version == 2
    history = articles.versions_of(session, user(session, org, "agent"), article)
    assert [(v.number, v.status) for v in history] == [(2, "approved"), (1, "superseded")]
    assert "每年入户安检一次" in history[1].body

    # a rejected proposal leaves the article as it was, with the reason kept
    third = articles.write_version(
        session, zjj, article, ArticleFields(title="燃气安检", body="取消安检。", category="住房"), propose=True
    )
    with pytest.raises(InvalidInput):
        articles.reject_version(session, supervisor, third.id, " ")
    articles.reject_version(session, supervisor, third.id, "与现行规定不符")
    session.commit()
    assert articles.get_article(session, zjj, article_id).body.startswith("每两年")
    assert [v.status for v in articles.versions_of(session, zjj, article)] == ["rejected", "approved", "superseded"]

    articles.withdraw_article(session, supervisor, article)
    session.commit()
    assert _found(session, org, "预约") == []


def test_validity_dates(db: tuple[Session, Org]) -> None:
    session, org = db
    day = articles.today()
    expired = _publish(session, org, "旧补贴政策", "补贴申领", valid_to=day - timedelta(days=1))
    future = _publish(session, org, "新补贴政策", "补贴申领", valid_from=day + timedelta(days=1))
    current = _publish(session, org, "现行补贴政策", "补贴申领", valid_from=day, valid_to=day)
    assert _found(session, org, "补贴") == [current]
    states = {
        i["id"]: i["state"]
        for i in search_articles(session, user(session, org, "supervisor"), ArticleQuery(q="补贴", scope="all"), 1, 10)[
            0
        ]
    }
    assert states == {expired: "expired", future: "not_yet_valid", current: "offered"}
    lasting = _publish(session, org, "长期补贴政策", "补贴申领", valid_to=day + timedelta(days=90))
    expiring = search_articles(
        session, user(session, org, "zjj"), ArticleQuery(scope="all", expiring_within=30), 1, 10
    )[0]
    assert [i["id"] for i in expiring] == [current]  # today's last day; not the expired, not in 90 days
    assert lasting in _found(session, org, "补贴")
    with pytest.raises(InvalidInput):
        articles.write_article(
            session,
            user(session, org, "zjj"),
            ArticleFields(title="t", body="b", category="住房", valid_from=day, valid_to=day - timedelta(days=1)),
            propose=False,
        )


def test_who_may_propose_and_approve(db: tuple[Session, Org]) -> None:
    session, org = db
    fields = ArticleFields(title="噪音投诉处理时限", body="接到投诉后两个工作日内处理。", category="城市管理")
    for who in ("agent", "dispatcher", "callback"):
        with pytest.raises(Forbidden):
            articles.write_article(session, user(session, org, who), fields, propose=True)
    with pytest.raises(Forbidden):  # a department writes for itself, not for another one
        articles.write_article(
            session,
            user(session, org, "zjj"),
            ArticleFields(title="t", body="b", category="住房", department_id=org.dept["cgj"]),
            propose=True,
        )
    # a district head writes for a street below it
    below = articles.write_article(
        session,
        user(session, org, "dc_head"),
        ArticleFields(
            title="和平街道办事处办公时间",
            body="工作日 8:30-17:30。",
            category="政务服务",
            department_id=org.dept["dc.hp"],
        ),
        propose=True,
    )
    version = articles.write_article(session, user(session, org, "cgj"), fields, propose=True)
    session.commit()
    for who in ("cgj", "agent", "dispatcher", "dc_head"):
        with pytest.raises(Forbidden):
            articles.approve_version(session, user(session, org, who), version.id)
    article = articles.get_article(session, user(session, org, "cgj"), version.article_id)
    with pytest.raises(Forbidden):  # another department may not edit it
        articles.write_version(session, user(session, org, "zjj"), article, fields, propose=True)
    with pytest.raises(NotFound):  # nor even read it before it is approved
        articles.get_article(session, user(session, org, "zjj"), version.article_id)
    articles.approve_version(session, user(session, org, "admin"), version.id)
    articles.approve_version(session, user(session, org, "supervisor"), below.id)
    session.commit()
    assert articles.get_article(session, user(session, org, "zjj"), version.article_id).status == "approved"
    with pytest.raises(InvalidInput):
        articles.write_article(
            session, user(session, org, "cgj"), ArticleFields(title="t", body="b", category="不存在"), propose=True
        )


def test_direct_answer_from_an_article_counts_its_use(db: tuple[Session, Org]) -> None:
    session, org = db
    article_id = _publish(session, org, "公积金贷款额度", "最高贷款额度60万元。")
    agent = user(session, org, "agent")
    ticket = register(session, org, title="咨询公积金贷款额度")
    session.commit()
    lifecycle.answer_directly(
        session, ticket, agent, version=ticket.version, answer="已告知最高60万元", article_id=article_id
    )
    session.commit()
    assert ticket.status == "closed" and ticket.resolution == "direct"
    event = session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id)).all()[-1]
    assert event.action == "answer_directly"
    assert event.data == {"article_id": article_id}
    use = session.scalars(select(KnowledgeUse)).one()
    assert (use.article_id, use.ticket_id, use.version_number) == (article_id, ticket.id, 1)
    assert articles.get_article(session, agent, article_id).usage_count == 1

    # an article not offered answers nothing, and the ticket stays registered
    withdrawn = _publish(session, org, "旧额度", "40万元")
    articles.withdraw_article(
        session, user(session, org, "supervisor"), articles.get_article(session, agent, withdrawn)
    )
    second = register(session, org, title="咨询额度")
    session.commit()
    with pytest.raises(InvalidInput):
        lifecycle.answer_directly(session, second, agent, version=second.version, answer="40万", article_id=withdrawn)
    session.rollback()
    session.refresh(second)
    assert second.status == "registered"
    assert session.scalars(select(KnowledgeUse)).all() == [use]


def test_demo_articles_load(db: tuple[Session, Org]) -> None:
    session, org = db
    entries = load_articles()
    assert len(entries) >= 80
    assert len({e["title"] for e in entries}) == len(entries)
    # the articles of the departments the database has load (the test organisation has some of
    # the demo's; the run's PostgreSQL may hold the whole demo city), once
    codes = set(session.scalars(select(Department.code)))
    count = seed_articles(session)
    session.commit()
    assert count == sum(1 for e in entries if e["department"] in codes) > 0
    assert seed_articles(session) == 0
