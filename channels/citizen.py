"""The citizens' pages (市民网页): file an appeal, look up its progress, ask for the survey link.

Light server-rendered pages for a phone: plain HTML forms that work without JavaScript, one small
script of ours (the code button's countdown) and one stylesheet, served from our origin under the
staff pages' strict CSP. The appeal goes through the channels' intake as the ``citizen-web`` client
(idempotent on the form's nonce: a double submit files one ticket); the phone is confirmed by an
SMS code; limits per number and per address instead of a captcha.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from channels import clients, intake, public, ratelimit, verification
from channels.models import ChannelIntake
from hotline import attachments, clientaddr, lifecycle
from hotline.bodylimit import body_limit
from hotline.console import PAGE_HEADERS
from hotline.deps import get_db
from hotline.enums import APPEAL_TYPE_LABELS, AppealType
from hotline.errors import HotlineError, InvalidInput, RateLimited
from hotline.models import Citizen, Ticket, TicketCaller
from hotline.phone import mask_phone, normalize_phone
from hotline.settings import get_settings

router = APIRouter(prefix="/citizen", tags=["citizen pages"], include_in_schema=False)
STATIC = "/static/citizen"
MAX_PHOTOS = 3
LIMITS = {
    # key: (count, window seconds)
    "code_phone": (5, 3600),
    "code_phone_gap": (1, 60),
    "code_addr": (60, 3600),
    "appeal_phone": (5, 86400),
    "appeal_addr": (100, 86400),
    "lookup_addr": (60, 3600),
    "lookup_number": (20, 3600),
    "survey_phone": (3, 86400),
}


def client_address(request: Request) -> str:
    """The sender's address, X-Forwarded-For read only from ``HOTLINE_TRUSTED_PROXIES``."""
    return clientaddr.client_address(request.scope)


def limit(session: Session, kind: str, key: str, message: str) -> None:
    count, window = LIMITS[kind]
    ratelimit.check(session, f"{kind}:{key}", limit=count, window_seconds=window, message=message)


# ---------------------------------------------------------------- page frame


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>{escape(title)} · 12345热线</title><link rel="stylesheet" href="{STATIC}/citizen.css">
<script src="{STATIC}/citizen.js" defer></script></head>
<body><header><a href="/citizen" class="brand">12345政务服务便民热线</a></header>
<main>{body}</main>
<footer>如遇紧急情况请拨打 110 / 119 / 120；也可拨打 12345 反映诉求。</footer></body></html>"""
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _error_box(errors: dict[str, str]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{escape(m)}</li>" for m in errors.values())
    return f'<div class="errors" role="alert"><ul>{items}</ul></div>'


def _field_error(errors: dict[str, str], name: str) -> str:
    return f'<span class="field-error">{escape(errors[name])}</span>' if name in errors else ""


@router.get("", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return page(
        "市民服务",
        """<section class="card"><h1>我要反映</h1><p>咨询、求助、投诉、举报、建议，网上提交，与拨打12345同样受理、
转交承办单位办理并回访。</p><p><a class="button" href="/citizen/appeal">提交诉求</a></p></section>
<section class="card"><h1>进度查询</h1><p>凭工单号和提交时的手机号查询办理进度与答复。</p>
<p><a class="button secondary" href="/citizen/progress">查询进度</a></p></section>""",
    )


# ---------------------------------------------------------------- appeal form


@dataclass
class AppealForm:
    appeal_type: str = "help"
    title: str = ""
    content: str = ""
    address: str = ""
    contact_name: str = ""
    phone: str = ""
    code: str = ""
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex)
    photos: list[UploadFile] = field(default_factory=list)

    @classmethod
    async def read(cls, request: Request) -> AppealForm:
        form = await request.form()
        text = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        photos = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
        return cls(
            appeal_type=text.get("appeal_type", "help"),
            title=text.get("title", ""),
            content=text.get("content", ""),
            address=text.get("address", ""),
            contact_name=text.get("contact_name", ""),
            phone=text.get("phone", ""),
            code=text.get("code", ""),
            nonce=text.get("nonce", "") or uuid.uuid4().hex,
            photos=photos,
        )

    def errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.appeal_type not in {t.value for t in AppealType}:
            errors["appeal_type"] = "请选择诉求类型"
        if not self.title or len(self.title) > 50:
            errors["title"] = "请填写标题（50字以内）"
        if len(self.content) < 5 or len(self.content) > 2000:
            errors["content"] = "请填写诉求内容（5至2000字）"
        if not self.address or len(self.address) > 200:
            errors["address"] = "请填写事发地址（200字以内）"
        if len(self.contact_name) > 50:
            errors["contact_name"] = "称呼请在50字以内"
        if normalize_phone(self.phone) is None or not self.phone_is_mobile():
            errors["phone"] = "请填写正确的手机号码"
        if len(self.photos) > MAX_PHOTOS:
            errors["photos"] = f"最多上传 {MAX_PHOTOS} 张照片"
        if not self.code:
            errors["code"] = "请填写短信验证码"
        return errors

    def phone_is_mobile(self) -> bool:
        e164 = normalize_phone(self.phone) or ""
        return e164.startswith("+861") and len(e164) == 14

    @property
    def e164(self) -> str:
        return normalize_phone(self.phone) or ""


def appeal_page(form: AppealForm, errors: dict[str, str], message: str = "", status: int = 200) -> HTMLResponse:
    types = "".join(
        f'<label class="chip"><input type="radio" name="appeal_type" value="{t.value}"'
        f"{' checked' if form.appeal_type == t.value else ''}><span>{escape(label)}</span></label>"
        for t, label in APPEAL_TYPE_LABELS.items()
    )
    v = {k: escape(str(getattr(form, k))) for k in ("title", "content", "address", "contact_name", "phone", "nonce")}
    info = f'<p class="info" role="status">{escape(message)}</p>' if message else ""
    body = f"""<h1 class="page-title">提交诉求</h1>{_error_box(errors)}{info}
