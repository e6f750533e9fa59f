"""The dispatchers' pages (/console/dispatch/...) in headless Chromium against the product on
PostgreSQL: the queue with its proposals updates without a reload and a ticket is dispatched to 主办
+ 协办 picked in the department tree; a 退单 is accepted and 改派 with recomputed proposals; a reply
is sent back for 补办 (the API's 422 beside the reason until one is given); an extension approved."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.config import set_setting
from hotline.enums import TicketStatus
from hotline.models import Department, ExtensionRequest, Ticket
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser
from tests.core.factory import register, ticket_in, user
from tests.dispatch.conftest import City, route

pytestmark = [pytest.mark.browser]


def dept_name(session: Session, code: str) -> str:
    name = session.scalar(select(Department.name).where(Department.code == code))
    assert name is not None
    return name


def pick_in_tree(browser: Browser, dialog: Any, label: str, name: str) -> None:
    """Choose ``name`` in the department tree picker of the form item labelled ``label``."""
    page = browser.page
    item = dialog.locator(".el-form-item", has=page.locator(f"label:text-is('{label}')"))
    item.locator(".el-select").click()
    item.locator("input").first.fill(name)
    page.locator(".el-tree-node__content:visible", has_text=name).first.click()
    page.keyboard.press("Escape")


def fresh(session: Session, ticket_id: int) -> Ticket:
    session.expire_all()
    found = session.get(Ticket, ticket_id)
    assert found is not None
    return found


def test_a_dispatcher_dispatches_from_the_live_queue_with_the_tree_picker(
    browser: Browser, pg: tuple[Session, Org], console_city: tuple[Session, City]
) -> None:
    from playwright.sync_api import expect

    session, city = console_city
    _session, org = pg
    set_setting(session, "auto_enabled", False)
    session.commit()
    first = register(session, org, title="桃山路路灯不亮", address="东城区东湖街道桃山路")
    route(first.id)
    page = browser.login("dispatcher", PASSWORD, "/dispatch/queue")
    queue = page.locator("[data-test=dispatch-queue]")
    expect(queue).to_contain_text(first.number)
    expect(queue.locator("[data-test=proposal-0]").first).to_be_visible()
    # a ticket registered while the page is open appears without a reload
    second = register(session, org, phone="13900000003", title="锦绣华庭门口垃圾堆积", address="西城区锦绣华庭")
    route(second.id)
    expect(queue).to_contain_text(second.number, timeout=15_000)

    page.click(f"[data-test=dispatch-{second.id}]")
    dialog = page.locator(".el-dialog", has_text="派单")
    expect(dialog.locator("[data-test=proposal-list]")).to_be_visible()
    primary, assist = dept_name(session, "xc.cy.jx"), dept_name(session, "cgj")
    pick_in_tree(browser, dialog, "主办单位", primary)
    dialog.locator(".el-form-item", has=page.locator("label:text-is('协办单位')")).locator(
        ".el-tag__close"
    ).evaluate_all("els => els.forEach(e => e.click())")
    pick_in_tree(browser, dialog, "协办单位", assist)
    dialog.locator("[data-test=dispatch-confirm]").click()
    expect(page.locator(".el-message--success", has_text=f"{second.number} 已派单")).to_be_visible()
    expect(queue).not_to_contain_text(second.number)
    done = fresh(session, second.id)
    assert done.status == TicketStatus.dispatched
    assert done.primary_department_id == city.dept["xc.cy.jx"]
    assignments = {(a.department_id, a.role) for a in done.assignments}
    assert (city.dept["cgj"], "assist") in assignments
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_a_return_accepted_and_redispatched_a_reply_sent_back_and_an_extension_approved(
    browser: Browser, pg: tuple[Session, Org], console_city: tuple[Session, City]
) -> None:
    from playwright.sync_api import expect

    from hotline import lifecycle

    session, _city = console_city
    _session, org = pg
    returned = ticket_in(session, org, TicketStatus.returned)
    replied = ticket_in(session, org, TicketStatus.replied, phone="13900000004")
    working = ticket_in(session, org, TicketStatus.in_progress, phone="13900000005")
    lifecycle.request_extension(
        session, working, user(session, org, "zjj"), version=working.version, working_days=3, reason="等待材料"
    )
    session.commit()

    page = browser.login("dispatcher", PASSWORD, "/dispatch/returns")
    table = page.locator("[data-test=returns-table]")
    expect(table).to_contain_text(returned.number)
    expect(table).to_contain_text("非本单位职责")
    page.click(f"[data-test=return-accept-{returned.id}]")
    dialog = page.locator(".el-dialog", has_text="同意退单并改派")
    expect(dialog.locator("[data-test=proposal-list]")).to_be_visible()
    pick_in_tree(browser, dialog, "主办单位", dept_name(session, "cgj"))
    dialog.locator("[data-test=dispatch-confirm]").click()
    expect(page.locator(".el-message--success", has_text="已改派")).to_be_visible()
    assert fresh(session, returned.id).status == TicketStatus.dispatched
    assert fresh(session, returned.id).primary_department_id == org.dept["cgj"]

    page.click("text=回复审核")
    review = page.locator("[data-test=review-table]")
    expect(review).to_contain_text(replied.number)
    page.click(f"[data-test=review-back-{replied.id}]")
    box = page.locator("[data-test=review-dialog]")
    box.locator("[data-test=review-back-confirm]").click()
    reason = box.locator(".el-form-item", has=page.locator("label:text-is('补办理由')"))
    expect(reason.locator(".el-form-item__error")).to_be_visible()
    assert fresh(session, replied.id).status == TicketStatus.replied
    box.locator("[data-test=review-note] textarea, textarea[data-test=review-note]").first.fill("请补充现场照片")
    box.locator("[data-test=review-back-confirm]").click()
    expect(page.locator(".el-message--success", has_text="已退回补办")).to_be_visible()
    assert fresh(session, replied.id).status == TicketStatus.in_progress

    page.click("text=延期审批")
    (request,) = session.scalars(select(ExtensionRequest).where(ExtensionRequest.ticket_id == working.id))
    extensions = page.locator("[data-test=extensions-table]")
    expect(extensions).to_contain_text("延期 3 个工作日")
    page.click(f"[data-test=extension-approve-{request.id}]")
    page.locator("[data-test=extension-confirm]").click()
    expect(page.locator(".el-message--success", has_text="已批准延期")).to_be_visible()
    session.expire_all()
    assert session.get(ExtensionRequest, request.id).status == "approved"  # type: ignore[union-attr]
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(422) == []
