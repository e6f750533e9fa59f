"""One appeal through the whole staff console, end to end, in headless Chromium against the product
on PostgreSQL with a real Celery worker and beat on Redis, the telephony AMI server replaying a
recorded call through the real bridge:

a replayed call pops on the agent's screen; the agent registers the appeal taking the proposed
category; the worker routes it and a dispatcher dispatches it from the live queue; the department
signs, asks for an extension that the dispatcher approves, and replies with a photo; the dispatcher
accepts the reply; the worker's 回访 calls the citizen (no answer), sends the survey link and puts the
callback in the callback agents' queue; the callback agent reads the reply out and records 不满意
(未解决, a reasonable cause): the ticket is reopened (重办). Screenshots of the department's inbox
and the ticket page are written to console/docs/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.config import set_setting
from escalation.config import save_overrides
from escalation.models import CallbackAttempt
from hotline.celery_app import ROUTING_QUEUE
from hotline.enums import TicketStatus
from hotline.models import ExtensionRequest, Ticket, TimelineEvent
from telephony.amiserver import AMIServerThread, SurveyBehaviour
from tests.conftest import PASSWORD, REPO, Org
from tests.console.conftest import Browser
from tests.console.conftest import said as console_said
from tests.console.test_agent import phone_system, take_proposals  # noqa: F401 - the fixture
from tests.console.test_dispatch_pages import pick_in_tree
from tests.core.test_attachments import png_bytes
from tests.dispatch.conftest import City
from tests.escalation.helpers import limits_in_seconds
from tests.escalation.stack import QUEUE, Stack
from tests.telephony.conftest import play, wait_play

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CALLER = "13800000001"  # the number of the recorded call 01_inbound_answered
DOCS = REPO / "console" / "docs"


@pytest.fixture
def worker(
    console_url: str,
    pg: tuple[Session, Org],
    phone_system: AMIServerThread,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Iterator[Stack]:
    """A Celery worker and beat of the product on the console's database, calling through the AMI
    server (the citizen does not answer the survey call)."""
    phone_system.server.callee_behaviour[CALLER] = SurveyBehaviour("no_answer", None, None)
    stack = Stack(
        tmp_path,
        HOTLINE_AMI_HOST="127.0.0.1",
        HOTLINE_AMI_PORT=str(phone_system.server.port),
        HOTLINE_AMI_USERNAME="hotline",
        HOTLINE_AMI_SECRET="secret",
        HOTLINE_SURVEY_BASE_URL=console_url,
        HOTLINE_CALLING_HOURS="00:00-24:00",
    )
    stack.worker(queues=f"{QUEUE},{ROUTING_QUEUE}")  # the deadlines' sweep and the routing outbox
    stack.beat()
    try:
        yield stack
    finally:
        stack.stop()


def fresh(session: Session, ticket_id: int) -> Ticket:
    session.expire_all()
    found = session.get(Ticket, ticket_id)
    assert found is not None
    return found


def said(page: Any, text: str) -> None:
    # An action's answer can take seconds while the worker and beat run beside the server.
    console_said(page, text, timeout=20_000)


def submit(page: Any, dialog: Any, button: str, success: str) -> None:
    """Submit a department's dialog; if the worker touched the ticket meanwhile (a reminder), the
    page has reloaded it and kept the form: submit again."""
    from playwright.sync_api import expect

    dialog.locator(f"[data-test={button}]").click()
    outcome = page.locator(".el-message--success", has_text=success).or_(dialog.locator(".el-alert", has_text="已刷新"))
    expect(outcome.first).to_be_visible()
    if dialog.locator(".el-alert", has_text="已刷新").count():
        dialog.locator(f"[data-test={button}]").click()
    said(page, success)


def switch_user(page: Any, username: str) -> None:
    """Log out, and log in as ``username`` in the same tab."""
    page.click("[data-test=logout]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-test=login-submit]")
    page.wait_for_selector("[data-test=current-user]")


def shot(page: Any, name: str) -> None:
    """A small PNG of what the user sees, for console/README.md."""
    DOCS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # transitions settle
    page.screenshot(path=str(DOCS / name), type="png")


def test_a_call_to_a_reopened_ticket_through_every_role(
    browser: Browser,
    pg: tuple[Session, Org],
    console_city: tuple[Session, City],
    phone_system: AMIServerThread,  # noqa: F811 - the fixture imported above
    worker: Stack,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    session, city = console_city
    set_setting(session, "auto_enabled", False)  # a dispatcher decides (no 自动派单)
    limits_in_seconds(session, callback=1)  # the 回访 starts a second after the reply is accepted
    save_overrides(
        session,
        {
            "callback": {
                "ivr_attempts": 1,
                "drill": {"retry_spacing_seconds": 1, "call_timeout_seconds": 4, "sms_wait_seconds": 1},
            }
        },
    )
    session.commit()
    page = browser.page

    # --- 话务员: the call pops, the appeal is registered taking the proposed category
    browser.login("agent", PASSWORD, "/agent")
    expect(page.locator("[data-test=pop-connection]")).to_have_text("弹屏已连接")
    wait_play(phone_system, play(phone_system, "01_inbound_answered"))
    expect(page.locator("[data-test=screen-pop]")).to_be_visible()
    expect(page.locator("[data-test=pop-caller]")).to_have_text(f"+86{CALLER}")
    expect(page.locator("input[data-test=intake-phone]")).to_have_value(f"+86{CALLER}")
    page.fill("input[data-test=intake-title]", "小区楼下路面塌陷")
    page.fill(
        "textarea[data-test=intake-content]",
        "锦绣华庭南门外人行道路面塌陷出一个大坑，已经有老人绊倒，请尽快派人修复。",
    )
    expect(page.locator("[data-test=proposal-category-0]")).to_be_visible(timeout=30_000)
    category = take_proposals(browser, page)
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-test=registered]")).to_contain_text(re.compile(r"\d{8}-\d{6}"))
    session.expire_all()
    ticket = session.scalar(select(Ticket).where(Ticket.title == "小区楼下路面塌陷"))
    assert ticket is not None and ticket.category == category and ticket.source_call_id
    tid, number = ticket.id, ticket.number

    # --- 派单员: the worker routed it; dispatched to 市住建局 from the live queue
    switch_user(page, "dispatcher")
    browser.open("/dispatch/queue")
    queue = page.locator("[data-test=dispatch-queue]")
    try:
        expect(queue).to_contain_text(number, timeout=30_000)
    except AssertionError as exc:
        state = fresh(session, tid)
        raise AssertionError(f"{exc}\nticket {state.status} {state.primary_department_id}\n{worker.logs()}") from None
    page.click(f"[data-test=dispatch-{tid}]")
    dialog = page.locator(".el-dialog", has_text="派单")
    pick_in_tree(browser, dialog, "主办单位", "市住建局")
    dialog.locator(".el-form-item", has=page.locator("label:text-is('协办单位')")).locator(
        ".el-tag__close"
    ).evaluate_all("els => els.forEach(e => e.click())")
    dialog.locator("[data-test=dispatch-confirm]").click()
    said(page, f"{number} 已派单")
    assert fresh(session, tid).primary_department_id == city.dept["zjj"]

    # --- 承办单位: signs from the inbox, asks for an extension
    switch_user(page, "zjj")
    browser.open("/department/inbox")
    rows = page.locator("[data-test=dept-rows] tbody tr")
    expect(rows.filter(has_text=number)).to_have_count(1)
    expect(page.locator("[data-test=count-to_sign] sup")).to_have_text("1")
    shot(page, "department-inbox.png")
    rows.filter(has_text=number).locator("[data-test=row-sign]").click()
    said(page, f"已签收 {number}")
    page.locator("[data-test=tab-in_progress]").click()
    rows.filter(has_text=number).locator("[data-test=row-link]").click()
    expect(page.locator("[data-test=ticket-title]")).to_have_text("小区楼下路面塌陷")
    due_before = fresh(session, tid).reply_due
    page.click("[data-test=act-extension]")
    ext = page.locator(".el-dialog", has_text="申请延期")
    ext.locator("[data-test=extension-reason]").fill("需燃气、自来水管线单位配合开挖")
    submit(page, ext, "extension-submit", "延期申请已提交")

    # --- 派单员: approves the extension
    switch_user(page, "dispatcher")
    browser.open("/dispatch/extensions")
    session.expire_all()
    (request,) = session.scalars(select(ExtensionRequest).where(ExtensionRequest.ticket_id == tid))
    page.click(f"[data-test=extension-approve-{request.id}]")
    page.locator("[data-test=extension-confirm]").click()
    said(page, "已批准延期")
    after = fresh(session, tid)
    assert after.extension_count == 1 and due_before is not None and after.reply_due is not None
    assert after.reply_due > due_before

    # --- 承办单位: replies with a photo
    switch_user(page, "zjj")
    browser.open(f"/department/tickets/{tid}")
    expect(page.locator("[data-test=timeline]")).to_contain_text("延期")
    page.click("[data-test=act-reply]")
    reply = page.locator(".el-dialog", has_text="回复办理结果")
    reply.locator("[data-test=reply-handling]").fill("已组织施工单位回填夯实，重新铺设人行道砖")
    reply.locator("[data-test=reply-public]").fill("塌陷路面已修复，感谢您的反映")
    photo = tmp_path / "修复后现场.png"
    photo.write_bytes(png_bytes(16))
    reply.locator("input[type=file]").set_input_files(str(photo))
    submit(page, reply, "reply-submit", "已回复")
    page.get_by_role("tab", name=re.compile("附件")).click()
    expect(page.locator("[data-test=attachment-thumb]")).to_be_visible()
    page.get_by_role("tab", name=re.compile("全程留痕")).click()
    shot(page, "ticket-page.png")
    assert fresh(session, tid).status == TicketStatus.replied

    # --- 派单员: accepts the reply
    switch_user(page, "dispatcher")
    browser.open("/dispatch/review")
    expect(page.locator("[data-test=review-table]")).to_contain_text(number)
    page.click(f"[data-test=review-accept-{tid}]")
    answered = page.locator(".el-message", has_text="回复已通过").or_(page.locator(".el-message--error"))
    expect(answered.first).to_be_visible()
    said(page, f"{number} 回复已通过")
    expect(page.locator("[data-test=review-table]")).not_to_contain_text(number)
    assert fresh(session, tid).status == TicketStatus.awaiting_callback

    # --- the worker: the survey call is not answered, the link goes by SMS, then the queue
    deadline = time.monotonic() + 90
    while True:
        session.expire_all()
        cb = session.scalar(select(CallbackAttempt).where(CallbackAttempt.ticket_id == tid))
        if cb is not None and cb.status == "queued":
            break
        assert time.monotonic() < deadline, f"callback {cb and cb.status}\n{worker.logs()}"
        time.sleep(0.5)

    # --- 回访员: reads the reply out, records 不满意 (未解决, reasonable): the ticket is reopened
    switch_user(page, "callback")
    browser.open("/callback/queue")
    queue = page.locator("[data-test=callback-queue]")
    queue.locator("tbody tr", has_text=number).click()
    detail = page.locator("[data-test=callback-detail]")
    expect(detail.locator("[data-test=cb-reply]")).to_contain_text("塌陷路面已修复，感谢您的反映")
    detail.locator("[data-test=cb-service] label", has_text="满意").first.click()
    detail.locator("[data-test=cb-satisfaction] label", has_text="不满意").click()
    detail.locator("[data-test=cb-resolved] label", has_text="未解决").click()
    detail.locator("[data-test=cb-reason]").fill("坑是填了，但路面又沉下去了")
    detail.locator("[data-test=cb-reasonable-choice] label", has_text="合理").first.click()
    detail.locator("[data-test=cb-submit]").click()
    said(page, "工单已重办")
    expect(queue).not_to_contain_text(number)
    reopened = fresh(session, tid)
    assert reopened.reopen_count == 1 and reopened.status in (TicketStatus.dispatched, TicketStatus.in_progress)
    assert reopened.satisfaction == "unsatisfied" and reopened.service_satisfaction == "satisfied"
    actions = list(session.scalars(select(TimelineEvent.action).where(TimelineEvent.ticket_id == tid)))
    for step in ("register", "dispatch", "sign", "request_extension", "approve_extension", "reply", "accept_reply"):
        assert step in actions, (step, actions)
    assert "reopen" in actions, actions
    assert browser.csp_violations() == []
    # (a page's live refresh in flight while its user logged out is refused: 401; a version the
    # worker's reminders moved on is refused once and the page tries again with the new one: 409)
    assert browser.unexpected_problems(401, 409) == []
