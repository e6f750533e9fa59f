"""The supervisors' pages (/console/dashboards/…, /console/wallboard) in headless Chromium against
the product on PostgreSQL: the dashboard counts a ticket registered and dispatched through the API
as the flow does; a department head sees only their department and the units below it; the
wallboard changes, without a reload, when a call reaches the queue through the telephony bridge's
path (AMI events folded by the bridge's Tracker and written by its upserts)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dashboards.kpis import Settings
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import TicketStatus
from telephony import service as telephony_service
from telephony.state import Tracker
from tests.conftest import PASSWORD, Org
from tests.console.conftest import Browser, shot
from tests.core.factory import ticket_in, user
from tests.dashboards.seed import HOT_APPEALS, hot_topic_appeals

pytestmark = [pytest.mark.browser]


def bearer(http: httpx.Client, username: str) -> dict[str, str]:
    answer = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def register_and_dispatch(http: httpx.Client, title: str, department_id: int) -> dict[str, Any]:
    """An agent registers an appeal and a dispatcher sends it to ``department_id``, over HTTP."""
    created = http.post(
        "/api/v1/tickets",
        headers=bearer(http, "agent"),
        json={
            "title": title,
            "content": f"{title}，请尽快处理。",
            "appeal_type": "complaint",
            "phone": "13800000042",
            "address": "和平路88号",
        },
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    sent = http.post(
        f"/api/v1/tickets/{ticket['id']}/dispatch",
        headers=bearer(http, "dispatcher"),
        json={"version": ticket["version"], "primary_department_id": department_id},
    )
    assert sent.status_code == 200, sent.text
    return dict(sent.json())


def kpi(page: Any, key: str) -> Any:
    return page.locator(f"[data-kpi={key}] [data-test=kpi-value]")


def test_the_supervisors_dashboard_counts_the_ticket_the_flow_created(
    pg: tuple[Session, Org], console_url: str, browser: Browser
) -> None:
    from playwright.sync_api import expect

    _session, org = pg
    page = browser.login("supervisor", PASSWORD, "/")
    expect(page).to_have_url(re.compile(r"/console/dashboards/kpis"))  # a supervisor starts here
    expect(page.locator("[data-test=kpi-scope]")).to_have_text("全市")
    expect(kpi(page, "tickets")).to_have_text("0 件")
    # every KPI shows its definition beside it
    expect(page.locator("[data-kpi=answer_rate_15s] .kpi-definition")).to_contain_text("15秒内放弃的电话计入分母")

    with httpx.Client(base_url=console_url, timeout=120) as http:  # the first registration loads the model
        register_and_dispatch(http, "和平路夜市烧烤油烟扰民", org.dept["dc.hp"])

    page.locator("[data-test=dashboard-period] label", has_text="日").click()
    expect(page).to_have_url(re.compile(r"period=day"))
    expect(kpi(page, "tickets")).to_have_text("1 件")
    expect(page.locator("[data-kpi=tickets] .kpi-fraction")).to_have_count(0)  # a count, not a rate
    expect(kpi(page, "calls_offered")).to_have_text("0 通")  # the city sees the calls too

    # the scope narrows to a district: 西城区 has none of it, 东城区 has it
    browser.choose(page, "范围", "西城区")
    expect(page.locator("[data-test=kpi-scope]")).to_have_text("西城区")
    expect(kpi(page, "tickets")).to_have_text("0 件")
    expect(page.locator("[data-kpi=calls_offered]")).to_have_count(0)  # calls belong to no department
    browser.open(f"/dashboards/kpis?period=day&department_id={org.dept['dc']}")
    expect(kpi(page, "tickets")).to_have_text("1 件")
    shot(page, "dashboard-kpis.png")

    # the district chart's table, the overdue list (not overdue yet), the exports
    browser.open("/dashboards/analysis?period=day")
    expect(page.locator("[data-test=mix-total]")).to_have_text("1")
    expect(page.locator(".districts-table tbody tr", has_text="东城区")).to_contain_text("1")
    with page.expect_download() as info:
        page.locator("[data-test=export-districts]").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    assert Path(info.value.path()).read_bytes()[:2] == b"PK"  # a zip: a real workbook

    browser.open("/dashboards/ranking")
    expect(page.locator("[data-test=ranking-table]")).to_contain_text("东城区")
    with page.expect_download() as info:
        page.locator("[data-test=monthly-report]").click()
    assert info.value.suggested_filename.startswith("12345热线月报-全市-")

    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_a_department_head_sees_only_their_subtree(pg: tuple[Session, Org], console_url: str, browser: Browser) -> None:
    from playwright.sync_api import expect

    _session, org = pg
    with httpx.Client(base_url=console_url, timeout=120) as http:  # the first registration loads the model
        register_and_dispatch(http, "新苑社区路灯不亮", org.dept["dc.hp.xy"])
        register_and_dispatch(http, "建康街道下水道堵塞", org.dept["xc.jk"])

    page = browser.login("dc_head", PASSWORD, "/dashboards/kpis?period=day")
    expect(page.locator("[data-test=kpi-scope]")).to_have_text("东城区")
    expect(kpi(page, "tickets")).to_have_text("1 件")  # theirs, not 西城区's
    expect(page.locator("[data-kpi=calls_offered]")).to_have_count(0)
    menu = page.locator("[data-test=menu]")
    expect(menu).to_contain_text("指标看板")
    expect(menu).not_to_contain_text("数据大屏")  # the wall is city-wide

    # the scope picker offers their units only
    item = page.locator(".el-form-item", has=page.locator("label:text-is('范围')"))
    item.locator(".el-select").click()
    dropdown = page.locator(".el-select-dropdown:visible")
    expect(dropdown).to_contain_text("东城区")
    expect(dropdown).not_to_contain_text("西城区")
    page.keyboard.press("Escape")

    # a unit below is fine; a unit aside is refused by the API and said so
    browser.open(f"/dashboards/kpis?period=day&department_id={org.dept['dc.hp']}")
    expect(page.locator("[data-test=kpi-scope]")).to_have_text("和平街道")
    expect(kpi(page, "tickets")).to_have_text("1 件")
    browser.open(f"/dashboards/kpis?period=day&department_id={org.dept['xc']}")
    expect(page.locator("[data-test=dashboard-error]")).to_contain_text("只能查看本单位及下级单位的统计")
    expect(page.locator("[data-test=kpi-summary]")).to_have_count(0)

    browser.open("/dashboards/analysis?period=day")
    expect(page.locator(".districts-table tbody tr")).to_have_count(1)
    expect(page.locator(".districts-table tbody")).to_contain_text("东城区")
    browser.open("/dashboards/ranking")
    expect(page.locator("[data-test=ranking-table]")).to_contain_text("和平街道")  # the units below theirs
    expect(page.locator("[data-test=ranking-table]")).not_to_contain_text("西城区")

    browser.open("/wallboard")
    expect(page).to_have_url(re.compile(r"/console/forbidden"))
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(403) == []


def test_another_role_sees_no_dashboard(pg: tuple[Session, Org], browser: Browser) -> None:
    from playwright.sync_api import expect

    page = browser.login("agent", PASSWORD, "/dashboards/kpis")
    expect(page).to_have_url(re.compile(r"/console/forbidden"))
    expect(page.locator("[data-test=menu]")).not_to_contain_text("指标看板")
    assert browser.unexpected_problems() == []


def bridge_writes(session: Session, tracker: Tracker) -> None:
    """What the bridge's writer thread does with the Tracker's changes."""
    calls, agents, outbox = tracker.take_dirty()
    telephony_service.upsert_calls(session, calls)
    telephony_service.upsert_agents(session, agents)
    telephony_service.create_callback_tasks(session, [snap for kind, snap in outbox if kind == "abandoned"])
    session.commit()


def test_the_wallboard_updates_when_a_call_arrives(pg: tuple[Session, Org], browser: Browser) -> None:
    from playwright.sync_api import expect

    session, _org = pg
    tracker = Tracker()
    now = time.time()
    tracker.handle(
        {
            "Event": "QueueMemberAdded",
            "Queue": "hotline",
            "Interface": "PJSIP/8001",
            "MemberName": "8001",
            "Status": "1",
            "Paused": "1",
            "PausedReason": "培训",
        },
        now,
    )
    bridge_writes(session, tracker)

    browser.login("supervisor", PASSWORD, "/login")
    page = browser.open("/wallboard")
    expect(page.locator("[data-test=wallboard-live]")).to_have_text("● 实时")
    expect(page.locator("[data-test=menu]")).to_have_count(0)  # full screen: no menu, no header
    expect(page.locator("[data-test=wb-waiting]")).to_have_text("0")
    expect(page.locator("[data-test=wb-agents] [data-state=paused] b")).to_have_text("1")
    expect(page.locator("[data-test=wb-calls]")).to_have_text("0")

    # a citizen calls 12345 and waits in the queue
    lid, channel, now = "1765000000.42", "PJSIP/trunk-0000002a", time.time()
    tracker.handle(
        {
            "Event": "Newchannel",
            "Channel": channel,
            "Uniqueid": lid,
            "Linkedid": lid,
            "Context": "hotline-inbound",
            "Exten": "12345",
            "CallerIDNum": "13800000042",
        },
        now,
    )
    tracker.handle(
        {
            "Event": "QueueCallerJoin",
            "Queue": "hotline",
            "Channel": channel,
            "Uniqueid": lid,
            "Linkedid": lid,
            "CallerIDNum": "13800000042",
            "Position": "1",
            "Count": "1",
        },
        now,
    )
    bridge_writes(session, tracker)
    expect(page.locator("[data-test=wb-waiting]")).to_have_text("1", timeout=15_000)  # live: no reload
    shot(page, "wallboard.png")

    # … and hangs up after 20 s in the queue: abandoned, counted in today's calls
    tracker.handle(
        {"Event": "QueueCallerAbandon", "Queue": "hotline", "Uniqueid": lid, "Linkedid": lid, "HoldTime": "20"},
        now + 20,
    )
    tracker.handle({"Event": "Hangup", "Channel": channel, "Uniqueid": lid, "Linkedid": lid, "Cause": "16"}, now + 20)
    bridge_writes(session, tracker)
    expect(page.locator("[data-test=wb-waiting]")).to_have_text("0", timeout=15_000)
    expect(page.locator("[data-test=wb-calls]")).to_have_text("1")
    expect(page.locator("[data-wb=calls] .wb-sub")).to_contain_text("放弃 1")
    expect(page.locator("[data-test=wb-answer-15s]")).to_have_text("0.0%")
    expect(page.locator("[data-test=wallboard]")).not_to_contain_text("13800000042")  # no number on the wall
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_the_overdue_list_the_escalation_board_and_hot_topics(
    pg: tuple[Session, Org], console_url: str, browser: Browser
) -> None:
    from playwright.sync_api import expect

    session, org = pg
    late = ticket_in(session, org, TicketStatus.dispatched, title="市住建局小区外墙脱落未处理")
    late.sign_due = utcnow() - timedelta(hours=3)  # three hours past its 签收 limit
    lifecycle.escalate_ticket(session, late, user(session, org, "supervisor"), level=3, cause="manual")
    hot_topic_appeals(session, org)

    page = browser.login("supervisor", PASSWORD, "/dashboards/supervision")
    expect(page.locator("[data-test=overdue-total]")).to_have_text("1")
    overdue_rows = page.locator("[data-test=overdue-table] tbody tr")
    expect(overdue_rows).to_have_count(1)
    expect(overdue_rows).to_contain_text(late.number)
    expect(overdue_rows).to_contain_text("3小时")
    expect(page.locator("[data-test=escalation-levels] [data-level='3'] .level-count")).to_have_text("1")
    expect(page.locator("[data-test=escalation-levels] [data-level='4'] .level-count")).to_have_text("0")
    with page.expect_download() as info:
        page.locator("[data-test=export-overdue]").click()
    assert info.value.suggested_filename == "超期工单-全市.xlsx"
    page.locator("[data-test=escalation-levels] [data-level='4']").click()  # the board filters by level
    expect(page.locator(".dash-card").first.locator("tbody tr")).to_have_count(0)
    page.locator("[data-test=escalation-levels] [data-level='3']").click()
    page.locator(".dash-card").first.locator("tbody tr", has_text=late.number).click()
    expect(page).to_have_url(re.compile(rf"/console/tickets/{late.id}$"))  # a row opens the ticket

    browser.open("/dashboards/hot-topics")
    topics = page.locator("[data-test=hot-topics-table] tbody tr.el-table__row")
    expect(topics).to_have_count(2)
    first = topics.first
    expect(first).to_contain_text("新苑")
    expect(first.locator("[data-test=rising]")).to_have_text("本周上升")  # 3 this week, none the week before
    first.locator(".el-table__expand-icon").click()
    expect(page.locator(".member-links a")).to_have_count(3)  # its member tickets, as links
    assert browser.csp_violations() == []
    assert browser.unexpected_problems() == []


def test_a_department_head_sees_their_overdue_and_hot_topics_only(pg: tuple[Session, Org], browser: Browser) -> None:
    from playwright.sync_api import expect

    session, org = pg
    late = ticket_in(session, org, TicketStatus.dispatched, title="市住建局小区外墙脱落未处理")  # not in 东城区
    late.sign_due = utcnow() - timedelta(hours=3)
    hot_topic_appeals(session, org, [a for a in HOT_APPEALS if a[0] != "新苑小区门口夜宵烧烤摊油烟噪音"])

    page = browser.login("dc_head", PASSWORD, "/dashboards/supervision")
    expect(page.locator("[data-test=overdue-total]")).to_have_text("0")
    browser.open("/dashboards/hot-topics")
    expect(page.locator("[data-test=hot-topics-table] tbody tr.el-table__row")).to_have_count(1)
    expect(page.locator("[data-test=hot-topics-table] tbody")).not_to_contain_text("建康")
    assert browser.unexpected_problems() == []


def test_an_admin_sets_the_weights_of_the_score(pg: tuple[Session, Org], browser: Browser) -> None:
    from playwright.sync_api import expect

    session, _org = pg
    page = browser.login("admin", PASSWORD, "/dashboards/kpis")
    weights = page.locator(".dash-score .small")
    expect(weights).to_have_text("响应率 30% · 解决率 35% · 满意率 35%")
    dialog = page.locator(".el-dialog", has_text="口径设置")

    def fill(label: str, value: str) -> None:
        field = dialog.locator(".el-form-item", has=page.locator(f"label:text-is('{label}')")).locator("input")
        field.fill(value)
        field.press("Tab")

    # no weight at all is refused, beside the field, and nothing is stored
    page.locator("[data-test=open-settings]").click()
    for label in ("响应率权重", "解决率权重", "满意率权重"):
        fill(label, "0")
    dialog.locator("[data-test=settings-save]").click()
    expect(dialog).to_contain_text("三率权重之和须大于0")
    fill("响应率权重", "50")
    fill("解决率权重", "25")
    fill("满意率权重", "25")
    fill("参加排名最少件数", "5")
    dialog.locator("[data-test=settings-save]").click()
    expect(dialog).to_be_hidden()
    expect(weights).to_have_text("响应率 50% · 解决率 25% · 满意率 25%")
    session.expire_all()
    assert Settings.load(session).ranking_min_cases == 5
    assert browser.csp_violations() == []
    assert browser.unexpected_problems(422) == []

    # a supervisor reads the weights but has no 口径设置
    browser.page.evaluate("sessionStorage.clear()")
    page = browser.login("supervisor", PASSWORD, "/dashboards/kpis")
    expect(page.locator(".dash-score .small")).to_have_text("响应率 50% · 解决率 25% · 满意率 25%")
    expect(page.locator("[data-test=open-settings]")).to_have_count(0)
