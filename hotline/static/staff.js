/* The staff page shell: login, the bearer token in sessionStorage, API calls, errors in Chinese.
 *
 * A page script calls Staff.start(function (user) { ... }) and then Staff.api(path, options).
 * Staff.api rejects with a Staff.ApiError whose .message is ready to show. */
(function () {
  "use strict";

  var TOKEN_KEY = "hotline.token";
  var USER_KEY = "hotline.user";
  var ROLE_LABELS = {
    agent: "话务员", dispatcher: "派单员", dept_handler: "承办人员", dept_head: "承办单位领导",
    callback_agent: "回访员", supervisor: "督办员", admin: "管理员"
  };
  var FIELD_LABELS = { username: "用户名", password: "密码" };
  function byId(id) { return document.getElementById(id); }

  /* h("tr", {class: "x", onclick: fn}, child, "text", [more]) → an element; text is never parsed as HTML. */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var key;
    attrs = attrs || {};
    for (key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] === null || attrs[key] === undefined) continue;
      var value = attrs[key];
      if (key.slice(0, 2) === "on" && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (value === true) el.setAttribute(key, "");
      else if (value !== false) el.setAttribute(key, String(value));
    }
    append(el, Array.prototype.slice.call(arguments, 2));
    return el;
  }

  function append(el, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) append(el, child);
      else el.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    });
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  /* A non-2xx answer. The API answers every error in one shape: {code, detail, errors: [{loc, msg, type}]}. */
  function ApiError(status, message, body) {
    this.name = "ApiError";
    this.status = status;
    this.message = message;
    this.body = body;
    this.code = body && typeof body === "object" ? body.code || null : null;
    this.errors = body && typeof body === "object" && Array.isArray(body.errors) ? body.errors : [];
  }
  ApiError.prototype = Object.create(Error.prototype);

  /* One field at fault, named with the page's labels ("优先级：不能大于 1000"); msg is already Chinese. */
  function fieldText(err, labels) {
    var loc = (err.loc || []).filter(function (p) { return p !== "body" && p !== "query" && p !== "path"; });
    var field = loc.length ? loc.map(function (p) { return labels[p] || FIELD_LABELS[p] || p; }).join(" › ") : "请求";
    return field + "：" + (err.msg || "");
  }

  /* The message to show for an API answer that is not 2xx. */
  function errorMessage(status, body, labels) {
    labels = labels || {};
    var detail = body && typeof body === "object" && typeof body.detail === "string" ? body.detail : "";
    var errors = body && typeof body === "object" && Array.isArray(body.errors) ? body.errors : [];
    if (status === 401) return "未登录或登录已过期，请重新登录";
    if (status === 422 && errors.length) {
      return "提交的内容有误：" + errors.map(function (e) { return fieldText(e, labels); }).join("；");
    }
    if (detail) return detail;
    if (status === 403) return "无权执行此操作（需要相应角色）";
    if (status === 404) return "未找到";
    if (status === 409) return "操作冲突，请刷新后重试";
    if (status === 413) return "内容过大";
    if (status === 429) return "操作过于频繁，请稍后再试";
    if (status >= 500) return "服务器出错（" + status + "），请稍后再试或联系管理员";
    return "请求失败（" + status + "）";
  }

  var state = { user: null, onReady: null, started: false };

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function forget() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    state.user = null;
  }

  /* fetch with the bearer token; answers parsed JSON (or text), rejects with an ApiError.
   * options: method, json (a body sent as JSON), body + type (raw body), labels (field names), text (answer as text). */
  function api(path, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    var body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.type) {
      headers["Content-Type"] = options.type;
    }
    var t = token();
    if (t) headers.Authorization = "Bearer " + t;
    return fetch(path, { method: options.method || "GET", headers: headers, body: body, credentials: "omit" })
      .catch(function () { throw new ApiError(0, "无法连接服务器，请检查网络后重试", null); })
      .then(function (response) {
        var isJson = (response.headers.get("Content-Type") || "").indexOf("json") >= 0;
        var read = response.status === 204 ? Promise.resolve(null) : isJson && !options.text ? response.json() : response.text();
        return read.catch(function () { return null; }).then(function (data) {
          if (response.ok) return data;
          var err = new ApiError(response.status, errorMessage(response.status, data, options.labels), data);
          if (response.status === 401) {
            forget();
            showLogin(err.message);
          }
          throw err;
        });
      });
  }

  function flash(message, kind) {
    var el = byId("staff-flash");
    if (!el) return;
    el.textContent = message;
    el.className = "flash " + (kind || "error");
    el.hidden = !message;
  }

  function showLogin(message) {
    byId("staff-main").hidden = true;
    byId("staff-logout").hidden = true;
    byId("staff-user").textContent = "";
    byId("staff-login").hidden = false;
    var err = byId("staff-login-error");
    err.textContent = message || "";
    err.hidden = !message;
    byId("login-username").focus();
  }

  function showApp(user) {
    state.user = user;
    byId("staff-login").hidden = true;
    byId("staff-user").textContent = user.display_name + "（" + (ROLE_LABELS[user.role] || user.role) + "）";
    byId("staff-logout").hidden = false;
    byId("staff-main").hidden = false;
    document.body.classList.toggle("is-admin", user.role === "admin");
    if (state.onReady) state.onReady(user);
  }

  function login(event) {
    event.preventDefault();
    var form = event.target;
    var button = form.querySelector("button[type=submit]");
    var data = new URLSearchParams();
    data.set("username", form.username.value.trim());
    data.set("password", form.password.value);
    button.disabled = true;
    api("/api/v1/auth/token", { method: "POST", body: data.toString(), type: "application/x-www-form-urlencoded" })
      .then(function (answer) {
        sessionStorage.setItem(TOKEN_KEY, answer.access_token);
        sessionStorage.setItem(USER_KEY, JSON.stringify(answer.user));
        form.password.value = "";
        showApp(answer.user);
      })
      .catch(function (err) {
        var message = err.status === 401 ? "用户名或密码错误" : err.message;
        showLogin(message);
      })
      .then(function () { button.disabled = false; });
  }

  function logout() {
    forget();
    flash("");
    showLogin("已退出登录");
  }

  /* Run onReady(user) once the user is known (from the stored token, or after logging in). */
  function start(onReady) {
    state.onReady = onReady;
    if (state.started) return;
    state.started = true;
    byId("staff-login-form").addEventListener("submit", login);
    byId("staff-logout").addEventListener("click", logout);
    if (!token()) {
      showLogin("");
      return;
    }
    api("/api/v1/me").then(showApp).catch(function (err) { if (err.status !== 401) showLogin(err.message); });
  }

  /* Offer text as a file download (no server round trip). */
  function download(filename, text, type) {
    var url = URL.createObjectURL(new Blob([text], { type: type || "text/plain;charset=utf-8" }));
    var a = h("a", { href: url, download: filename, hidden: true });
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  }

  function formatTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    function p(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" +
      p(d.getMinutes()) + ":" + p(d.getSeconds());
  }

  window.Staff = {
    api: api, ApiError: ApiError, errorMessage: errorMessage, start: start, flash: flash, h: h, clear: clear,
    byId: byId, download: download, formatTime: formatTime, user: function () { return state.user; },
    isAdmin: function () { return !!state.user && state.user.role === "admin"; }, roleLabels: ROLE_LABELS
  };
})();
