"""Fixtures of the staff console's browser tests: the run's one Chromium, one server per
test module on the run's PostgreSQL database (each test still starts from emptied tables), and
a fresh browser context per test that records script errors and CSP violations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hotline.console import DIST_DIR
from tests.browser import serve_app
from tests.conftest import Org, use_database
from tests.dispatch.conftest import City, load_city

pytestmark = [pytest.mark.browser]
SHOTS = os.environ.get("HOTLINE_CONSOLE_SHOTS")  # a folder: save the pages' screenshots there (docs)


def shot(page: Any, name: str) -> None:
    """Save the page's screenshot for the docs when HOTLINE_CONSOLE_SHOTS names a folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def said(page: Any, text: str, *, timeout: float | None = None) -> None:
    """A success message with this text is shown (earlier ones may still be fading)."""
    from playwright.sync_api import expect

    expect(page.locator(".el-message--success", has_text=text).first).to_be_visible(timeout=timeout)


@pytest.fixture(scope="session", autouse=True)
def console_built() -> None:
    if not (DIST_DIR / "index.html").is_file():
        pytest.fail("the staff console is not built: run scripts/install")


@pytest.fixture(scope="module")
def console_url(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The product served on a free port, on the run's PostgreSQL database."""
    use_database(pg_database, Path(tmp_path_factory.mktemp("console")))
    with serve_app() as url:
        yield url


class Browser:
    """A page at 1366×768 in Chinese and Beijing time, and what went wrong in it."""

    def __init__(self, context: Any, base: str) -> None:
        self.context = context
        self.base = base
        self.page = context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))

    def open(self, path: str) -> Any:
        self.page.goto(self.base + "/console" + path)
        return self.page

    def login(self, username: str, password: str, path: str = "/") -> Any:
        page = self.open(path)
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("[data-test=login-submit]")
        page.wait_for_selector("[data-test=current-user]")
        return page

    def choose(self, scope: Any, label: str, option: str, *, search: str | None = None) -> None:
        """Pick ``option`` in the Element Plus select of the form item labelled ``label``."""
        item = scope.locator(".el-form-item", has=self.page.locator(f"label:text-is('{label}')"))
        select = item.locator(".el-select")
        select.click()
        if search is not None:
            select.locator("input").fill(search)
        self.page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__csp || []"))

    def unexpected_problems(self, *allowed_statuses: int) -> list[str]:
        """Console errors other than the API refusals a test provoked on purpose."""
        allowed = tuple(f"status of {s} " for s in allowed_statuses)
        return [p for p in self.problems if not any(a in p for a in allowed)]


# Every CSP violation the page meets is kept where the test can read it.
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || ''));
});
"""


@pytest.fixture
def browser(chromium: Any, console_url: str) -> Iterator[Browser]:
    context = chromium.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768}, accept_downloads=True
    )
    context.add_init_script(CSP_WATCH)
    yield Browser(context, console_url)
    context.close()


@pytest.fixture
def console_city(pg: tuple[Session, Org], console_url: str) -> Iterator[tuple[Session, City]]:
    """The demo city (departments, catalogue, gazetteer) in the console's database."""
    session, org = pg
    yield session, load_city(session, org)
