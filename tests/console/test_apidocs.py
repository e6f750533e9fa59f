"""/docs and /redoc render from the product's own files, offline, under their CSP."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session

from tests.conftest import Org
from tests.console.conftest import Browser


def test_the_api_docs_render_without_internet(browser: Browser, pg: tuple[Session, Org]) -> None:
    page: Any = browser.page
    outside: list[str] = []
    # Anything not from this server is refused, as on an intranet without internet.
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(browser.base)
            else (outside.append(route.request.url), route.abort())[1]
        ),
    )
    page.goto(browser.base + "/docs")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 50
    page.goto(browser.base + "/redoc")
    page.wait_for_selector("[role=menuitem], .menu-content li", timeout=60_000)
    assert outside == []
    # ReDoc's bundle always adds Redocly's logo from its CDN beside "API docs by Redocly": the CSP
    # blocks it (the image hides itself on error); nothing else is refused.
    assert [v for v in browser.csp_violations() if "cdn.redoc.ly/redoc/logo-mini.svg" not in v] == []
    assert [p for p in browser.problems if "favicon" not in p and "logo-mini.svg" not in p] == []
    for path in ("/docs", "/redoc"):
        headers = httpx.get(browser.base + path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "cdn" not in httpx.get(browser.base + path).text
