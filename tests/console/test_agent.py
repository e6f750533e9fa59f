"""The agent's desk (/console/agent) in headless Chromium against the product on PostgreSQL: a call
replayed through the AMI server and the real bridge pops on the agent's screen with the caller's
open tickets; the agent registers the appeal taking the classifier's proposed category (the
safety rule shown in red), with address completion from the gazetteer; a 422 shows beside its
field; the half-filled form survives a token expiry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.db import get_sessionmaker
from hotline.enums import TicketStatus
from hotline.models import Ticket, User
from telephony import screenpop
from telephony.amiserver import AMIServer, AMIServerThread
from telephony.bridge import BridgeConfig
from telephony.client import AMITarget
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser, shot
from tests.core.factory import ticket_in
from tests.dispatch.conftest import City
from tests.telephony.conftest import BridgeRunner, play, wait_play

pytestmark = [pytest.mark.browser]
AGENT_IFACE = "Local/8001@hotline-agents/n"  # the seat the recorded calls ring


@pytest.fixture
def phone_system(pg: tuple[Session, Org], console_url: str) -> Iterator[AMIServerThread]:
    """The AMI server replaying recorded calls, and the real bridge on the console's database
    publishing screen pops to the server's streams; the test agent sits at the seat they ring."""
    session, org = pg
    session.execute(update(User).where(User.id == org.users["agent"]).values(extension=AGENT_IFACE))
    session.commit()
    ami = AMIServerThread(AMIServer(time_scale=0.05, login_fail_delay=0.05)).start()
    target = AMITarget("127.0.0.1", ami.server.port, "hotline", "secret")
    config = BridgeConfig(target, ping_interval=30.0, backoff_min=0.05, backoff_max=0.2)
    runner = BridgeRunner(config, get_sessionmaker(), screenpop.hub.publish).start()
    runner.wait_connected()
    try:
        yield ami
    finally:
        runner.stop()
        ami.stop()


def test_a_replayed_call_pops_on_the_agents_screen_with_history(
    browser: Browser, pg: tuple[Session, Org], phone_system: AMIServerThread
) -> None:
    from playwright.sync_api import expect

    session, org = pg
    earlier = ticket_in(session, org, TicketStatus.in_progress, phone="13800000001")
    session.commit()
    page = browser.login("agent", PASSWORD, "/agent")
    expect(page.locator("[data-test=pop-connection]")).to_have_text("弹屏已连接")
    expect(page.locator("[data-test=agent-state]")).to_contain_text("示闲")
    wait_play(phone_system, play(phone_system, "01_inbound_answered"))
    pop = page.locator("[data-test=screen-pop]")
    expect(pop).to_be_visible()
    expect(page.locator("[data-test=pop-caller]")).to_have_text("+8613800000001")
    expect(pop.locator("[data-test=pop-open-tickets]")).to_contain_text(earlier.number)
    expect(pop.locator("[data-test=pop-open-tickets]")).to_contain_text(earlier.title)
    # the caller goes into the form, and the call's id with it (the ticket links to the call)
    expect(page.locator("input[data-test=intake-phone]")).to_have_value("+8613800000001")
    expect(page.locator("input[data-test=intake-name]")).to_have_value("张先生")
    linkedid = pop.get_attribute("data-linkedid")
    assert linkedid
    # the agent starts typing: the classifier's proposals and the safety rule beside the form
    page.fill("input[data-test=intake-title]", "楼道燃气味很重")
    page.fill(
        "textarea[data-test=intake-content]", "锦绣华庭3栋楼道里一股很浓的煤气味，怀疑燃气泄漏，请赶紧派人来查看。"
    )
    expect(page.locator("[data-test=proposal-category-0]")).to_be_visible(timeout=30_000)
    shot(page, "agent-console.png")
    # a second call from the same number: the first one now counts
    wait_play(phone_system, play(phone_system, "01_inbound_answered"))
    expect(page.locator("[data-test=pop-prior]")).to_contain_text("此前来电 1 次")
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def choose_tag(page: Any, test_id: str) -> str:
    tag = page.locator(f"[data-test={test_id}]")
    tag.click()
    return str(tag.inner_text()).rsplit(" ", 1)[0]


