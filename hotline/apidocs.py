"""The API's documentation pages, served by the product itself: ``/docs`` (Swagger UI) and
``/redoc`` (ReDoc) work on an intranet without internet.

Their scripts and styles are the files the ``fastapi-offline`` package vendors (Swagger UI's
bundle and ReDoc's standalone build), served from ``/docs/static/``; the page that starts
Swagger UI is our own file (``apidocs_static/swagger-init.js``), so the pages need no inline
script and carry a Content-Security-Policy that allows scripts from this origin only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.responses import FileResponse, HTMLResponse

from hotline.errors import NotFound

if TYPE_CHECKING:
    from fastapi import FastAPI

OURS = Path(__file__).resolve().parent / "apidocs_static"
STATIC = "/docs/static"
# ReDoc styles itself with inline <style> elements and parses the document in a blob: worker.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def vendored_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("fastapi-offline is not installed (it carries the documentation pages' files)")
    return Path(spec.origin).parent / "static"


FILES = {
    "swagger-ui-bundle.js": vendored_dir() / "swagger-ui-bundle.js",
    "swagger-ui.css": vendored_dir() / "swagger-ui.css",
    "redoc.standalone.js": vendored_dir() / "redoc.standalone.js",
    "swagger-init.js": OURS / "swagger-init.js",
}

SWAGGER_PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{title}} · Swagger UI</title>
<link rel="stylesheet" href="{STATIC}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{STATIC}/swagger-ui-bundle.js"></script>
<script src="{STATIC}/swagger-init.js"></script></body></html>"""

REDOC_PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{title}} · ReDoc</title></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="{STATIC}/redoc.standalone.js"></script></body></html>"""


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their files (create the app with ``docs_url=None, redoc_url=None``)."""
    title = app.title.replace("<", "&lt;")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=title), headers=HEADERS)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(title=title), headers=HEADERS)

    @app.get(STATIC + "/{name}", include_in_schema=False)
    def static_file(name: str) -> FileResponse:
        path = FILES.get(name)
        if path is None:
            raise NotFound("文件不存在")
        media = "text/css; charset=utf-8" if name.endswith(".css") else "application/javascript; charset=utf-8"
        return FileResponse(path, media_type=media, headers={**HEADERS, "Cache-Control": "public, max-age=86400"})
