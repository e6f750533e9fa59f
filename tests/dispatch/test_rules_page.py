"""The 派单目录 page (/admin/dispatch/rules) in headless Chromium against the app on PostgreSQL:
an admin creates, edits (and meets a concurrent edit), reads the history, exports, imports (a bad
file changes nothing) and deletes; a dispatcher only looks; the page and its files carry strict headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.models import DispatchRule, DispatchRuleChange
from hotline.models import Department
from tests.browser import launch_chromium
from tests.conftest import PASSWORD, login
from tests.dispatch.conftest import City

pytestmark = [pytest.mark.browser]
PAGE = "/admin/dispatch/rules"
STATIC = [
    "/static/staff/staff.js",
    "/static/staff/staff.css",
    "/static/dispatch/rules.js",
    "/static/dispatch/rules.css",
]


@pytest.fixture
def browser_page(web: str) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page (zh-CN, Beijing time) and the console errors and page errors it produced."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        yield page, problems
        browser.close()


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#staff-login-form button[type=submit]")


def rule(session: Session, code: str) -> DispatchRule | None:
    session.expire_all()
    return session.scalar(select(DispatchRule).where(DispatchRule.code == code))


def codes(session: Session) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(DispatchRule.code)))


def change_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DispatchRuleChange)) or 0)


def dept_name(session: Session, code: str) -> str:
    name = session.scalar(select(Department.name).where(Department.code == code))
    assert name
    return name


def test_admin_creates_edits_reads_history_exports_imports_and_deletes(
    pg_city: tuple[Session, City], web: str, browser_page: tuple[Any, list[str]]
) -> None:
    from playwright.sync_api import expect

    session, city = pg_city
    page, problems = browser_page
    before = codes(session)
    assert len(before) > 50  # the shipped catalogue
    admin_name = city.user(session, "admin").display_name
    cgj = f"{dept_name(session, 'cgj')}（cgj）"

    page.goto(web + PAGE)
    expect(page.locator("#staff-login")).to_be_visible()
    expect(page.locator("#staff-main")).to_be_hidden()
    sign_in(page, web, "admin", "wrong-password")
    expect(page.locator("#staff-login-error")).to_have_text("用户名或密码错误")
    sign_in(page, web, "admin")
    expect(page.locator("#staff-user")).to_have_text(f"{admin_name}（管理员）")
    rows = page.locator("#rules-table tbody tr")
    expect(rows).to_have_count(len(before))
    assert page.evaluate("sessionStorage.getItem('hotline.token')")

    # department codes are shown with their names
    sample = session.scalars(
        select(DispatchRule).where(DispatchRule.primary.not_like("@%")).order_by(DispatchRule.code)
    ).first()
    assert sample is not None
    expect(page.locator(f"#rules-table tr[data-code='{sample.code}'] td.primary")).to_have_text(
        f"{dept_name(session, sample.primary)}（{sample.primary}）"
    )
    # enum values in conditions are shown by their Chinese names
    praise = page.locator("#rules-table tr[data-code='PRAISE-URBAN']")
    expect(praise).to_contain_text("诉求类型：表扬/感谢")
    expect(praise).not_to_contain_text("praise")
    # search filters the table
    page.fill("#rule-search", sample.code)
    expect(page.locator(f"#rules-table tr[data-code='{sample.code}']")).to_be_visible()
    assert rows.count() < len(before)
    page.fill("#rule-search", "没有这样的规则xyz")
    expect(rows).to_have_count(0)
    page.fill("#rule-search", "")
    expect(rows).to_have_count(len(before))

    # --- create: bad JSON, an unknown condition and an out-of-range priority are shown, nothing is stored
    page.click("#rule-new")
    expect(page.locator("#editor-title")).to_have_text("新建规则")
    page.fill("#f-code", "T-PAGE")
    page.fill("#f-name", "霓虹灯箱扰民")
    page.fill("#f-priority", "99")
    page.fill("#f-confidence", "0.85")
    page.fill("#f-primary", "cgj")
    page.fill("#f-assists", "@street")
    expect(page.locator("#f-primary-name")).to_have_text(cgj)
    page.fill("#f-when", '{"any": [{"keywords": ["霓虹灯"]}')
    page.click("#rule-save")
    expect(page.locator("#rule-form-error")).to_contain_text("条件（when）不是有效的 JSON")
    page.fill("#f-when", '{"colour": ["红"]}')
    page.click("#rule-save")
    expect(page.locator("#rule-form-error")).to_contain_text("未知条件")
    page.fill("#f-priority", "2000")
    page.fill("#f-when", '{"any": [{"keywords": ["霓虹灯"]}]}')
    page.click("#rule-save")
    expect(page.locator("#rule-form-error")).to_contain_text("优先级：不能大于 1000")
    assert rule(session, "T-PAGE") is None and codes(session) == before

    page.fill("#f-priority", "99")
    page.fill("#f-when", '{"any": [{"keywords": ["霓虹灯", "灯箱"]}], "none": [{"keywords": ["路灯"]}]}')
    summary = "条件摘要：含任一词：霓虹灯、灯箱 且 非（含任一词：路灯）"
    expect(page.locator("#f-when-summary")).to_have_text(summary)
    page.click("#rule-save")
    expect(page.locator("#staff-flash")).to_have_text("已保存规则 T-PAGE（第 1 版）")
    expect(page.locator("#rule-editor")).to_be_hidden()
    row = page.locator("#rules-table tr[data-code='T-PAGE']")
    expect(row.locator("td.primary")).to_have_text(cgj)
    expect(row.locator("td.assists")).to_have_text("属地街道（镇）")
    expect(row.locator("td.confidence")).to_have_text("0.85")
    created = rule(session, "T-PAGE")
    assert created is not None
    assert (created.name, created.priority, created.primary, created.assists, created.confidence, created.revision) == (
        "霓虹灯箱扰民",
        99,
        "cgj",
        ["@street"],
        0.85,
        1,
    )
    assert created.conditions == {"any": [{"keywords": ["霓虹灯", "灯箱"]}], "none": [{"keywords": ["路灯"]}]}
    assert created.updated_by_id == city.users["admin"]

    # --- edit
    row.locator("button.rule-open").click()
    expect(page.locator("#editor-title")).to_have_text("编辑规则 T-PAGE")
    assert page.locator("#f-code").evaluate("el => el.readOnly")
    expect(page.locator("#f-priority")).to_have_value("99")
    page.fill("#f-name", "霓虹灯、灯箱光污染")
    page.fill("#f-priority", "98")
    page.click("#rule-save")
    expect(page.locator("#staff-flash")).to_have_text("已保存规则 T-PAGE（第 2 版）")
    edited = rule(session, "T-PAGE")
    assert edited is not None and (edited.name, edited.priority, edited.revision) == ("霓虹灯、灯箱光污染", 98, 2)

    # --- a concurrent edit: the page's save is refused with the 409 shown, the other edit stays
    row.locator("button.rule-open").click()
    expect(page.locator("#rule-revision")).to_contain_text("第 2 版")
    with httpx.Client(base_url=web) as client:
        other = client.patch(
            "/api/v1/dispatch/rules/T-PAGE", headers=login(client, "admin"), json={"revision": 2, "confidence": 0.8}
        )
        assert other.status_code == 200 and other.json()["revision"] == 3
    page.fill("#f-priority", "97")
    page.click("#rule-save")
    expect(page.locator("#rule-stale")).to_be_visible()
    expect(page.locator("#rule-stale")).to_contain_text("该规则已被他人修改，请刷新")
    stale = rule(session, "T-PAGE")
    assert stale is not None and (stale.priority, stale.confidence, stale.revision) == (98, 0.8, 3)
    page.click("#rule-reload")
    expect(page.locator("#rule-revision")).to_contain_text("第 3 版")
    expect(page.locator("#f-confidence")).to_have_value("0.8")
    expect(page.locator("#rule-stale")).to_be_hidden()
    page.fill("#f-priority", "97")
    page.click("#rule-save")
    expect(page.locator("#staff-flash")).to_have_text("已保存规则 T-PAGE（第 4 版）")
    saved = rule(session, "T-PAGE")
    assert saved is not None and (saved.priority, saved.confidence, saved.revision) == (97, 0.8, 4)

    # --- the history of the rule: who, when, before → after
    row.locator("button.rule-history").click()
    expect(page.locator("#history-title")).to_have_text("规则 T-PAGE 的变更记录")
    history = page.locator("#history-table tbody tr")
    expect(history).to_have_count(4)
    assert history.locator("td.who").all_inner_texts() == [admin_name] * 4
    assert history.locator("td.action").all_inner_texts() == ["修改", "修改", "修改", "新建"]
    times = history.locator("td.when-changed").all_inner_texts()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times), times
    expect(history.nth(0).locator("td.diff")).to_have_text("优先级：98 → 97")
    expect(history.nth(1).locator("td.diff")).to_have_text("置信度：0.85 → 0.8")
    expect(history.nth(2).locator("td.diff")).to_contain_text("名称：霓虹灯箱扰民 → 霓虹灯、灯箱光污染")
    expect(history.nth(2).locator("td.diff")).to_contain_text("优先级：99 → 98")
    expect(history.nth(3).locator("td.diff")).to_contain_text(f"霓虹灯箱扰民 · 优先级 99 · 主办 {cgj}")
    stored = session.scalars(
        select(DispatchRuleChange).where(DispatchRuleChange.rule_code == "T-PAGE").order_by(DispatchRuleChange.id)
    ).all()
    assert [(c.action, c.changed_by_id, c.changed_by_name) for c in stored] == [
        ("create", city.users["admin"], admin_name)
    ] + [("update", city.users["admin"], admin_name)] * 3
    # ... and of the whole catalogue
    page.click("#catalogue-history-open")
    expect(page.locator("#history-title")).to_have_text("派单目录变更记录（最近 200 条）")
    expect(page.locator("#history-table tbody tr[data-code='T-PAGE']")).to_have_count(4)
    assert page.locator("#history-table tbody tr").count() == min(200, change_count(session))

    # --- export: a YAML download of exactly the stored catalogue
    with page.expect_download() as info:
        page.click("#catalogue-export")
    download = info.value
    assert re.fullmatch(r"dispatch-catalogue-v\d+\.yaml", download.suggested_filename)
    path = download.path()
    assert path is not None
    with open(path, encoding="utf-8") as fh:
        exported = yaml.safe_load(fh)
    assert {r["code"] for r in exported["rules"]} == before | {"T-PAGE"}
    page_rule = next(r for r in exported["rules"] if r["code"] == "T-PAGE")
    assert (page_rule["priority"], page_rule["primary"], page_rule["assists"]) == (97, "cgj", ["@street"])

    # --- import: a bad file (one unknown department, one YAML syntax error) changes nothing
    changes = change_count(session)
    page.click("#catalogue-import-open")
    expect(page.locator("#import-panel")).to_be_visible()
    bad = {
        "rules": [
            {**page_rule, "priority": 10},
            {"code": "T-BAD", "name": "坏规则", "when": {"keywords": ["某事"]}, "primary": "no-such-dept"},
        ]
    }
    page.fill("#import-text", yaml.safe_dump(bad, allow_unicode=True))
    page.click("#import-submit")
    expect(page.locator("#import-error")).to_contain_text("导入失败，派单目录未作任何修改")
    expect(page.locator("#import-error")).to_contain_text("no-such-dept")
    page.fill("#import-text", "rules: [ {code: T-X, name: 缺括号")
    page.click("#import-submit")
    expect(page.locator("#import-error")).to_contain_text("YAML 格式错误")
    unchanged = rule(session, "T-PAGE")
    assert unchanged is not None and (unchanged.priority, unchanged.revision) == (97, 4)
    assert codes(session) == before | {"T-PAGE"} and change_count(session) == changes

    # --- import (merge) from an uploaded file: a new rule, nothing deleted
    good = {
        "rules": [
            {
                "code": "T-IMPORT",
                "name": "导入的规则",
                "priority": 40,
                "when": {"keywords": ["灯箱广告"]},
                "primary": "cgj",
                "confidence": 0.7,
            }
        ]
    }
    page.set_input_files(
        "#import-file",
        files=[
            {
                "name": "rules.yaml",
                "mimeType": "application/yaml",
                "buffer": yaml.safe_dump(good, allow_unicode=True).encode(),
            }
        ],
    )
    expect(page.locator("#import-text")).to_have_value(re.compile("T-IMPORT"))
    page.click("#import-submit")
    expect(page.locator("#import-result")).to_contain_text("导入成功：新建 1 条，修改 0 条，删除 0 条")
    expect(page.locator("#import-error")).to_be_hidden()
    expect(page.locator("#rules-table tr[data-code='T-IMPORT']")).to_be_visible()
    assert codes(session) == before | {"T-PAGE", "T-IMPORT"}
    imported = session.scalars(select(DispatchRuleChange).where(DispatchRuleChange.rule_code == "T-IMPORT")).one()
    assert (imported.action, imported.source, imported.changed_by_name) == ("create", "import", admin_name)
    page.click("#import-close")

    # --- delete, after a confirm (cancelling keeps the rule)
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button.rule-delete").click()
    expect(row).to_be_visible()
    assert rule(session, "T-PAGE") is not None
    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.locator("button.rule-delete").click()
    expect(page.locator("#staff-flash")).to_have_text("已删除规则 T-PAGE")
    expect(row).to_have_count(0)
    assert messages and "T-PAGE" in messages[0]
    assert rule(session, "T-PAGE") is None and codes(session) == before | {"T-IMPORT"}
    newest = DispatchRuleChange.id.desc()
    last = session.scalars(
        select(DispatchRuleChange).where(DispatchRuleChange.rule_code == "T-PAGE").order_by(newest)
    ).first()
    assert last is not None and (last.action, last.changed_by_name, last.after) == ("delete", admin_name, None)

    # --- logout forgets the token
    page.click("#staff-logout")
    expect(page.locator("#staff-login")).to_be_visible()
    expect(page.locator("#staff-main")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('hotline.token')") is None
    # No CSP violation, no script error: only the API's refusals the test provoked.
    expected = re.compile(r"Failed to load resource: the server responded with a status of (401|409|422) ")
    assert [p for p in problems if not expected.match(p)] == []


def test_dispatcher_sees_the_catalogue_without_edit_controls(
    pg_city: tuple[Session, City], web: str, browser_page: tuple[Any, list[str]]
) -> None:
    from playwright.sync_api import expect

    session, city = pg_city
    page, problems = browser_page
    before = codes(session)
    changes = change_count(session)
    page.goto(web + PAGE)
    sign_in(page, web, "dispatcher")
    expect(page.locator("#staff-user")).to_contain_text("（派单员）")
    expect(page.locator("#rules-table tbody tr")).to_have_count(len(before))
    for hidden in ("#rule-new", "#catalogue-import-open"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#catalogue-export")).to_be_visible()
    expect(page.locator("button.rule-delete")).to_have_count(0)
    first = page.locator("#rules-table tbody tr").first
    expect(first.locator("button.rule-open")).to_have_text("查看")
    first.locator("button.rule-open").click()
    expect(page.locator("#editor-title")).to_contain_text("查看规则")
    expect(page.locator("#rule-save")).to_be_hidden()
    for field in ("#f-name", "#f-priority", "#f-confidence", "#f-primary", "#f-assists", "#f-when", "#f-enabled"):
        expect(page.locator(field)).to_be_disabled()
    page.click("#rule-history")
    expect(page.locator("#history-panel")).to_be_visible()
    with page.expect_download() as info:
        page.click("#catalogue-export")
    assert info.value.suggested_filename.endswith(".yaml")

    # the API refuses the dispatcher anyway, and the shell says so in Chinese
    code = sorted(before)[0]
    message = page.evaluate(
        """code => Staff.api('/api/v1/dispatch/rules/' + encodeURIComponent(code), {method: 'DELETE'})
             .then(() => 'deleted', e => e.status + ' ' + e.message)""",
        code,
    )
    assert message == "403 派单员不能执行此操作；只有管理员可以"
    status = page.evaluate(
        """code => fetch('/api/v1/dispatch/rules/' + code, {method: 'DELETE',
             headers: {Authorization: 'Bearer ' + sessionStorage.getItem('hotline.token')}}).then(r => r.status)""",
        code,
    )
    assert status == 403
    assert codes(session) == before and change_count(session) == changes
    assert [p for p in problems if "status of 403 " not in p] == []


def test_api_errors_are_shown_in_chinese(web: str, browser_page: tuple[Any, list[str]]) -> None:
    """The shell's messages for a 401, a 422 with per-field details and a 409 (the API's one error shape)."""
    from playwright.sync_api import expect

    page, _problems = browser_page
    page.goto(web + PAGE)
    expect(page.locator("#staff-login")).to_be_visible()
    shown = page.evaluate(
        """() => [
          Staff.errorMessage(422, {code: 'invalid_input', detail: '提交的内容有误：priority：不能大于 1000',
                                   errors: [{loc: ['body', 'priority'], type: 'less_than_equal', msg: '不能大于 1000'},
                                            {loc: ['body', 'name'], msg: '必填', type: 'missing'}]},
                             {priority: '优先级', name: '名称'}),
          Staff.errorMessage(409, {code: 'stale_revision', detail: '规则已被他人修改（当前为第 3 版），请刷新后重试',
                                   errors: []}),
          Staff.errorMessage(409, {code: 'conflict', detail: '', errors: []}),
          Staff.errorMessage(401, {detail: 'x'}),
          Staff.errorMessage(500, null),
        ]"""
    )
    assert shown == [
        "提交的内容有误：优先级：不能大于 1000；名称：必填",
        "规则已被他人修改（当前为第 3 版），请刷新后重试",
        "操作冲突，请刷新后重试",
        "未登录或登录已过期，请重新登录",
        "服务器出错（500），请稍后再试或联系管理员",
    ]
    # a stale token: the API's 401 brings the login form back
    page.evaluate("sessionStorage.setItem('hotline.token', 'not-a-token')")
    page.reload()
    expect(page.locator("#staff-login-error")).to_have_text("未登录或登录已过期，请重新登录")
    assert page.evaluate("sessionStorage.getItem('hotline.token')") is None


def test_page_and_static_files_have_security_headers(web: str) -> None:
    with httpx.Client(base_url=web) as client:
        page = client.get(PAGE)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp and "http" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-frame-options"] == "DENY"
        html = page.text
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts and all(re.search(r'\bsrc="/static/[a-z]+/[a-z]+\.js"', s) for s in scripts)
        assert "<style" not in html and " style=" not in html and "http" not in html.split("<body>", 1)[0]
        for path in STATIC:
            answer = client.get(path)
            assert answer.status_code == 200, path
            kind = "javascript" if path.endswith(".js") else "css"
            assert kind in answer.headers["content-type"], path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["content-security-policy"] == csp
            assert answer.headers["cross-origin-resource-policy"] == "same-origin"
        assert client.get("/static/staff/missing.js").status_code == 404
        assert client.get("/static/dispatch/..%2Fpages.py").status_code == 404
        assert client.get("/static/dispatch/%2e%2e/pages.py").status_code == 404
