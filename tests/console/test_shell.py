"""The staff console's frame in headless Chromium against the product on PostgreSQL: how it is
served (strict CSP, compressed, cached), login, the menu by role, the login again when the token
is refused with the half-filled form kept, a 422 beside its field, the ticket list and page, the
inbox with its unread count, 修改密码 (first of all after an admin's 重置密码), and no CSP violation
or script error on any page."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from escalation.models import NotificationMessage
from hotline.console import DIST_DIR
from hotline.db import utcnow
from hotline.enums import TicketStatus
from hotline.models import User
from tests.conftest import PASSWORD, Org, login
from tests.console.conftest import Browser
from tests.core.factory import ticket_in

pytestmark = [pytest.mark.browser]


def test_served_from_its_own_origin_under_a_strict_csp_compressed_and_cached(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        assert client.get("/").headers["location"] == "/console/"
        # every path under /console/ is the application's page (the browser's router takes it)
        for path in ("/console/", "/console/tickets/12", "/console/admin/dispatch-rules"):
            page = client.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        csp = page.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp and "http" not in csp
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
        html = page.text
        assets = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', html)
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts and all('src="/console/assets/' in s for s in scripts)
        assert "<style" not in html and " style=" not in html and "http" not in html
        script = next(a for a in assets if a.endswith(".js"))

        plain = client.get(script, headers={"Accept-Encoding": "identity"})
        br = client.get(script, headers={"Accept-Encoding": "gzip, deflate, br"})
        gz = client.get(script, headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in plain.headers
        assert br.headers["content-encoding"] == "br" and gz.headers["content-encoding"] == "gzip"
        assert gz.content == plain.content  # httpx decodes gzip (not brotli): the file the build wrote
        assert br.content == (DIST_DIR / script.removeprefix("/console/")).with_suffix(".js.br").read_bytes()
        assert int(br.headers["content-length"]) < int(gz.headers["content-length"]) < len(plain.content) / 2
        for answer in (plain, br, gz):
            assert "javascript" in answer.headers["content-type"]
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert answer.headers["vary"] == "Accept-Encoding"
            assert answer.headers["content-security-policy"] == csp
        for bad in ("missing.js", "..%2Findex.html", "%2e%2e/index.html", "%2e%2e/%2e%2e/console.py"):
            assert client.get(f"/console/assets/{bad}").status_code == 404, bad
        assert client.get(f"{script}.br").status_code == 404  # the compressed copies are not files of their own


def test_login_menu_by_role_and_forbidden_pages(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    page = browser.open("/tickets")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "wrong-password")
    page.click("[data-test=login-submit]")
    expect(page.locator(".login-error")).to_contain_text("用户名或密码错误")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-test=login-submit]")
    # back to the page that was asked for
    expect(page.locator("[data-test=current-user]")).to_have_text("dispatcher 测试（派单员）")
    expect(page).to_have_url(re.compile(r"/console/tickets$"))
    assert page.evaluate("sessionStorage.getItem('hotline.token')")
    menu = page.locator("[data-test=menu]")
    expect(menu).to_contain_text("工单查询")
    expect(menu).to_contain_text("派单目录")

    # a department user: no 派单目录 in the menu, and its URL says 无权访问
    page.click("[data-test=logout]")
    expect(page.locator("input[name=username]")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('hotline.token')") is None
    page.fill("input[name=username]", "zjj")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-test=login-submit]")
    expect(page.locator("[data-test=current-user]")).to_contain_text("（承办单位）")
    expect(menu).to_contain_text("工单查询")
    expect(menu).not_to_contain_text("派单目录")
    browser.open("/admin/dispatch-rules")
    expect(page.get_by_text("无权访问").first).to_be_visible()
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(401) == []


def test_refused_token_shows_the_login_over_the_page_and_keeps_the_form(
    browser: Browser, pg: tuple[Session, Org]
) -> None:
    """The token stops working (here: the account is disabled, as when it expires) while the
    admin is typing a new rule; saving brings the login back with a message; after logging in
    again the form is as it was and saves."""
    from playwright.sync_api import expect

    session, org = pg
    page = browser.login("admin", PASSWORD, "/admin/dispatch-rules")
    page.click("[data-test=rule-new]")
    editor = page.locator(".el-dialog", has_text="新建规则")
    editor.locator("input[name=code]").fill("T-EXPIRE")
    editor.locator("input[name=name]").fill("会话过期时填写的规则")
    browser.choose(editor, "主办单位", "市城管局（cgj）", search="cgj")
    page.fill("[data-test=rule-when]", '{"any": [{"keywords": ["霓虹灯"]}]}')

    session.execute(update(User).where(User.id == org.users["admin"]).values(active=False))
    session.commit()
    page.click("[data-test=rule-save]")
    relogin = page.locator(".relogin-dialog")
    expect(relogin).to_be_visible()
    expect(relogin).to_contain_text("登录已过期，请重新登录")
    expect(relogin.locator("input[name=username]")).to_have_value("admin")
    expect(relogin.locator("input[name=username]")).to_be_disabled()

    session.execute(update(User).where(User.id == org.users["admin"]).values(active=True))
    session.commit()
    relogin.locator("input[name=password]").fill(PASSWORD)
    relogin.locator("[data-test=login-submit]").click()
    expect(relogin).to_be_hidden()
    expect(editor.locator("input[name=code]")).to_have_value("T-EXPIRE")
    expect(editor.locator("input[name=name]")).to_have_value("会话过期时填写的规则")
    expect(editor.locator(".el-form-item", has_text="主办单位")).to_contain_text("市城管局（cgj）")
    page.click("[data-test=rule-save]")
    expect(page.locator(".el-message--success")).to_contain_text("已保存规则 T-EXPIRE（第 1 版）")
    assert browser.unexpected_problems(401) == []


def test_a_422_is_shown_beside_its_field(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    page = browser.login("admin", PASSWORD, "/admin/dispatch-rules")
    page.click("[data-test=rule-new]")
    editor = page.locator(".el-dialog", has_text="新建规则")
    editor.locator("input[name=code]").fill("T-422")
    editor.locator("input[name=name]").fill("   ")  # the API strips it: empty
    page.fill("[data-test=rule-when]", '{"any": [{"keywords": ["霓虹灯"]}]}')
    page.click("[data-test=rule-save]")
    name_item = editor.locator(".el-form-item", has=page.locator("input[name=name]"))
    expect(name_item.locator(".el-form-item__error")).to_have_text("不能为空")
    # a field the browser checks itself is shown the same way
    page.fill("[data-test=rule-when]", '{"any": [')
    page.click("[data-test=rule-save]")
    when_item = editor.locator(".el-form-item", has=page.locator("[data-test=rule-when]"))
    expect(when_item.locator(".el-form-item__error")).to_contain_text("不是有效的 JSON")
    expect(name_item.locator(".el-form-item__error")).to_have_count(0)
    assert browser.unexpected_problems(422) == []


def test_ticket_list_filters_and_the_ticket_page(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    session, org = pg
    closed = ticket_in(session, org, TicketStatus.closed, title="路灯不亮已修好")
    working = ticket_in(session, org, TicketStatus.in_progress, title="小区门口井盖缺失", dept="cgj", handler="cgj")
    waiting = ticket_in(session, org, TicketStatus.dispatched, title="楼道堆放杂物")
    page = browser.login("dispatcher", PASSWORD, "/tickets")
    rows = page.locator(".tickets-table tbody tr")
    expect(rows).to_have_count(3)
    # search, and the filters live in the URL
    page.fill("input[name=q]", "井盖")
    page.click("[data-test=ticket-search]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(working.number)
    expect(rows.first).to_contain_text("办理中")
    expect(page).to_have_url(re.compile(r"q=%E4%BA%95%E7%9B%96"))
    browser.open("/tickets?status=dispatched")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(waiting.number)
    expect(rows.first).to_contain_text("签收")  # the deadline that matters now, counting down

    # the ticket page: fields, assignments, timeline
    rows.first.click()
    expect(page).to_have_url(re.compile(rf"/console/tickets/{waiting.id}$"))
    expect(page.locator("[data-test=ticket-title]")).to_have_text("楼道堆放杂物")
    fields = page.locator("[data-test=ticket-fields]")
    expect(fields).to_contain_text("张先生")
    expect(fields).to_contain_text("+8613800000001")
    expect(fields).to_contain_text("东城区和平街道和平路88号")
    timeline = page.locator("[data-test=timeline]")
    expect(timeline).to_contain_text("登记")
    expect(timeline).to_contain_text("派单")
    expect(timeline).to_contain_text("市住建局")
    page.get_by_role("tab", name=re.compile("承办单位")).click()
    expect(page.locator("[data-test=assignments]")).to_contain_text("市住建局")
    expect(page.locator("[data-test=assignments]")).to_contain_text("主办")

    # a closed ticket's whole story
    browser.open(f"/tickets/{closed.id}")
    expect(page.locator("[data-test=ticket-fields]")).to_contain_text("满意")
    for action in ("签收", "回复", "回复审核通过", "回访", "办结"):
        expect(timeline).to_contain_text(action)
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_department_user_sees_not_found_for_another_departments_ticket(
    browser: Browser, pg: tuple[Session, Org]
) -> None:
    from playwright.sync_api import expect

    session, org = pg
    theirs = ticket_in(session, org, TicketStatus.dispatched, dept="cgj", handler="cgj", title="城管的工单")
    ours = ticket_in(session, org, TicketStatus.dispatched, title="住建的工单", confidential=True)
    page = browser.login("zjj", PASSWORD, "/tickets")
    expect(page.locator(".tickets-table tbody tr")).to_have_count(1)
    browser.open(f"/tickets/{theirs.id}")  # the general link leads to the department's page
    expect(page).to_have_url(re.compile(rf"/console/department/tickets/{theirs.id}$"))
    expect(page.locator("[data-test=ticket-error]")).to_contain_text("工单不存在或无权查看")
    expect(page.locator("body")).not_to_contain_text("城管的工单")
    # 保密: the department sees neither the name nor the number
    browser.open(f"/tickets/{ours.id}")
    expect(page.locator("[data-test=ticket-title]")).to_have_text("住建的工单")
    expect(page.locator("[data-test=citizen-name]")).to_have_text("保密")
    expect(page.locator("[data-test=citizen-phone]")).to_have_text("保密")
    expect(page.locator("body")).not_to_contain_text("13800000001")
    expect(page.locator("body")).not_to_contain_text("张先生")
    assert browser.unexpected_problems(404) == []


def _message(session: Session, user_id: int, subject: str, ticket_id: int | None = None) -> None:
    now = utcnow()
    session.add(
        NotificationMessage(
            dedupe_key=f"test:{subject}",
            channel="inbox",
            recipient_user_id=user_id,
            subject=subject,
            body=f"{subject}：请尽快处理。",
            ticket_id=ticket_id,
            status="sent",
            sent_at=now,
            created_at=now,
        )
    )


def test_inbox_with_its_unread_count(browser: Browser, pg: tuple[Session, Org]) -> None:
    from playwright.sync_api import expect

    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.dispatched)
    _message(session, org.users["zjj"], "签收提醒", ticket.id)
    _message(session, org.users["zjj"], "督办单")
    _message(session, org.users["cgj"], "别人的消息")
    session.commit()
    page = browser.login("zjj", PASSWORD, "/tickets")
    bell = page.locator("[data-test=inbox-bell]")
    expect(bell.locator(".el-badge__content")).to_have_text("2")
    bell.click()
    rows = page.locator(".inbox-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(".inbox-table")).not_to_contain_text("别人的消息")
    rows.filter(has_text="签收提醒").click()
    drawer = page.locator(".el-drawer")
    expect(drawer).to_contain_text("签收提醒：请尽快处理。")
    expect(bell.locator(".el-badge__content")).to_have_text("1")
    drawer.get_by_role("button", name="查看工单").click()
    # A department's user works the ticket on the department's page (签收, 回复, 退单 …).
    expect(page).to_have_url(re.compile(rf"/console/department/tickets/{ticket.id}$"))
    expect(page.locator("[data-test=act-sign]")).to_be_visible()
    assert browser.unexpected_problems() == []


def test_a_user_changes_the_password_from_the_header(
    browser: Browser, pg: tuple[Session, Org], fresh_passwords: None
) -> None:
    from playwright.sync_api import expect

    page = browser.login("agent", PASSWORD, "/tickets")
    old_token = page.evaluate("sessionStorage.getItem('hotline.token')")
    page.click("[data-test=change-password]")
    dialog = page.locator(".el-dialog", has_text="修改密码")
    dialog.locator("[data-test=password-current]").fill("not-my-password")
    dialog.locator("[data-test=password-new]").fill("Hotline-2026-new")
    dialog.locator("[data-test=password-again]").fill("Hotline-2026-new")
    dialog.locator("[data-test=password-submit]").click()
    expect(dialog.locator(".el-form-item", has_text="当前密码")).to_contain_text("当前密码不正确", timeout=20_000)
    dialog.locator("[data-test=password-current]").fill(PASSWORD)
    dialog.locator("[data-test=password-new]").fill("agent-2026-x")
    dialog.locator("[data-test=password-again]").fill("agent-2026-x")
    dialog.locator("[data-test=password-submit]").click()
    expect(dialog.locator(".el-form-item", has_text="新密码").first).to_contain_text("不能包含用户名", timeout=20_000)
    dialog.locator("[data-test=password-new]").fill("Hotline-2026-new")
    dialog.locator("[data-test=password-again]").fill("Hotline-2026-new")
    dialog.locator("[data-test=password-submit]").click()
    # (argon2 runs three times: the current password, "not the same", the new hash)
    expect(dialog).to_be_hidden(timeout=30_000)
    expect(page.locator(".el-message--success")).to_contain_text("密码已修改")
    new_token = page.evaluate("sessionStorage.getItem('hotline.token')")
    assert new_token and new_token != old_token
    # This tab goes on with its new token; the old one (any other device's) is refused.
    page.reload()
    expect(page.locator("[data-test=current-user]")).to_contain_text("agent 测试")
    with httpx.Client(base_url=browser.base) as http:
        assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
        assert http.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(422) == []


def test_a_user_whose_password_an_admin_reset_changes_it_before_anything_else(
    browser: Browser, pg: tuple[Session, Org], fresh_passwords: None
) -> None:
    """重置密码 by an admin: at the next login the 修改密码 dialog comes first and cannot be
    closed; once the user has chosen a password of their own, the page asked for opens. Any 403
    password_change_required (here: the flag set again under an open page) brings the dialog back."""
    from playwright.sync_api import expect

    session, org = pg
    given, own = "Given-by-admin-2026", "Mine-only-2026"
    with httpx.Client(base_url=browser.base) as http:
        admin = login(http, "admin")
        reset = http.post(
            f"/api/v1/users/{org.users['dispatcher']}/password", json={"new_password": given}, headers=admin
        )
        assert reset.status_code == 200, reset.text
    page = browser.open("/tickets")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", given)
    page.click("[data-test=login-submit]")
    dialog = page.locator(".el-dialog", has_text="修改密码")
    expect(dialog.locator("[data-test=password-required]")).to_contain_text("管理员已重置您的密码")
    expect(page.locator("[data-test=current-user]")).to_have_count(0)  # no page behind it
    # It cannot be dismissed: no close button, no cancel, Escape and a click beside it do nothing.
    expect(dialog.locator(".el-dialog__headerbtn")).to_have_count(0)
    expect(dialog.get_by_role("button", name="取消")).to_have_count(0)
    page.keyboard.press("Escape")
    page.mouse.click(5, 5)
    expect(dialog).to_be_visible()

    dialog.locator("[data-test=password-current]").fill(given)
    dialog.locator("[data-test=password-new]").fill(own)
    dialog.locator("[data-test=password-again]").fill(own)
    dialog.locator("[data-test=password-submit]").click()
    expect(dialog).to_be_hidden(timeout=30_000)
    expect(page.locator(".el-message--success")).to_contain_text("密码已修改")
    # Then the page the user was going to.
    expect(page.locator("[data-test=current-user]")).to_have_text("dispatcher 测试（派单员）")
    expect(page).to_have_url(re.compile(r"/console/tickets$"))
    expect(page.locator(".tickets-table")).to_be_visible()
    page.reload()
    expect(page.locator("[data-test=current-user]")).to_have_text("dispatcher 测试（派单员）")
    expect(dialog).to_have_count(0)

    # A refusal for this reason, whatever asked, shows the dialog again.
    session.execute(update(User).where(User.id == org.users["dispatcher"]).values(must_change_password=True))
    session.commit()
    page.locator("[data-test=menu]").get_by_text("派单目录").click()
    expect(dialog.locator("[data-test=password-required]")).to_be_visible()
    expect(page.locator("[data-test=current-user]")).to_have_count(0)
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(403) == []
