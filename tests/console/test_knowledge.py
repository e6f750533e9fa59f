"""The knowledge base's pages (/console/knowledge) in headless Chromium against the product on
PostgreSQL: a department proposes an article, agents do not see it until the hotline approves it
in the queue, then an agent finds it with the words highlighted; an edit is a new version and the
article page lists both."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import KnowledgeArticle, KnowledgeVersion
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser

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