<form method="post" action="/citizen/appeal" enctype="multipart/form-data" id="appeal-form" class="card" novalidate>
<input type="hidden" name="nonce" value="{v["nonce"]}">
<fieldset><legend>诉求类型</legend><div class="chips">{types}</div>{_field_error(errors, "appeal_type")}</fieldset>
<label>标题<input name="title" maxlength="50" required value="{v["title"]}"
placeholder="一句话说明问题，如：小区路灯不亮">
{_field_error(errors, "title")}</label>
<label>诉求内容<textarea name="content" maxlength="2000" required rows="6"
placeholder="请说明时间、地点、经过和您的诉求">{v["content"]}</textarea>{_field_error(errors, "content")}</label>
<label>事发地址<input name="address" maxlength="200" required value="{v["address"]}"
placeholder="区、街道、路名门牌或小区">
{_field_error(errors, "address")}</label>
<label>照片（选填，最多{MAX_PHOTOS}张）<input type="file" name="photos" accept="image/*" multiple>
{_field_error(errors, "photos")}</label>
<label>称呼（选填）<input name="contact_name" maxlength="50" value="{v["contact_name"]}"
placeholder="如：张先生"></label>
<label>手机号码<input name="phone" type="tel" inputmode="numeric" maxlength="20" required value="{v["phone"]}"
autocomplete="tel">{_field_error(errors, "phone")}</label>
<div class="code-row"><label>短信验证码<input name="code" inputmode="numeric" maxlength="6"
autocomplete="one-time-code"></label><button type="submit" formaction="/citizen/appeal/code" formnovalidate
class="secondary" id="code-button">获取验证码</button>
</div>{_field_error(errors, "code")}<p class="hint" id="code-status" role="status"></p>
<p class="hint">您的手机号码仅用于核实身份、反馈办理结果和回访，不会公开。</p>
<button type="submit" class="primary">提交诉求</button>
</form>"""
    return page("提交诉求", body, status)


@router.get("/appeal", response_class=HTMLResponse)
def appeal_form() -> HTMLResponse:
    return appeal_page(AppealForm(), {})


def _send_code(session: Session, phone: str, address: str) -> None:
    e164 = normalize_phone(phone)
    if e164 is None or not (e164.startswith("+861") and len(e164) == 14):
        raise InvalidInput("请填写正确的手机号码", field="phone")
    limit(session, "code_phone_gap", e164, "验证码发送过于频繁，请1分钟后再试")
    limit(session, "code_phone", e164, "该号码获取验证码次数过多，请稍后再试")
    limit(session, "code_addr", address, "获取验证码次数过多，请稍后再试")
    verification.send_code(session, e164)
    ratelimit.hit(session, f"code_phone_gap:{e164}", f"code_phone:{e164}", f"code_addr:{address}")
    session.commit()


@router.post("/appeal/code")
@body_limit(lambda: get_settings().max_upload_bytes)  # without JavaScript the whole form comes, photos too
async def appeal_code(request: Request, session: Session = Depends(get_db)) -> Response:
    """Send the SMS code. From the page's script (``Accept: application/json``): JSON; from the form
    without JavaScript: the form again, filled in, with the outcome."""
    form = await AppealForm.read(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        await run_in_threadpool(_send_code, session, form.phone, client_address(request))
    except HotlineError as exc:
        if wants_json:
            extra = {"retry_after": exc.extras["retry_after"]} if "retry_after" in exc.extras else {}
            return JSONResponse({"ok": False, "detail": exc.message, **extra}, status_code=exc.status_code)
        return appeal_page(form, {"code": exc.message}, status=exc.status_code)
    text = f"验证码已发送至 {mask_phone(form.e164)}，10分钟内有效"
    if wants_json:
        return JSONResponse({"ok": True, "detail": text, "resend_after": LIMITS["code_phone_gap"][1]})
    return appeal_page(form, {}, text + ("（如已选择照片，请重新选择）" if form.photos else ""))


def _file(session: Session, form: AppealForm, address: str) -> Ticket:
    client = clients.web_client(session)
    ref = f"web:{form.nonce}"[:128]
    done = session.scalar(
        select(ChannelIntake).where(ChannelIntake.client_id == client.id, ChannelIntake.client_ref == ref)
    )
    if done is not None and done.ticket_id is not None:  # a double submit: the ticket filed the first time
        ticket = session.get(Ticket, done.ticket_id)
        if ticket is not None and ticket.citizen is not None and ticket.citizen.phone == form.e164:
            return ticket
    limit(session, "appeal_phone", form.e164, "该号码今日提交次数已达上限，如有急事请拨打12345")
    limit(session, "appeal_addr", address, "提交过于频繁，请稍后再试或拨打12345")
    verification.verify_code(session, form.e164, form.code)
    appeal = lifecycle.NewAppeal(
        title=form.title,
        content=form.content,
        appeal_type=AppealType(form.appeal_type),
        phone=form.e164,
        contact_name=form.contact_name or None,
        address=form.address,
    )
    uploads = [attachments.Upload(p.filename, p.content_type, p.file) for p in form.photos]
    req = intake.IntakeRequest(
        client_ref=ref,
        appeal=appeal,
        request_hash=intake.request_hash({"nonce": form.nonce}),
        uploads=uploads,
        protocol="web",
    )
    result = intake.file_appeal(session, client, req)
    ratelimit.hit(session, f"appeal_phone:{form.e164}", f"appeal_addr:{address}")
    session.commit()
    return result.ticket


@router.post("/appeal", response_class=HTMLResponse)
@body_limit(lambda: get_settings().max_upload_bytes)
async def appeal_submit(request: Request, session: Session = Depends(get_db)) -> HTMLResponse:
    form = await AppealForm.read(request)
    errors = form.errors()
    if errors:
        return appeal_page(form, errors, status=422)
    try:
        ticket = await run_in_threadpool(_file, session, form, client_address(request))
    except HotlineError as exc:
        session.rollback()
        name = str(exc.errors[0]["loc"][-1]) if exc.errors else "form"
        return appeal_page(form, {name: exc.message}, status=exc.status_code)
    body = f"""<section class="card done"><h1>提交成功</h1>
