/* 派单目录 page: list, search, view/edit/create/delete rules, history, YAML export and import.
 * Everything goes through /api/v1/dispatch (the API refuses changes from anyone but an admin). */
(function () {
  "use strict";

  var S = window.Staff;
  var h = S.h;
  var $ = S.byId;
  var API = "/api/v1/dispatch";
  var TOKENS = { "@street": "属地街道（镇）", "@district": "属地区", "@community": "属地社区" };
  var LEAF_LABELS = {
    keywords: "含任一词", keywords_all: "同时含", regex: "正则", category: "业务领域", appeal_type: "诉求类型",
    channel: "渠道", urgency: "紧急程度", enterprise: "涉企", district: "区", street: "街道", has_place: "有地址"
  };
  /* Enum values as the API stores them (hotline/enums.py), shown by their Chinese names. */
  var VALUE_LABELS = {
    appeal_type: { consult: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议",
      praise: "表扬/感谢", other: "其他" },
    channel: { phone: "电话", web: "网站", wechat: "微信", app: "移动应用", transfer_110: "110转办",
      grid: "网格上报", province: "省平台转办" },
    urgency: { normal: "一般", urgent: "紧急", critical: "特急" }
  };
  var FIELD_LABELS = {
    code: "编码", name: "名称", priority: "优先级", confidence: "置信度", primary: "主办单位", assists: "协办单位",
    enabled: "启用", when: "条件", note: "备注", revision: "版本"
  };
  var ACTIONS = { create: "新建", update: "修改", "delete": "删除" };
  var SOURCES = { api: "页面/接口", "import": "导入", seed: "初始数据" };

  var state = { rules: [], depts: {}, editing: null, admin: false };

  function deptLabel(code) {
    if (TOKENS[code]) return TOKENS[code];
    var name = state.depts[code];
    return name ? name + "（" + code + "）" : code + "（未知部门）";
  }

  function leafText(leaf) {
    return Object.keys(leaf).map(function (key) {
      var value = leaf[key];
      var label = LEAF_LABELS[key] || key;
      if (typeof value === "boolean") return label + "：" + (value ? "是" : "否");
      if (Array.isArray(value)) {
        var names = VALUE_LABELS[key] || {};
        var shown = value.slice(0, 6).map(function (v) { return names[v] || v; }).join("、");
        return label + "：" + shown + (value.length > 6 ? "…等" + value.length + "个" : "");
      }
      return label + "：" + value;
    }).join(" 且 ");
  }

  /* A condition tree in one line: all → 且, any → （…或…）, none → 非（…）. */
  function summarize(cond) {
    if (!cond || typeof cond !== "object") return "";
    if (!("all" in cond || "any" in cond || "none" in cond)) return leafText(cond);
    var parts = [];
    (cond.all || []).forEach(function (c) { parts.push(summarize(c)); });
    if (cond.any) {
      var any = cond.any.map(summarize);
      parts.push(any.length > 1 ? "（" + any.join(" 或 ") + "）" : any[0]);
    }
    if (cond.none) parts.push("非（" + cond.none.map(summarize).join(" 或 ") + "）");
    return parts.join(" 且 ");
  }

  function showError(id, message) {
    var el = $(id);
    el.textContent = message || "";
    el.hidden = !message;
  }

  // ------------------------------------------------------------ the table

  function searchText(rule) {
    return [rule.code, rule.name, rule.primary, deptLabel(rule.primary), rule.assists.join(" "),
      rule.assists.map(deptLabel).join(" "), JSON.stringify(rule.conditions), rule.note || ""].join(" ").toLowerCase();
  }

  function renderRules() {
    var q = $("rule-search").value.trim().toLowerCase();
    var tbody = S.clear($("rules-table").tBodies[0]);
    var shown = state.rules.filter(function (r) { return !q || searchText(r).indexOf(q) >= 0; });
    shown.forEach(function (rule) {
      tbody.appendChild(h("tr", { "data-code": rule.code, "class": rule.enabled ? null : "disabled" },
        h("td", { "class": "code" }, rule.code),
        h("td", { "class": "name" }, rule.name),
        h("td", { "class": "priority" }, rule.priority),
        h("td", { "class": "primary" }, deptLabel(rule.primary)),
        h("td", { "class": "assists" }, rule.assists.map(function (a) { return h("span", { "class": "tag" }, deptLabel(a)); })),
        h("td", { "class": "confidence" }, rule.confidence.toFixed(2)),
        h("td", { "class": "when" }, summarize(rule.conditions)),
        h("td", { "class": "status" }, rule.enabled ? "启用" : "停用"),
        h("td", { "class": "ops" },
          h("button", { type: "button", "class": "small rule-open", onclick: function () { openRule(rule.code); } },
            state.admin ? "编辑" : "查看"),
          " ",
          h("button", { type: "button", "class": "small rule-history", onclick: function () { showHistory(rule.code); } },
            "历史"),
          state.admin ? [" ", h("button", { type: "button", "class": "small danger rule-delete",
            onclick: function () { deleteRule(rule); } }, "删除")] : null)));
    });
    $("rule-count").textContent = q ? "共 " + state.rules.length + " 条，显示 " + shown.length + " 条" :
      "共 " + state.rules.length + " 条规则";
  }

  function loadRules() {
    return S.api(API + "/rules").then(function (rules) {
      state.rules = rules;
      showError("rules-error", "");
      renderRules();
    }).catch(function (err) { showError("rules-error", "加载派单目录失败：" + err.message); });
  }

  function loadDepartments() {
    return S.api("/api/v1/departments").then(function (depts) {
      var list = S.clear($("dept-list"));
      state.depts = {};
      Object.keys(TOKENS).forEach(function (t) { list.appendChild(h("option", { value: t }, TOKENS[t])); });
      depts.forEach(function (d) {
        state.depts[d.code] = d.name;
        list.appendChild(h("option", { value: d.code }, d.name));
      });
    }).catch(function (err) { S.flash("加载部门列表失败：" + err.message); });
  }

  // ------------------------------------------------------------ the editor

  function splitCodes(text) {
    return text.split(/[\s,，、;；]+/).filter(function (s) { return s; });
  }

  function showNames() {
    var primary = $("f-primary").value.trim();
    $("f-primary-name").textContent = primary ? deptLabel(primary) : "";
    $("f-assists-names").textContent = splitCodes($("f-assists").value).map(deptLabel).join("、");
    var summary = "";
    try { summary = "条件摘要：" + summarize(JSON.parse($("f-when").value)); } catch (e) { summary = ""; }
    $("f-when-summary").textContent = summary;
  }

  function fillForm(rule) {
    $("f-code").value = rule ? rule.code : "";
    $("f-name").value = rule ? rule.name : "";
    $("f-priority").value = rule ? rule.priority : 50;
    $("f-confidence").value = rule ? rule.confidence : 0.9;
    $("f-primary").value = rule ? rule.primary : "";
    $("f-assists").value = rule ? rule.assists.join(", ") : "";
    $("f-enabled").checked = rule ? rule.enabled : true;
    $("f-note").value = rule && rule.note ? rule.note : "";
    $("f-when").value = JSON.stringify(rule ? rule.conditions : { any: [{ keywords: [] }] }, null, 2);
    $("rule-revision").textContent = rule ? "第 " + rule.revision + " 版 · 更新于 " + S.formatTime(rule.updated_at) : "";
    showNames();
  }

  function openEditor(rule) {
    state.editing = rule ? { code: rule.code, revision: rule.revision } : null;
    $("editor-title").textContent = rule ? (state.admin ? "编辑规则 " : "查看规则 ") + rule.code : "新建规则";
    fillForm(rule);
    var form = $("rule-form");
    Array.prototype.forEach.call(form.querySelectorAll("input, textarea"), function (el) { el.disabled = !state.admin; });
    $("f-code").readOnly = !!rule;
    $("rule-history").hidden = !rule;
    showError("rule-form-error", "");
    $("rule-stale").hidden = true;
    $("rule-editor").hidden = false;
    $("rule-editor").scrollIntoView({ block: "start" });
  }

  function openRule(code) {
    return S.api(API + "/rules/" + encodeURIComponent(code)).then(openEditor)
      .catch(function (err) { S.flash("打开规则失败：" + err.message); });
  }

  /* The form → the API's body, or an error message. */
  function readForm() {
    var when;
    try {
      when = JSON.parse($("f-when").value);
    } catch (e) {
      return { error: "条件（when）不是有效的 JSON：" + e.message };
    }
    if (!when || typeof when !== "object" || Array.isArray(when)) {
      return { error: "条件（when）须为 JSON 对象，如 {\"any\": [{\"keywords\": [\"路灯\"]}]}" };
    }
    var priority = Number($("f-priority").value);
    if ($("f-priority").value.trim() === "" || !Number.isInteger(priority)) return { error: "优先级须为整数" };
    var confidence = Number($("f-confidence").value);
    if ($("f-confidence").value.trim() === "" || isNaN(confidence)) return { error: "置信度须为数字" };
    var note = $("f-note").value.trim();
    return {
      body: {
        name: $("f-name").value.trim(), priority: priority, confidence: confidence,
        primary: $("f-primary").value.trim(), assists: splitCodes($("f-assists").value),
        enabled: $("f-enabled").checked, when: when, note: note || null
      }
    };
  }

  function saveRule(event) {
    event.preventDefault();
    if (!state.admin) return;
    var read = readForm();
    showError("rule-form-error", read.error || "");
    $("rule-stale").hidden = true;
    if (read.error) return;
    var body = read.body;
    var request;
    if (state.editing) {
      body.revision = state.editing.revision;
      request = S.api(API + "/rules/" + encodeURIComponent(state.editing.code),
        { method: "PATCH", json: body, labels: FIELD_LABELS });
    } else {
      body.code = $("f-code").value.trim();
      request = S.api(API + "/rules", { method: "POST", json: body, labels: FIELD_LABELS });
    }
    $("rule-save").disabled = true;
    request.then(function (rule) {
      $("rule-editor").hidden = true;
      state.editing = null;
      S.flash("已保存规则 " + rule.code + "（第 " + rule.revision + " 版）", "ok");
      return loadRules();
    }).catch(function (err) {
      if (err.status === 409 && err.code === "stale_revision") {
        $("rule-stale").hidden = false;
      } else {
        showError("rule-form-error", "保存失败：" + err.message);
      }
    }).then(function () { $("rule-save").disabled = false; });
  }

  function deleteRule(rule) {
    if (!window.confirm("确定删除规则 " + rule.code + "（" + rule.name + "）吗？删除会记入变更记录。")) return;
    S.api(API + "/rules/" + encodeURIComponent(rule.code), { method: "DELETE" }).then(function () {
      if (state.editing && state.editing.code === rule.code) $("rule-editor").hidden = true;
      S.flash("已删除规则 " + rule.code, "ok");
      return loadRules();
    }).catch(function (err) { S.flash("删除失败：" + err.message); });
  }

  // ------------------------------------------------------------ history

  function show(value) {
    if (value === null || value === undefined || value === "") return "（空）";
    if (Array.isArray(value)) return value.length ? value.map(deptLabel).join("、") : "（无）";
    if (typeof value === "boolean") return value ? "是" : "否";
    return String(value);
  }

  function fieldText(key, value) {
    if (key === "when") return summarize(value) || "（空）";
    if (key === "primary") return value ? deptLabel(value) : "（空）";
    return show(value);
  }

  function diffLines(change) {
    var before = change.before || {};
    var after = change.after || {};
    if (change.action === "create" || change.action === "delete") {
      var r = change.action === "create" ? after : before;
      return [r.name + " · 优先级 " + r.priority + " · 主办 " + fieldText("primary", r.primary),
        "条件：" + fieldText("when", r.when)];
    }
    var keys = ["name", "priority", "confidence", "primary", "assists", "enabled", "when", "note"];
    return keys.filter(function (k) {
      var b = k === "enabled" ? before[k] !== false : before[k];
      var a = k === "enabled" ? after[k] !== false : after[k];
      return JSON.stringify(b === undefined ? null : b) !== JSON.stringify(a === undefined ? null : a);
    }).map(function (k) {
      var b = k === "enabled" ? before[k] !== false : before[k];
      var a = k === "enabled" ? after[k] !== false : after[k];
      return (FIELD_LABELS[k] || k) + "：" + fieldText(k, b) + " → " + fieldText(k, a);
    });
  }

  function showHistory(code) {
    $("history-title").textContent = code ? "规则 " + code + " 的变更记录" : "派单目录变更记录（最近 200 条）";
    var tbody = S.clear($("history-table").tBodies[0]);
    showError("history-error", "");
    $("history-panel").hidden = false;
    var query = "?limit=200" + (code ? "&code=" + encodeURIComponent(code) : "");
    return S.api(API + "/rule-changes" + query).then(function (changes) {
      if (!changes.length) tbody.appendChild(h("tr", {}, h("td", { colspan: 6, "class": "muted" }, "暂无变更记录")));
      changes.forEach(function (c) {
        tbody.appendChild(h("tr", { "data-action": c.action, "data-code": c.rule_code },
          h("td", { "class": "when-changed" }, S.formatTime(c.changed_at)),
          h("td", { "class": "who" }, c.changed_by_name || "系统"),
          h("td", { "class": "action act-" + c.action }, ACTIONS[c.action] || c.action),
          h("td", { "class": "rule" }, c.rule_code),
          h("td", { "class": "source" }, SOURCES[c.source] || c.source),
          h("td", { "class": "diff" }, diffLines(c).map(function (line) { return h("div", {}, line); }))));
      });
      $("history-panel").scrollIntoView({ block: "start" });
    }).catch(function (err) { showError("history-error", "加载变更记录失败：" + err.message); });
  }

  // ------------------------------------------------------------ YAML export and import

  function exportYaml() {
    S.api(API + "/catalogue/export", { text: true }).then(function (text) {
      var version = (text.match(/^catalogue_version:\s*(\d+)/m) || [])[1] || "0";
      S.download("dispatch-catalogue-v" + version + ".yaml", text, "application/yaml;charset=utf-8");
      S.flash("已导出派单目录（版本 " + version + "）", "ok");
    }).catch(function (err) { S.flash("导出失败：" + err.message); });
  }

  function readImportFile() {
    var file = $("import-file").files[0];
    if (!file) return;
    file.text().then(function (text) { $("import-text").value = text; })
      .catch(function () { showError("import-error", "无法读取所选文件"); });
  }

  function importYaml() {
    var text = $("import-text").value;
    showError("import-error", "");
    $("import-result").hidden = true;
    if (!text.trim()) {
      showError("import-error", "请选择 YAML 文件或粘贴内容");
      return;
    }
    var replace = document.querySelector("input[name=import-mode]:checked").value === "replace";
    if (replace && !window.confirm("替换模式会删除文件中没有的规则，确定导入吗？")) return;
    $("import-submit").disabled = true;
    S.api(API + "/catalogue/import?replace=" + replace,
      { method: "POST", body: text, type: "application/yaml; charset=utf-8" })
      .then(function (r) {
        var el = $("import-result");
        el.textContent = "导入成功：新建 " + r.created + " 条，修改 " + r.updated + " 条，删除 " + r.deleted +
          " 条，未变 " + r.unchanged + " 条（目录版本 " + r.version + "）";
        el.hidden = false;
        return loadRules();
      })
      .catch(function (err) { showError("import-error", "导入失败，派单目录未作任何修改：" + err.message); })
      .then(function () { $("import-submit").disabled = false; });
  }

  // ------------------------------------------------------------ start

  function wire() {
    $("rule-search").addEventListener("input", renderRules);
    $("rule-new").addEventListener("click", function () { openEditor(null); });
    $("rule-form").addEventListener("submit", saveRule);
    $("rule-close").addEventListener("click", function () { $("rule-editor").hidden = true; state.editing = null; });
    $("rule-history").addEventListener("click", function () { if (state.editing) showHistory(state.editing.code); });
    $("rule-reload").addEventListener("click", function () { if (state.editing) openRule(state.editing.code); });
    ["f-primary", "f-assists", "f-when"].forEach(function (id) { $(id).addEventListener("input", showNames); });
    $("catalogue-export").addEventListener("click", exportYaml);
    $("catalogue-import-open").addEventListener("click", function () {
      showError("import-error", "");
      $("import-result").hidden = true;
      $("import-panel").hidden = false;
    });
    $("import-file").addEventListener("change", readImportFile);
    $("import-submit").addEventListener("click", importYaml);
    $("import-close").addEventListener("click", function () { $("import-panel").hidden = true; });
    $("catalogue-history-open").addEventListener("click", function () { showHistory(null); });
    $("history-close").addEventListener("click", function () { $("history-panel").hidden = true; });
  }

  wire();
  S.start(function (user) {
    state.admin = user.role === "admin";
    Array.prototype.forEach.call(document.querySelectorAll(".admin-only"), function (el) { el.hidden = !state.admin; });
    ["rule-editor", "import-panel", "history-panel"].forEach(function (id) { $(id).hidden = true; });
    loadDepartments().then(loadRules);
  });
})();
