"""The citizens' pages: SMS code, appeal, rate limits per number and per address, the progress
lookup's masking, the survey link from there; and the whole path in headless Chromium at a phone's
size."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channels import citizen
from hotline import lifecycle
from hotline.models import Attachment, Ticket
from tests.channels.conftest import sms_to
from tests.conftest import Org
from tests.core.factory import user
from tests.core.test_attachments import PNG

PHONE, E164 = "13700000005", "+8613700000005"
FORM = {
    "appeal_type": "complaint",
    "title": "楼下饭店油烟扰民",
    "content": "和平路88号的饭店排烟管正对我家窗户，每天中午和晚上油烟很大。",
    "address": "东城区和平街道和平路88号2单元301",
    "contact_name": "王女士",
    "phone": PHONE,
}


def code_from(session: Session, phone: str = E164) -> str:
    found = re.search(r"验证码是 (\d{6})", sms_to(session, phone)[-1])
    assert found
    return found.group(1)


def ask_code(client: TestClient, phone: str = PHONE) -> Any:
    return client.post("/citizen/appeal/code", data={"phone": phone}, headers={"Accept": "application/json"})


def tickets(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


def test_appeal_with_sms_code(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, _org = pg
    page = client.get("/citizen/appeal")
    assert page.status_code == 200 and "提交诉求" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline under the CSP

    assert client.post("/citizen/appeal", data={**FORM, "code": "000000"}).status_code == 422  # no code sent yet
    sent = ask_code(client)
    assert sent.status_code == 200 and sent.json()["ok"] is True and "137****0005" in sent.json()["detail"]
    code = code_from(session)
    wrong = client.post("/citizen/appeal", data={**FORM, "code": "999999" if code != "999999" else "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.text and tickets(session) == 0
    nonce = re.search(r'name="nonce" value="([0-9a-f]+)"', wrong.text)
    assert nonce  # the form comes back filled in, with its nonce
    assert FORM["content"] in wrong.text

    photo = {"photos": ("现场.png", PNG, "image/png")}
    done = client.post("/citizen/appeal", data={**FORM, "code": code, "nonce": nonce.group(1)}, files=photo)
    assert done.status_code == 201, done.text
    number = re.search(r'id="ticket-number">([0-9-]+)<', done.text)
    assert number
    ticket = session.scalars(select(Ticket)).one()
    assert (ticket.number, ticket.channel, ticket.appeal_type) == (number.group(1), "web", "complaint")
    assert ticket.citizen is not None and ticket.citizen.phone == E164
    assert session.scalars(select(Attachment.source)).all() == ["channel"]
    # The same form sent again (a double tap) is the same ticket, not a second one.
    again = client.post("/citizen/appeal", data={**FORM, "code": code, "nonce": nonce.group(1)}, files=photo)
    assert again.status_code == 201 and number.group(1) in again.text and tickets(session) == 1

    # Without JavaScript the code button posts the form and gets it back filled in.
    nojs = client.post("/citizen/appeal/code", data={**FORM, "phone": "13700000006"})
    assert nojs.status_code == 200 and "验证码已发送至 137****0006" in nojs.text and FORM["title"] in nojs.text
    assert client.post("/citizen/appeal/code", data={"phone": "12345"}).status_code == 422


def test_rate_limits_per_number_and_per_address(
    client: TestClient, pg: tuple[Session, Org], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _org = pg
    assert ask_code(client).status_code == 200
    again = ask_code(client)  # at once: one a minute per number
    assert again.status_code == 429 and again.json()["retry_after"] > 0 and "频繁" in again.json()["detail"]
    monkeypatch.setitem(citizen.LIMITS, "code_phone_gap", (100, 60))
    monkeypatch.setitem(citizen.LIMITS, "code_phone", (2, 3600))
    assert ask_code(client).status_code == 200
    assert ask_code(client).status_code == 429  # two an hour for this number now
    monkeypatch.setitem(citizen.LIMITS, "code_addr", (4, 3600))
    assert ask_code(client, "13700000011").status_code == 200
    assert ask_code(client, "13700000012").status_code == 200
    blocked = ask_code(client, "13700000013")  # the fifth from this address within the hour
    assert blocked.status_code == 429 and sms_to(session, "+8613700000013") == []

    # Filing: a number's appeals per day.
    monkeypatch.setitem(citizen.LIMITS, "appeal_phone", (1, 86400))
    code = code_from(session, "+8613700000011")
    first = client.post("/citizen/appeal", data={**FORM, "phone": "13700000011", "code": code})
    assert first.status_code == 201
    second = client.post("/citizen/appeal", data={**FORM, "phone": "13700000011", "code": code, "title": "又一件"})
    assert second.status_code == 429 and "上限" in second.text and tickets(session) == 1


def staff_walk(session: Session, org: Org, ticket_id: int) -> Ticket:
    t = session.get(Ticket, ticket_id)
    assert t is not None
    dispatcher, cgj = user(session, org, "dispatcher"), user(session, org, "cgj")
    lifecycle.dispatch_ticket(session, t, dispatcher, version=t.version, primary_department_id=org.dept["cgj"])
    lifecycle.sign_ticket(session, t, cgj, version=t.version)
    lifecycle.reply_ticket(
        session,
        t,
        cgj,
        version=t.version,
        handling="责令商户整改，已加装净化器（内部）",
        resolved=True,
        public_answer="经查，商户已加装油烟净化设备并改变排烟方向。",
    )
    lifecycle.review_reply(session, t, dispatcher, version=t.version, accept=True)
    session.commit()
    return t


def test_progress_lookup_shows_only_the_public(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    ask_code(client)
    filed = client.post("/citizen/appeal", data={**FORM, "code": code_from(session)})
    number = re.search(r'id="ticket-number">([0-9-]+)<', filed.text).group(1)  # type: ignore[union-attr]

    for wrong in ({"number": number, "phone": "13700000009"}, {"number": "20200101-000001", "phone": PHONE}):
        answer = client.post("/citizen/progress", data=wrong)
        assert answer.status_code == 422 and "未找到该工单，请核对工单号和提交时的手机号" in answer.text
    found = client.post("/citizen/progress", data={"number": number, "phone": PHONE})
    assert found.status_code == 200 and "已受理" in found.text and FORM["title"] in found.text
    for private in (FORM["content"], "王女士", PHONE, "88号", "301"):
        assert private not in found.text

    ticket = session.scalars(select(Ticket)).one()
    staff_walk(session, org, ticket.id)
    found = client.post("/citizen/progress", data={"number": number, "phone": PHONE})
    assert "已答复，待回访" in found.text and "市城管局" in found.text
    assert "商户已加装油烟净化设备" in found.text and "内部" not in found.text
    assert 'id="survey-button"' in found.text  # the 回访 exists once the reply is accepted
    sent = client.post("/citizen/progress/survey", data={"number": number, "phone": PHONE})
    assert sent.status_code == 200 and "评价链接已通过短信发送至 137****0005" in sent.text
    link = re.search(r"(/survey/[\w-]+)", sms_to(session, E164)[-1])
    assert link and "回访评价" in client.get(link.group(1)).text
    # Someone who knows the number but not the phone learns nothing and sends nothing.
    other = client.post("/citizen/progress/survey", data={"number": number, "phone": "13700000009"})
    assert other.status_code == 422 and len(sms_to(session, E164)) == 2


@pytest.mark.browser
def test_citizen_pages_on_a_phone(web: str, pg: tuple[Session, Org], tmp_path: Any, chromium: Any) -> None:
    """Chromium at 390×844: the code button (our script), the form with a photo, the number, the
    lookup, the survey link sent from the progress page and the survey page it opens."""
    from playwright.sync_api import expect

    session, org = pg
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(PNG)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{web}/citizen")
    page.click("text=提交诉求")
    page.locator("label.chip:has-text('投诉')").click()
    page.fill("input[name=title]", FORM["title"])
    page.fill("textarea[name=content]", FORM["content"])
    page.fill("input[name=address]", FORM["address"])
    page.set_input_files("input[name=photos]", str(photo))
    page.fill("input[name=phone]", PHONE)
    page.click("#code-button")
    expect(page.locator("#code-status")).to_contain_text("验证码已发送至 137****0005")
    expect(page.locator("#code-button")).to_be_disabled()  # counting down
    page.fill("input[name=code]", code_from(session))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.click("button.primary")
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"\d{8}-\d{6}"))
    number = page.inner_text("#ticket-number")
    page.screenshot(path=str(tmp_path / "done.png"))

    ticket = session.scalars(select(Ticket)).one()
    assert ticket.number == number and ticket.channel == "web"
    staff_walk(session, org, ticket.id)

    page.click("text=查询进度")
    expect(page.locator("input[name=number]")).to_have_value(number)
    page.fill("input[name=phone]", PHONE)
    page.click("button.primary")
    expect(page.locator("#progress")).to_contain_text("已答复，待回访")
    expect(page.locator("#public-answer")).to_contain_text("商户已加装油烟净化设备")
    page.click("#survey-button")
    expect(page.locator(".info")).to_contain_text("评价链接已通过短信发送")
    link = re.search(r"(/survey/[\w-]+)", sms_to(session, E164)[-1])
    assert link
    page.goto(f"{web}{link.group(1)}")
    expect(page.locator("h2").first).to_contain_text("您的诉求")
    assert problems == []
    context.close()