<p>您的诉求已受理，工单号：</p><p class="number" id="ticket-number">{escape(ticket.number)}</p>
<p>请记下工单号，可凭工单号和手机号查询办理进度。承办单位答复后，我们会通过电话或短信回访。</p>
<p><a class="button" href="/citizen/progress?number={escape(ticket.number)}">查询进度</a></p></section>"""
    return page("提交成功", body, 201)


# ---------------------------------------------------------------- progress


def progress_form(number: str = "", phone: str = "", error: str = "", status: int = 200) -> HTMLResponse:
    err = f'<div class="errors" role="alert"><ul><li>{escape(error)}</li></ul></div>' if error else ""
    body = f"""<h1 class="page-title">进度查询</h1>{err}
<form method="post" action="/citizen/progress" class="card" id="progress-form">
<label>工单号<input name="number" required maxlength="32" value="{escape(number)}"
placeholder="如 20261122-000123"></label>
<label>手机号码<input name="phone" type="tel" inputmode="numeric" required maxlength="20"
value="{escape(phone)}"></label>
<button type="submit" class="primary">查询</button></form>"""
    return page("进度查询", body, status)


@router.get("/progress", response_class=HTMLResponse)
def progress_page(number: str = "") -> HTMLResponse:
    return progress_form(number[:32])


def find_own_ticket(session: Session, number: str, phone: str) -> Ticket | None:
    """The ticket with this number on which this phone is a caller; None for anything else."""
    e164 = normalize_phone(phone)
    if not e164 or not number:
        return None
    return session.scalar(
        select(Ticket)
        .join(TicketCaller, TicketCaller.ticket_id == Ticket.id)
        .join(Citizen, Citizen.id == TicketCaller.citizen_id)
        .where(Ticket.number == number.strip(), Citizen.phone == e164)
    )


def _lookup(session: Session, number: str, phone: str, address: str) -> Ticket:
    limit(session, "lookup_addr", address, "查询过于频繁，请稍后再试")
    limit(session, "lookup_number", number, "该工单查询失败次数过多，请稍后再试")
    ratelimit.hit(session, f"lookup_addr:{address}")
    ticket = find_own_ticket(session, number, phone)
    if ticket is None:
        ratelimit.hit(session, f"lookup_number:{number}")
    session.commit()
    if ticket is None:
        # The same answer for a wrong number and a wrong phone: no way to learn either.
        raise InvalidInput("未找到该工单，请核对工单号和提交时的手机号", field="number")
    return ticket


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M")


def open_callback(session: Session, ticket: Ticket, phone_e164: str) -> Any:
    """This caller's 回访 that can still be answered on the survey page, if any."""
    from escalation.models import CallbackAttempt

    return session.scalar(
        select(CallbackAttempt)
        .where(
            CallbackAttempt.ticket_id == ticket.id,
            CallbackAttempt.phone_e164 == phone_e164,
            CallbackAttempt.status.in_(("scheduled", "sms_sent", "queued")),
        )
        .order_by(CallbackAttempt.id.desc())
        .limit(1)
    )


