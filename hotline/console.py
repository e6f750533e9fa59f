"""Serving the staff console (the Vue application in ``console/``, built into ``console_dist/``).

``/console/…`` answers the application's ``index.html`` (the browser's router takes the rest of
the path); ``/console/assets/…`` answers the built files, named by their content hash, so they
are cached for a year, in the brotli or gzip copy the build wrote beside each one when the
browser accepts it. Every answer carries a strict Content-Security-Policy: scripts, styles and
data only from this origin, no inline script or style (a center's intranet has no CDN).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from hotline.errors import NotFound

if TYPE_CHECKING:
    from fastapi import FastAPI

DIST_DIR = Path(__file__).resolve().parent / "console_dist"
ASSETS_DIR = DIST_DIR / "assets"
PREFIX = "/console"
# Addresses of the pages before the console, kept for bookmarks.
MOVED = {"/admin/dispatch/rules": f"{PREFIX}/admin/dispatch-rules"}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
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
ASSET_HEADERS = {
    **_COMMON,
    "Cache-Control": "public, max-age=31536000, immutable",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Vary": "Accept-Encoding",
}
# Copies the build writes beside a file (vite-plugin-compression2), best first.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>控制台尚未构建</title>
<h1>控制台尚未构建</h1><p>运行 <code>scripts/install</code>（需要 Node.js 20 与 npm）后重新启动。</p></html>"""


@lru_cache(maxsize=1)
def _index(mtime: float) -> str:
    return (DIST_DIR / "index.html").read_text(encoding="utf-8")


def index_page() -> Response:
    """The application's page (any path under /console/: the browser's router decides)."""
    index = DIST_DIR / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=PAGE_HEADERS)
    return HTMLResponse(_index(index.stat().st_mtime), headers=PAGE_HEADERS)


def accepted(header: str) -> set[str]:
    """The codings an ``Accept-Encoding`` header accepts (q=0 excluded)."""
    out = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        out.add(name.strip().lower())
    return out


def asset(path: str, request: Request) -> Response:
    """A built file, compressed when the browser accepts it; names never leave the assets folder."""
    target = (ASSETS_DIR / path).resolve()
    if not target.is_relative_to(ASSETS_DIR) or not target.is_file() or target.suffix in (".br", ".gz"):
        raise NotFound("文件不存在")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "application/javascript":
        media_type += "; charset=utf-8"
    codings = accepted(request.headers.get("accept-encoding", ""))
    for coding, suffix in ENCODINGS:
        compressed = target.with_name(target.name + suffix)
        if coding in codings and compressed.is_file():
            return FileResponse(
                compressed, media_type=media_type, headers={**ASSET_HEADERS, "Content-Encoding": coding}
            )
    return FileResponse(target, media_type=media_type, headers=ASSET_HEADERS)


def _redirect_to(target: str) -> Callable[[], RedirectResponse]:
    def moved() -> RedirectResponse:
        return RedirectResponse(target, status_code=308)

    return moved


def install(app: FastAPI) -> None:
    """The console's routes; ``/`` opens it."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    for old, new in MOVED.items():
        app.add_api_route(old, _redirect_to(new), methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{PREFIX}/assets/{{path:path}}", asset, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(PREFIX, index_page, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{PREFIX}/{{path:path}}", index_page, methods=["GET"], include_in_schema=False)
