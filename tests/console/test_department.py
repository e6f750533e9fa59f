"""The department's (承办单位) screens in headless Chromium against the product on PostgreSQL: the
inbox's tabs and counts (updated without a reload), 签收 from the row, the ticket page's 加派 (tree
picker), 申请延期, 回复 with a photo (a file of a type not allowed is refused with a clear message
beside the upload), 退单 with a reason from the list, another department's ticket is "not found",
and a 保密 ticket shows neither name nor number."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import TicketStatus
from hotline.models import Ticket, User
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser, said
from tests.core.factory import ticket_in
from tests.core.test_attachments import png_bytes

pytestmark = [pytest.mark.browser]


def count_of(page: object, tab: str) -> object:
    return page.locator(f"[data-test=count-{tab}] sup")  # type: ignore[attr-defined]


def test_inbox_tabs_counts_sign_and_live_counts(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    session, org = pg
    waiting = ticket_in(session, org, TicketStatus.dispatched, title="楼道堆放杂物")
    late = ticket_in(session, org, TicketStatus.in_progress, title="小区门口井盖缺失")
    late.reply_due = utcnow() - timedelta(hours=2)
    ticket_in(session, org, TicketStatus.closed, title="路灯不亮已修好")
    ticket_in(session, org, TicketStatus.dispatched, title="别的单位的工单", dept="cgj", handler="cgj")
    session.commit()

    page = browser.login("zjj", PASSWORD, "/department/inbox")
    expect(page.locator("[data-test=menu]")).to_contain_text("承办工单")
    expect(count_of(page, "to_sign")).to_have_text("1")
    expect(count_of(page, "in_progress")).to_have_text("1")
    expect(count_of(page, "overdue")).to_have_text("1")
    expect(count_of(page, "closed")).to_have_text("1")
    rows = page.locator("[data-test=dept-rows] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(waiting.number)
    expect(rows.first.locator("[data-test=row-countdown]")).to_contain_text("还剩")

    page.locator("[data-test=tab-overdue]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("小区门口井盖缺失")
    expect(rows.first.locator(".countdown.over")).to_contain_text("已超")

    # 签收 from the row: the counts follow
    page.locator("[data-test=tab-to_sign]").click()
    expect(rows).to_have_count(1)
    rows.first.locator("[data-test=row-sign]").click()
    said(page, f"已签收 {waiting.number}")
    expect(count_of(page, "in_progress")).to_have_text("2")
    expect(count_of(page, "to_sign")).to_be_hidden()

    # a ticket dispatched meanwhile shows in the counts without a reload (the page polls)
    ticket_in(session, org, TicketStatus.dispatched, title="新派来的工单")
    session.commit()
    expect(count_of(page, "to_sign")).to_have_text("1", timeout=25_000)
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_sub_assignment_extension_reply_with_a_photo(browser: Browser, pg: tuple[Session, Org], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    session, org = pg
    t = ticket_in(session, org, TicketStatus.dispatched, dept="dc", handler="dc_head", title="和平街道路面塌陷")
    page = browser.login("dc_head", PASSWORD, f"/department/tickets/{t.id}")
    expect(page.locator("[data-test=ticket-title]")).to_have_text("和平街道路面塌陷")
    page.click("[data-test=act-sign]")
    said(page, "已签收")

    # 加派 to a unit below, picked in the tree
    page.click("[data-test=act-sub]")
    dialog = page.locator(".el-dialog", has_text="加派给下级单位")
    dialog.locator(".el-select").click()
    page.locator(".el-tree-node__content:visible", has_text="和平街道").first.click()
    dialog.locator("[data-test=sub-submit]").click()
    said(page, "已加派给和平街道")
    page.get_by_role("tab", name=re.compile("承办单位")).click()
    expect(page.locator("[data-test=assignments]")).to_contain_text("和平街道")
    expect(page.locator("[data-test=assignments]")).to_contain_text("加派")

    # 申请延期: a pending request disables the button
    page.click("[data-test=act-extension]")
    dialog = page.locator(".el-dialog", has_text="申请延期")
    dialog.locator("[data-test=extension-reason]").fill("需协调燃气、自来水多家单位联合施工")
    dialog.locator("[data-test=extension-submit]").click()
    said(page, "延期申请已提交")
    expect(page.locator("[data-test=act-extension]")).to_have_text("延期审批中")
    expect(page.locator("[data-test=act-extension]")).to_be_disabled()

    # 回复: a file of a type not allowed is refused beside the upload, and nothing is replied
    page.click("[data-test=act-reply]")
    dialog = page.locator(".el-dialog", has_text="回复办理结果")
    dialog.locator("[data-test=reply-handling]").fill("已组织施工单位回填夯实并重新铺设路面")
    dialog.locator("[data-test=reply-public]").fill("塌陷路面已修复，感谢您的反映")
    notes = tmp_path / "说明.txt"
    notes.write_text("plain text is not an allowed type", encoding="utf-8")
    dialog.locator("input[type=file]").set_input_files(str(notes))
    dialog.locator("[data-test=reply-submit]").click()
    upload_item = dialog.locator(".el-form-item", has_text="附件")
    expect(upload_item.locator(".el-form-item__error")).to_contain_text("类型")
    session.expire_all()
    assert session.get(Ticket, t.id).status == TicketStatus.in_progress  # type: ignore[union-attr]

    dialog.locator(".el-upload-list__item").first.hover()
    dialog.locator(".el-upload-list__item .el-icon--close").first.click()
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(png_bytes(8))
    dialog.locator("input[type=file]").set_input_files(str(photo))
    dialog.locator("[data-test=reply-submit]").click()
    said(page, "已回复")
    expect(page.locator(".ticket-head")).to_contain_text("已回复")
    page.get_by_role("tab", name=re.compile("附件")).click()
    expect(page.locator("[data-test=attachment]")).to_have_count(1)
    expect(page.locator("[data-test=attachment]")).to_contain_text("现场照片.png")
    expect(page.locator("[data-test=attachment-thumb]")).to_be_visible()
    expect(page.locator("[data-test^=act-]")).to_have_count(0)  # nothing left to do
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(415) == []


def test_return_with_a_reason_from_the_list(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    session, org = pg
    t = ticket_in(session, org, TicketStatus.dispatched, title="不归我们管的事")
    # The general link (工单查询, a notice) leads a department's user to their own ticket page.
    page = browser.login("zjj", PASSWORD, f"/tickets/{t.id}")
    expect(page).to_have_url(re.compile(rf"/console/department/tickets/{t.id}$"))
    page.click("[data-test=act-return]")
    dialog = page.locator(".el-dialog", has_text="退单")
    dialog.locator("[data-test=return-submit]").click()  # no reason, no note
    expect(dialog.locator(".el-form-item__error").first).to_be_visible()
    browser.choose(dialog, "原因", "不属于本单位职责")
    dialog.locator("[data-test=return-note]").fill("该路段归市城管局管理")
    dialog.locator("[data-test=return-submit]").click()
    said(page, "已退单")
    expect(page.locator(".ticket-head")).to_contain_text("退单")
    session.expire_all()
    returned = session.get(Ticket, t.id)
    assert returned is not None and returned.status == TicketStatus.returned
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(422) == []


def test_another_departments_ticket_is_not_found_and_confidential_hides_the_caller(
    browser: Browser, pg: tuple[Session, Org]
) -> None:
    from playwright.sync_api import expect

    session, org = pg
    theirs = ticket_in(session, org, TicketStatus.dispatched, dept="cgj", handler="cgj", title="城管局的工单")
    secret = ticket_in(session, org, TicketStatus.dispatched, confidential=True, title="举报某单位违规排污")
    page = browser.login("zjj", PASSWORD, f"/department/tickets/{theirs.id}")
    error = page.locator("[data-test=ticket-error]")
    expect(error).to_contain_text("工单不存在或无权查看")
    expect(page.locator("[data-test=ticket-title]")).to_have_count(0)
    browser.open(f"/tickets/{theirs.id}")
    expect(error).to_contain_text("工单不存在或无权查看")

    # 保密: neither in the inbox row nor on the ticket page
    browser.open("/department/inbox")
    row = page.locator("[data-test=dept-rows] tbody tr", has_text="举报某单位违规排污")
    expect(row).to_contain_text("保密")
    browser.open(f"/department/tickets/{secret.id}")
    expect(page.locator("[data-test=ticket-title]")).to_have_text("举报某单位违规排污")
    expect(page.locator("[data-test=citizen-name]")).to_have_text("保密")
    expect(page.locator("[data-test=citizen-phone]")).to_have_text("保密")
    body = page.locator("body")
    expect(body).not_to_contain_text("张先生")
    expect(body).not_to_contain_text("13800000001")
    expect(body).not_to_contain_text("8613800000001")
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(404) == []


def test_a_sub_unit_signs_its_part(browser: Browser, pg: tuple[Session, Org]) -> None:
    """A 加派 unit finds the ticket in its own 待签收 while the ticket is already 办理中."""
    from playwright.sync_api import expect

    session, org = pg
    t = ticket_in(session, org, TicketStatus.in_progress, dept="dc", handler="dc_head", title="社区健身器材损坏")
    head = session.get(User, org.users["dc_head"])
    assert head is not None
    lifecycle.add_sub_assignment(session, t, head, version=t.version, department_id=org.dept["dc.hp"])
    session.commit()
    page = browser.login("hp", PASSWORD, "/department/inbox")
    expect(count_of(page, "to_sign")).to_have_text("1")
    page.locator("[data-test=dept-rows] tbody tr").first.locator("[data-test=row-link]").click()
    expect(page.locator("[data-test=ticket-title]")).to_have_text("社区健身器材损坏")
    expect(page.locator("[data-test=act-reply]")).to_have_count(0)  # only the 主办 replies
    page.click("[data-test=act-sign]")
    said(page, "已签收")
    expect(page.locator("[data-test=act-sign]")).to_have_count(0)
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []
