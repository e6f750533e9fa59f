"""The 派单目录 page of the console (/console/admin/dispatch-rules) in headless Chromium against the
product on PostgreSQL: an admin creates, edits (and meets a concurrent edit), reads the history,
exports, imports (a bad file changes nothing) and deletes; a dispatcher only looks."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.models import DispatchRule, DispatchRuleChange
from hotline.models import Department
from tests.conftest import PASSWORD, login
from tests.console.conftest import Browser
from tests.dispatch.conftest import City

pytestmark = [pytest.mark.browser]
PAGE = "/admin/dispatch-rules"


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


def row_of(page: Any, code: str) -> Any:
    return page.locator(".rules-table tbody tr", has=page.locator("td.code", has_text=re.compile(f"^{code}$")))


def test_admin_creates_edits_reads_history_exports_imports_and_deletes(
    console_city: tuple[Session, City], browser: Browser
) -> None:
    from playwright.sync_api import expect

    session, city = console_city
    before = codes(session)
    assert len(before) > 50  # the shipped catalogue
    admin_name = city.user(session, "admin").display_name
    cgj = f"{dept_name(session, 'cgj')}（cgj）"

    page = browser.login("admin", PASSWORD, PAGE)
    expect(page.locator("[data-test=current-user]")).to_have_text(f"{admin_name}（管理员）")
    rows = page.locator(".rules-table tbody tr")
    expect(rows).to_have_count(len(before))

    # department codes are shown with their names
    sample = session.scalars(
        select(DispatchRule).where(DispatchRule.primary.not_like("@%")).order_by(DispatchRule.code)
    ).first()
    assert sample is not None
    expect(row_of(page, sample.code).locator("td.primary")).to_have_text(
        f"{dept_name(session, sample.primary)}（{sample.primary}）"
    )
    # enum values in conditions are shown by their Chinese names
    praise = row_of(page, "PRAISE-URBAN")
    expect(praise).to_contain_text("诉求类型：表扬/感谢")
    expect(praise).not_to_contain_text("praise")
    # search filters the table
    search = page.locator("input[data-test=rule-search]")
    search.fill(sample.code)
    expect(row_of(page, sample.code)).to_be_visible()
    assert rows.count() < len(before)
    search.fill("没有这样的规则xyz")
    expect(rows).to_have_count(0)
    search.fill("")
    expect(rows).to_have_count(len(before))

    # --- create: bad JSON and an unknown condition are shown, nothing is stored
    page.click("[data-test=rule-new]")
    editor = page.locator(".el-dialog", has_text="新建规则")
    editor.locator("input[name=code]").fill("T-PAGE")
    editor.locator("input[name=name]").fill("霓虹灯箱扰民")
    editor.locator("input[name=priority]").fill("99")
    editor.locator("input[name=confidence]").fill("0.85")
    browser.choose(editor, "主办单位", cgj, search="cgj")
    browser.choose(editor, "协办单位", "属地街道（镇）")
    page.keyboard.press("Escape")
    when = page.locator("[data-test=rule-when]")
    when.fill('{"any": [{"keywords": ["霓虹灯"]}')
    page.click("[data-test=rule-save]")
    when_error = editor.locator(".el-form-item", has=when).locator(".el-form-item__error")
    expect(when_error).to_contain_text("不是有效的 JSON")
    when.fill('{"colour": ["红"]}')
    page.click("[data-test=rule-save]")
    expect(editor.get_by_text("未知条件")).to_be_visible()
    assert rule(session, "T-PAGE") is None and codes(session) == before

    when.fill('{"any": [{"keywords": ["霓虹灯", "灯箱"]}], "none": [{"keywords": ["路灯"]}]}')
    summary = "条件摘要：含任一词：霓虹灯、灯箱 且 非（含任一词：路灯）"
    expect(page.locator("[data-test=rule-when-summary]")).to_have_text(summary)
    page.click("[data-test=rule-save]")
    expect(page.locator(".el-message--success").last).to_have_text("已保存规则 T-PAGE（第 1 版）")
    expect(editor).to_be_hidden()
    row = row_of(page, "T-PAGE")
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
    editor = page.locator(".el-dialog", has_text="编辑规则 T-PAGE")
    expect(editor).to_be_visible()
    assert editor.locator("input[name=code]").evaluate("el => el.readOnly")
    expect(editor.locator("input[name=priority]")).to_have_value("99")
    editor.locator("input[name=name]").fill("霓虹灯、灯箱光污染")
    editor.locator("input[name=priority]").fill("98")
    page.click("[data-test=rule-save]")
    expect(page.locator(".el-message--success").last).to_have_text("已保存规则 T-PAGE（第 2 版）")
    edited = rule(session, "T-PAGE")
    assert edited is not None and (edited.name, edited.priority, edited.revision) == ("霓虹灯、灯箱光污染", 98, 2)

    # --- a concurrent edit: the page's save is refused and says so, the other edit stays
    row.locator("button.rule-open").click()
    expect(editor).to_contain_text("第 2 版")
    with httpx.Client(base_url=browser.base) as client:
        other = client.patch(
            "/api/v1/dispatch/rules/T-PAGE", headers=login(client, "admin"), json={"revision": 2, "confidence": 0.8}
        )
        assert other.status_code == 200 and other.json()["revision"] == 3
    editor.locator("input[name=priority]").fill("97")
    page.click("[data-test=rule-save]")
    stale_alert = page.locator("[data-test=rule-stale]")
    expect(stale_alert).to_contain_text("该规则已被他人修改")
    stale = rule(session, "T-PAGE")
    assert stale is not None and (stale.priority, stale.confidence, stale.revision) == (98, 0.8, 3)
    stale_alert.get_by_role("button", name="刷新").click()
    expect(editor).to_contain_text("第 3 版")
    expect(editor.locator("input[name=confidence]")).to_have_value("0.80")
    expect(stale_alert).to_be_hidden()
    editor.locator("input[name=priority]").fill("97")
    page.click("[data-test=rule-save]")
    expect(page.locator(".el-message--success").last).to_have_text("已保存规则 T-PAGE（第 4 版）")
    saved = rule(session, "T-PAGE")
    assert saved is not None and (saved.priority, saved.confidence, saved.revision) == (97, 0.8, 4)

    # --- the history of the rule: who, when, before → after
    row.locator("button.rule-history").click()
    history_dialog = page.locator(".el-dialog", has_text="规则 T-PAGE 的变更记录")
    history = history_dialog.locator(".history-table tbody tr")
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
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    # ... and of the whole catalogue
    page.click("[data-test=catalogue-history]")
    all_history = page.locator(".el-dialog", has_text="派单目录变更记录（最近 200 条）")
    expect(all_history.locator("td.rule-code", has_text="T-PAGE")).to_have_count(4)
    assert all_history.locator(".history-table tbody tr").count() == min(200, change_count(session))
    page.keyboard.press("Escape")

    # --- export: a YAML download of exactly the stored catalogue
    with page.expect_download() as info:
        page.click("[data-test=catalogue-export]")
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
    page.click("[data-test=catalogue-import]")
    importer = page.locator(".el-dialog", has_text="导入派单目录")
    bad = {
        "rules": [
            {**page_rule, "priority": 10},
            {"code": "T-BAD", "name": "坏规则", "when": {"keywords": ["某事"]}, "primary": "no-such-dept"},
        ]
    }
    text = importer.locator("[data-test=import-text]")
    text.fill(yaml.safe_dump(bad, allow_unicode=True))
    importer.locator("[data-test=import-submit]").click()
    import_error = importer.locator("[data-test=import-error]")
    expect(import_error).to_contain_text("导入失败，派单目录未作任何修改")
    expect(import_error).to_contain_text("no-such-dept")
    text.fill("rules: [ {code: T-X, name: 缺括号")
    importer.locator("[data-test=import-submit]").click()
    expect(import_error).to_contain_text("YAML 格式错误")
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
    upload = {"name": "rules.yaml", "mimeType": "application/yaml", "buffer": yaml.safe_dump(good).encode()}
    importer.locator("input[type=file]").set_input_files(files=[upload])
    expect(text).to_have_value(re.compile("T-IMPORT"))
    importer.locator("[data-test=import-submit]").click()
    expect(importer.locator("[data-test=import-result]")).to_contain_text("导入成功：新建 1 条，修改 0 条，删除 0 条")
    expect(import_error).to_be_hidden()
    expect(row_of(page, "T-IMPORT")).to_be_visible()
    assert codes(session) == before | {"T-PAGE", "T-IMPORT"}
    imported = session.scalars(select(DispatchRuleChange).where(DispatchRuleChange.rule_code == "T-IMPORT")).one()
    assert (imported.action, imported.source, imported.changed_by_name) == ("create", "import", admin_name)
    page.keyboard.press("Escape")

    # --- delete, after a confirm (cancelling keeps the rule)
    row.locator("button.rule-delete").click()
    confirm = page.locator(".el-message-box")
    expect(confirm).to_contain_text("确定删除规则 T-PAGE")
    confirm.get_by_role("button", name="取消").click()
    expect(row).to_be_visible()
    assert rule(session, "T-PAGE") is not None
    row.locator("button.rule-delete").click()
    confirm.get_by_role("button", name="删除").click()
    expect(page.locator(".el-message--success").last).to_have_text("已删除规则 T-PAGE")
    expect(row).to_have_count(0)
    assert rule(session, "T-PAGE") is None and codes(session) == before | {"T-IMPORT"}
    newest = DispatchRuleChange.id.desc()
    last = session.scalars(
        select(DispatchRuleChange).where(DispatchRuleChange.rule_code == "T-PAGE").order_by(newest)
    ).first()
    assert last is not None and (last.action, last.changed_by_name, last.after) == ("delete", admin_name, None)
    # No CSP violation, no script error: only the API's refusals the test provoked.
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(409, 422) == []


def test_dispatcher_sees_the_catalogue_without_edit_controls(
    console_city: tuple[Session, City], browser: Browser
) -> None:
    from playwright.sync_api import expect

    session, city = console_city
    before = codes(session)
    changes = change_count(session)
    page = browser.login("dispatcher", PASSWORD, PAGE)
    expect(page.locator(".rules-table tbody tr")).to_have_count(len(before))
    for hidden in ("rule-new", "catalogue-import"):
        expect(page.locator(f"[data-test={hidden}]")).to_have_count(0)
    expect(page.locator("[data-test=catalogue-export]")).to_be_visible()
    expect(page.locator("button.rule-delete")).to_have_count(0)
    first = page.locator(".rules-table tbody tr").first
    expect(first.locator("button.rule-open")).to_have_text("查看")
    first.locator("button.rule-open").click()
    viewer = page.locator(".el-dialog", has_text="查看规则")
    expect(viewer).to_be_visible()
    expect(page.locator("[data-test=rule-save]")).to_have_count(0)
    for field in ("input[name=name]", "input[name=priority]", "input[name=confidence]", "[data-test=rule-when]"):
        expect(viewer.locator(field)).to_be_disabled()
    viewer.get_by_role("button", name="变更记录").click()
    expect(page.locator(".el-dialog", has_text="的变更记录")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    with page.expect_download() as info:
        page.click("[data-test=catalogue-export]")
    assert info.value.suggested_filename.endswith(".yaml")

    # the API refuses the dispatcher anyway
    code = sorted(before)[0]
    status = page.evaluate(
        """code => fetch('/api/v1/dispatch/rules/' + code, {method: 'DELETE',
             headers: {Authorization: 'Bearer ' + sessionStorage.getItem('hotline.token')}}).then(r => r.status)""",
        code,
    )
    assert status == 403
    assert codes(session) == before and change_count(session) == changes
    assert browser.unexpected_problems(403) == []


def test_the_old_address_opens_the_console_page(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as client:
        answer = client.get("/admin/dispatch/rules")
        assert answer.status_code == 308 and answer.headers["location"] == "/console/admin/dispatch-rules"