def take_proposals(browser: Browser, page: Any) -> str:
    """Take the model's first proposed category and appeal type (求助 where it proposes none), and
    锦绣华庭 from the address completion (the gazetteer); answers the category taken."""
    from playwright.sync_api import expect

    category = choose_tag(page, "proposal-category-0")
    if page.locator("[data-test=proposal-appeal_type-0]").count():
        page.locator("[data-test=proposal-appeal_type-0]").click()
    else:
        browser.choose(page, "诉求类型", "求助")
    address = page.locator("input[data-test=intake-address]")
    address.fill("西城区锦绣华")
    page.locator(".el-autocomplete-suggestion li", has_text="锦绣华庭").first.click()
    expect(address).to_have_value("西城区锦绣华庭")
    return category


def test_agent_registers_taking_the_proposed_category(browser: Browser, console_city: tuple[Session, City]) -> None:
    from playwright.sync_api import expect

    session, _city = console_city
    page = browser.login("agent", PASSWORD, "/agent")
    page.fill("input[data-test=intake-phone]", "13912345678")
    page.fill("input[data-test=intake-name]", "李女士")
    page.fill("input[data-test=intake-title]", "小区燃气泄漏")
    page.fill(
        "textarea[data-test=intake-content]",
        "锦绣华庭3栋楼道里一股很浓的煤气味，怀疑燃气泄漏，请赶紧派人来查看。",
    )
    # the safety rule fires in red and sets the urgency; the model's proposals come as choices
    expect(page.locator("[data-test=safety-rule]")).to_contain_text("燃气")
    expect(page.locator("[data-test=proposal-category-0]")).to_be_visible(timeout=30_000)
    assert re.search(r"\d+%$", page.locator("[data-test=proposal-category-0]").inner_text())
    category = take_proposals(browser, page)
    page.keyboard.press("Control+Enter")
    expect(page.locator("[data-test=registered]")).to_contain_text(re.compile(r"\d{8}-\d{6}"))
    session.expire_all()
    ticket = session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket is not None and ticket.title == "小区燃气泄漏"
    assert ticket.category == category and ticket.address == "西城区锦绣华庭"
    assert ticket.urgency in ("urgent", "critical")  # the safety rule's floor
    # the form is clear for the next appeal, the caller kept
    expect(page.locator("input[data-test=intake-title]")).to_have_value("")
    expect(page.locator("input[data-test=intake-phone]")).to_have_value("13912345678")
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_a_422_shows_beside_its_field_and_the_form_survives_an_expired_token(
    browser: Browser, pg: tuple[Session, Org], console_city: tuple[Session, City]
) -> None:
    from playwright.sync_api import expect

    session, org = pg
    page = browser.login("agent", PASSWORD, "/agent")
    page.fill("input[data-test=intake-phone]", "12")
    page.fill("input[data-test=intake-title]", "路灯不亮")
    page.fill("textarea[data-test=intake-content]", "桃山路的路灯坏了一个星期了")
    browser.choose(page, "诉求类型", "求助")
    page.click("[data-test=intake-submit]")
    phone_item = page.locator(".el-form-item", has=page.locator("label:text-is('来电号码')"))
    expect(phone_item.locator(".el-form-item__error")).to_contain_text("不是有效的电话号码")
    assert session.scalar(select(Ticket.id)) is None
    # the token stops working while the agent types (the account disabled, as when it expires):
    # the login shows over the page, and after logging in again the form is as it was
    session.execute(update(User).where(User.id == org.users["agent"]).values(active=False))
    session.commit()
    page.fill("input[data-test=intake-phone]", "13800000002")
    page.click("[data-test=intake-submit]")
    dialog = page.locator(".relogin-dialog")
    expect(dialog).to_be_visible()
    session.execute(update(User).where(User.id == org.users["agent"]).values(active=True))
    session.commit()
    dialog.locator("input[name=password]").fill(PASSWORD)
    dialog.locator("[data-test=login-submit]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("input[data-test=intake-title]")).to_have_value("路灯不亮")
    page.click("[data-test=intake-submit]")
    expect(page.locator("[data-test=registered]")).to_contain_text(re.compile(r"\d{8}-\d{6}"))
    session.expire_all()
    assert session.scalar(select(Ticket.title)) == "路灯不亮"
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(401, 422) == []
