"""The staff page shell: one HTML frame, a login form and a shared script for every staff page.

A package's page is a route answering :func:`staff_page` with its own markup and scripts; the
shell (``hotline/static/staff.js``) logs in through ``POST /api/v1/auth/token``, keeps the token in
``sessionStorage``, calls the API with it and shows the API's errors in Chinese. Scripts and
styles are files served from ``/static/<name>/`` (:func:`mount_static`), so the pages run under a
strict Content-Security-Policy with no inline script or style and nothing from another origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.responses import Response
    from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
STAFF_STATIC = "/static/staff"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_HEADERS = {**_COMMON, "Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
STATIC_HEADERS = {**_COMMON, "Cache-Control": "no-cache", "Cross-Origin-Resource-Policy": "same-origin"}


class _StaticFiles(StaticFiles):
    """Starlette's static files with the staff pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(STATIC_HEADERS)
        return response


def mount_static(app: FastAPI, name: str, directory: Path) -> None:
    """Serve ``directory`` at ``/static/<name>/`` (a package's scripts and styles)."""
    app.mount(f"/static/{name}", _StaticFiles(directory=directory), name=f"static-{name}")


def install(app: FastAPI) -> None:
    """The shell's own files: ``/static/staff/staff.js`` and ``staff.css``."""
    mount_static(app, "staff", STATIC_DIR)


def staff_page(title: str, body: str, *, scripts: Sequence[str] = (), styles: Sequence[str] = ()) -> HTMLResponse:
    """A staff page: the shell around ``body`` (trusted markup, no user data), then ``scripts``.

    ``body`` stays hidden until the user is logged in; the page's script starts with
    ``Staff.start(user => ...)``.
    """
    links = "".join(f'<link rel="stylesheet" href="{escape(href)}">' for href in (f"{STAFF_STATIC}/staff.css", *styles))
    tags = "".join(f'<script src="{escape(src)}" defer></script>' for src in (f"{STAFF_STATIC}/staff.js", *scripts))
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>{escape(title)} · 12345热线</title>{links}{tags}</head>
<body>
<header class="topbar"><span class="brand">12345政务服务便民热线</span><span class="page-title">{escape(title)}</span>
<span class="spacer"></span><span id="staff-user" class="user"></span>
<button type="button" id="staff-logout" class="link" hidden>退出登录</button></header>
<div id="staff-flash" class="flash" role="alert" hidden></div>
<section id="staff-login" class="login" hidden>
<form id="staff-login-form" class="card">
<h2>工作人员登录</h2>
<label>用户名<input id="login-username" name="username" autocomplete="username" required></label>
<label>密码<input id="login-password" name="password" type="password" autocomplete="current-password" required></label>
<p id="staff-login-error" class="error" role="alert" hidden></p>
<button type="submit" class="primary">登录</button>
</form>
</section>
<main id="staff-main" hidden>
{body}
</main>
</body></html>"""
    return HTMLResponse(html, headers=PAGE_HEADERS)
