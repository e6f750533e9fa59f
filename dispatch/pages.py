"""The 派单目录 page for staff: GET /admin/dispatch/rules (the staff shell of hotline/pages.py).

The HTML is static; ``dispatch/static/rules.js`` does everything through the dispatch API (so the
API's access rules hold: everyone on the hotline may look, only an admin may change)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hotline.pages import mount_static, staff_page

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(tags=["pages"], include_in_schema=False)

BODY = """
<section class="card toolbar">
  <input id="rule-search" type="search" placeholder="搜索编码、名称、部门、关键词" autocomplete="off">
  <span id="rule-count" class="muted"></span>
  <span class="spacer"></span>
  <button type="button" id="rule-new" class="primary admin-only" hidden>新建规则</button>
  <button type="button" id="catalogue-export">导出 YAML</button>
  <button type="button" id="catalogue-import-open" class="admin-only" hidden>导入 YAML</button>
  <button type="button" id="catalogue-history-open">目录变更记录</button>
</section>

<section id="rule-editor" class="card" hidden>
  <h2 id="editor-title"></h2>
  <form id="rule-form" novalidate>
    <div class="grid">
      <label>编码<input id="f-code" name="code" maxlength="64" required></label>
      <label class="wide">名称<input id="f-name" name="name" maxlength="200" required></label>
      <label>优先级（0–1000）<input id="f-priority" name="priority" type="number" min="0" max="1000" step="1"></label>
      <label>置信度（0–1]
        <input id="f-confidence" name="confidence" type="number" min="0.01" max="1" step="0.01"></label>
      <label>主办单位<input id="f-primary" name="primary" list="dept-list" autocomplete="off">
        <span id="f-primary-name" class="muted"></span></label>
      <label class="wide">协办单位（编码，逗号分隔）<input id="f-assists" name="assists" autocomplete="off">
        <span id="f-assists-names" class="muted"></span></label>
      <label class="inline"><input id="f-enabled" name="enabled" type="checkbox">启用</label>
      <label class="wide">备注<input id="f-note" name="note" maxlength="5000"></label>
    </div>
    <label>条件 when（JSON：all / any / none 可嵌套；条件项 keywords、keywords_all、regex、category、
      appeal_type、channel、urgency、enterprise、district、street、has_place）
      <textarea id="f-when" name="when" rows="12" spellcheck="false"></textarea></label>
    <p id="f-when-summary" class="muted"></p>
    <p id="rule-form-error" class="error" role="alert" hidden></p>
    <p id="rule-stale" class="error" role="alert" hidden>该规则已被他人修改，请刷新
      <button type="button" id="rule-reload" class="small">刷新</button></p>
    <div class="actions">
      <button type="submit" id="rule-save" class="primary admin-only" hidden>保存</button>
      <button type="button" id="rule-history">变更记录</button>
      <button type="button" id="rule-close">关闭</button>
      <span id="rule-revision" class="muted"></span>
    </div>
  </form>
</section>

<section id="import-panel" class="card" hidden>
  <h2>导入派单目录（YAML）</h2>
  <p class="muted">格式同“导出 YAML”：<code>rules: [...]</code>，可含 <code>fallbacks</code>、<code>settings</code>。
    全部校验通过才会生效；有一处错误则整个文件都不导入。</p>
  <label>选择文件<input id="import-file" type="file" accept=".yaml,.yml,text/yaml,application/yaml"></label>
  <label>或粘贴内容<textarea id="import-text" rows="10" spellcheck="false"></textarea></label>
  <div class="actions">
    <label class="inline"><input type="radio" name="import-mode" value="merge" checked>
      合并（新增和修改，不删除）</label>
    <label class="inline"><input type="radio" name="import-mode" value="replace">
      替换（删除文件中没有的规则）</label>
  </div>
  <p id="import-error" class="error" role="alert" hidden></p>
  <p id="import-result" class="ok" role="status" hidden></p>
  <div class="actions">
    <button type="button" id="import-submit" class="primary">导入</button>
    <button type="button" id="import-close">关闭</button>
  </div>
</section>

<section id="history-panel" class="card" hidden>
  <h2 id="history-title"></h2>
  <p id="history-error" class="error" role="alert" hidden></p>
  <table id="history-table">
    <thead><tr><th>时间</th><th>操作人</th><th>操作</th><th>规则</th><th>来源</th><th>变更内容</th></tr></thead>
    <tbody></tbody>
  </table>
  <div class="actions"><button type="button" id="history-close">关闭</button></div>
</section>

<section class="card">
  <p id="rules-error" class="error" role="alert" hidden></p>
  <table id="rules-table">
    <thead><tr><th>编码</th><th>名称</th><th>优先级</th><th>主办</th><th>协办</th><th>置信度</th><th>条件</th>
      <th>状态</th><th>操作</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<datalist id="dept-list"></datalist>
"""


@router.get("/admin/dispatch/rules", response_class=HTMLResponse)
def rules_page() -> HTMLResponse:
    """派单目录: the rules, their history, YAML export and import (changes: admins only)."""
    return staff_page("派单目录", BODY, scripts=["/static/dispatch/rules.js"], styles=["/static/dispatch/rules.css"])


def include_pages(app: FastAPI) -> None:
    """The page and its files (called from hotline/wiring.py)."""
    app.include_router(router)
    mount_static(app, "dispatch", STATIC_DIR)