def progress_result(session: Session, ticket: Ticket, phone: str, message: str = "") -> HTMLResponse:
    shown = public.view(session, ticket, own=True)
    rows = [
        ("工单号", shown.number),
        ("诉求标题", shown.title),
        ("当前状态", shown.status_label),
        ("提交时间", _local(shown.created_at)),
        ("承办单位", shown.department or "—"),
        ("转办时间", _local(shown.dispatched_at)),
        ("答复期限", _local(shown.expected_at)),
        ("答复时间", _local(shown.answered_at)),
        ("办结时间", _local(shown.closed_at)),
    ]
    table = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    notes = (
        f'<section class="card"><h2>办理答复</h2><p id="public-answer">{escape(shown.notes)}</p></section>'
        if shown.notes
        else ""
    )
    survey = ""
    if open_callback(session, ticket, normalize_phone(phone) or "") is not None:
        survey = f"""<section class="card"><h2>回访评价</h2><p>承办单位已答复，欢迎您对办理结果进行评价。</p>
<form method="post" action="/citizen/progress/survey">
<input type="hidden" name="number" value="{escape(ticket.number)}">
<input type="hidden" name="phone" value="{escape(phone)}">
<button type="submit" class="primary" id="survey-button">发送评价链接到我的手机</button></form></section>"""
    info = f'<p class="info" role="status">{escape(message)}</p>' if message else ""
    body = f"""<h1 class="page-title">办理进度</h1>{info}
<section class="card"><dl class="facts" id="progress">{table}</dl></section>
{notes}{survey}<p><a href="/citizen/progress">查询其他工单</a></p>"""
    return page("办理进度", body)


async def _two_fields(request: Request) -> tuple[str, str]:
    form = await request.form()
    number, phone = form.get("number"), form.get("phone")
    return (number.strip()[:32] if isinstance(number, str) else ""), (
        phone.strip()[:20] if isinstance(phone, str) else ""
    )


@router.post("/progress", response_class=HTMLResponse)
async def progress_lookup(request: Request, session: Session = Depends(get_db)) -> HTMLResponse:
    number, phone = await _two_fields(request)
    try:
        ticket = await run_in_threadpool(_lookup, session, number, phone, client_address(request))
    except HotlineError as exc:
        return progress_form(number, phone, exc.message, exc.status_code)
    return await run_in_threadpool(progress_result, session, ticket, phone)


def _send_survey(session: Session, number: str, phone: str, address: str) -> Ticket:
    from escalation import callbacks, rules

    ticket = _lookup(session, number, phone, address)
    e164 = normalize_phone(phone) or ""
    cb = open_callback(session, ticket, e164)
    if cb is None:
        raise InvalidInput("该工单目前没有待评价的回访", field="number")
    limit(session, "survey_phone", e164, "评价链接发送次数过多，请查看已收到的短信")
    callbacks.send_survey_sms(session, rules.Context.load(session), cb, ticket, datetime.now(ZoneInfo("UTC")))
    ratelimit.hit(session, f"survey_phone:{e164}")
    from escalation.tasks import deliver
    from hotline.celery_app import enqueue_after_commit

    enqueue_after_commit(session, deliver.si())
    session.commit()
    return ticket


@router.post("/progress/survey", response_class=HTMLResponse)
async def progress_survey(request: Request, session: Session = Depends(get_db)) -> HTMLResponse:
    """回访 from the progress page: the one-time survey link, sent by SMS to the caller's phone (which
    proves the number, as the survey page needs)."""
    number, phone = await _two_fields(request)
    try:
        ticket = await run_in_threadpool(_send_survey, session, number, phone, client_address(request))
    except RateLimited as exc:
        return progress_form(number, phone, exc.message, exc.status_code)
    except HotlineError as exc:
        return progress_form(number, phone, exc.message, exc.status_code)
    text = f"评价链接已通过短信发送至 {mask_phone(normalize_phone(phone))}，请点击短信中的链接进行评价"
    return await run_in_threadpool(progress_result, session, ticket, phone, text)
