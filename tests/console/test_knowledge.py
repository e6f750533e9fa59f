"""The knowledge base's pages (/console/knowledge) in headless Chromium against the product on
PostgreSQL: a department proposes an article, agents do not see it until the hotline approves it
in the queue, then an agent finds it with the words highlighted; an edit is a new version and the
article page lists both. On the agent's desk, an agent answers a caller by 直办 from an article."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Ticket
from knowledge import articles
from knowledge.articles import ArticleFields
from knowledge.demo import seed_articles
from knowledge.models import KnowledgeArticle, KnowledgeUse, KnowledgeVersion
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser, shot
from tests.dispatch.conftest import City

pytestmark = [pytest.mark.browser]

TITLE = "共享单车停放投诉处理时限"
BODY = "共享单车乱停放、堵塞盲道的，城管部门接到派单后两小时内到场清理，并通知运营企业调度。"


def test_a_proposal_is_approved_in_the_queue_and_found_highlighted(pg: tuple[Session, Org], browser: Browser) -> None:
    from playwright.sync_api import expect

    session, org = pg
    page = browser.login("cgj", PASSWORD, "/knowledge/new")
    page.fill("[data-test=kb-title]", TITLE)
    browser.choose(page, "业务领域", "城市管理")
    page.fill("[data-test=kb-body]", BODY)
    page.click("[data-test=kb-propose]")
    expect(page.locator("[data-test=kb-article-title]")).to_have_text(TITLE)
    expect(page.locator("[data-test=kb-versions]")).to_contain_text("待审核")
    article = session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.title == TITLE))
    assert article is not None and article.status == "proposed" and article.department_id == org.dept["cgj"]

    # an agent does not find it yet
    agent = Browser(browser.context, browser.base)
    agent.login("agent", PASSWORD, "/knowledge?q=单车")
    expect(agent.page.locator(".el-empty")).to_be_visible()

    # the supervisor approves it from the queue
    supervisor = Browser(browser.context, browser.base)
    queue = supervisor.login("supervisor", PASSWORD, "/knowledge/versions")
    queue.locator("[data-test=kb-queue] tr", has_text=TITLE).click()
    expect(queue.locator("[data-test=kb-version-body]")).to_have_text(BODY)
    queue.click("[data-test=kb-approve]")
    expect(queue.locator("[data-test=kb-queue]")).to_contain_text("没有稿件")
    session.expire_all()
    assert session.get(KnowledgeArticle, article.id).status == "approved"  # type: ignore[union-attr]

    agent.open("/knowledge?q=单车 两小时")
    hit = agent.page.locator("[data-test=kb-hit]")
    expect(hit).to_have_count(1)
    expect(hit.locator("em", has_text="单车").first).to_be_visible()
    expect(hit.locator(".passage em", has_text="小时")).to_be_visible()  # 两小时: 两, 小时
    shot(agent.page, "knowledge-search.png")
    hit.locator("a").click()
    expect(agent.page.locator("[data-test=kb-article-body]")).to_have_text(BODY)
    expect(agent.page.locator("[data-test=kb-edit]")).to_have_count(0)  # an agent does not edit

    # the department edits it: a new version, the old one kept
    page.click("[data-test=kb-edit]")
    page.fill("[data-test=kb-body]", BODY.replace("两小时", "一小时"))
    page.fill("[data-test=kb-change-note]", "处置时限缩短")
    page.click("[data-test=kb-propose]")
    versions = page.locator("[data-test=kb-versions] tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("待审核")
    expect(versions.nth(1)).to_contain_text("已发布")
    numbers = session.scalars(
        select(KnowledgeVersion.number).where(KnowledgeVersion.article_id == article.id).order_by(KnowledgeVersion.id)
    ).all()
    assert list(numbers) == [1, 2]
    expect(page.locator("[data-test=kb-article-body]")).to_have_text(BODY)  # still the approved text

    for who in (browser, agent, supervisor):
        assert who.csp_violations() == []
        assert who.unexpected_problems() == []


def test_an_agent_answers_a_caller_by_direct_answer_from_an_article(
    browser: Browser, console_city: tuple[Session, City]
) -> None:
    """直办 from the knowledge panel beside the intake form: the ticket is registered and closed as
    直办 with the article that answered, whose usage count goes up."""
    from playwright.sync_api import expect

    session, city = console_city
    assert seed_articles(session) >= 80  # the demo city's knowledge base
    fields = ArticleFields(title=TITLE, body=BODY, category="城市管理", department_id=city.dept["cgj"])
    version = articles.write_article(session, city.user(session, "admin"), fields, propose=True)
    articles.approve_version(session, city.user(session, "admin"), version.id)
    session.commit()

    page = browser.login("agent", PASSWORD, "/agent")
    page.fill("input[data-test=intake-phone]", "13912345670")
    page.fill("input[data-test=intake-title]", "咨询共享单车乱停放")
    page.fill("textarea[data-test=intake-content]", "小区门口共享单车堆满了人行道，问多久能清理。")
    page.locator(".el-tabs__item", has_text="知识库").click()
    panel = page.locator("[data-test=knowledge-panel]")
    search = panel.locator("input[data-test=knowledge-search]")
    search.fill("办公时间")  # the demo city's service halls
    expect(panel.locator("[data-test=knowledge-hit]").nth(2)).to_be_visible()
    shot(page, "knowledge-agent-search.png")
    search.fill("单车 停放")
    hit = panel.locator("[data-test=knowledge-hit]")
    expect(hit).to_have_count(1)
    expect(hit.locator("em", has_text="单车").first).to_be_visible()
    hit.locator(".kp-head").click()
    expect(panel.locator("[data-test=knowledge-article]")).to_contain_text("两小时内到场清理")
    shot(page, "knowledge-agent.png")
    panel.locator("[data-test=knowledge-use]").click()
    dialog = page.locator(".el-message-box")
    expect(dialog).to_contain_text("直办")
    dialog.locator("textarea").fill("已告知城管部门两小时内到场清理。")
    dialog.get_by_role("button", name="直办并办结").click()
    expect(page.locator("[data-test=registered]")).to_contain_text(re.compile(r"\d{8}-\d{6}"))
    # the form is clear for the next appeal
    expect(page.locator("input[data-test=intake-title]")).to_have_value("")

    session.expire_all()
    ticket = session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket is not None and ticket.title == "咨询共享单车乱停放"
    assert (ticket.status, ticket.resolution) == ("closed", "direct")
    assert ticket.answer_text == "已告知城管部门两小时内到场清理。"
    use = session.scalars(select(KnowledgeUse)).one()
    assert (use.article_id, use.ticket_id) == (version.article_id, ticket.id)
    assert session.get(KnowledgeArticle, version.article_id).usage_count == 1  # type: ignore[union-attr]

    # the ticket's timeline names the article; the article lists the ticket among its uses
    browser.open(f"/tickets/{ticket.id}")
    page.locator("[data-test=timeline-article]").click()
    expect(page.locator("[data-test=kb-article-title]")).to_have_text(TITLE)
    expect(page.locator("[data-test=kb-uses]")).to_contain_text(ticket.number)
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []
