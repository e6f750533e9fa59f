"""The mobile survey page a citizen opens from the SMS link: GET /survey/{token}, POST the answer.

Plain HTML and CSS, a few lines of JavaScript; the token is single-use and expires."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from escalation import callbacks
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import Satisfaction
from hotline.errors import HotlineError
from hotline.models import Ticket

router = APIRouter(tags=["survey"], include_in_schema=True)
DB = Annotated[Session, Depends(get_db)]

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "form-action 'self'",
}

STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.6 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
background:#f4f6f9;color:#222}header{background:#c8161d;color:#fff;padding:14px 16px;font-size:18px;font-weight:600}
main{max-width:560px;margin:0 auto;padding:12px}section{background:#fff;border-radius:10px;padding:14px 16px;
margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.06)}h2{font-size:16px;margin:0 0 8px}.meta{color:#666;font-size:14px}
.opts{display:flex;flex-wrap:wrap;gap:8px}.opts label{flex:1 1 30%;min-width:90px;border:1px solid #ccd;
border-radius:8px;padding:10px 6px;text-align:center;cursor:pointer}.opts input{position:absolute;opacity:0}
.opts input:checked+span{color:#c8161d;font-weight:600}.opts label:has(input:checked){border-color:#c8161d;
background:#fff5f5}textarea{width:100%;min-height:90px;border:1px solid #ccd;border-radius:8px;padding:8px;font:inherit}
button{width:100%;padding:14px;border:0;border-radius:10px;background:#c8161d;color:#fff;font-size:17px}
.hint{color:#c8161d;font-size:14px;display:none}.done{text-align:center;padding:30px 16px}
"""

SATISFACTION = [("satisfied", "满意"), ("basically_satisfied", "基本满意"), ("unsatisfied", "不满意")]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header>12345政务服务便民热线</header><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _message(title: str, text: str, status: int = 200) -> HTMLResponse:
    return _page(title, f'<section class="done"><h2>{escape(title)}</h2><p>{escape(text)}</p></section>', status)


STATE_TEXT = {
    "invalid": ("链接无效", "该评价链接无效，请核对短信中的链接。如需帮助请拨打12345。", 404),
    "used": ("您已评价", "您已提交过评价，感谢您的支持！", 410),
    "expired": ("链接已过期", "该评价链接已过期。如对办理结果有意见，请拨打12345。", 410),
    "closed": ("回访已结束", "该工单的回访已结束，感谢您的支持！", 410),
}


def _options(name: str, choices: list[tuple[str, str]]) -> str:
    return "".join(
        f'<label><input type="radio" name="{name}" value="{value}" required><span>{label}</span></label>'
        for value, label in choices
    )


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(token: str, session: DB) -> HTMLResponse:
    """回访评价 page (one per caller and reply)."""
    cb = callbacks.by_token(session, token)
    state = callbacks.token_state(cb, utcnow())
    if state != "ok":
        title, text, status = STATE_TEXT[state]
        return _message(title, text, status)
    assert cb is not None
    ticket = session.get(Ticket, cb.ticket_id)
    assert ticket is not None
    answer = ticket.public_answer or ticket.handling_text or ""
    body = f"""
<form method="post" id="survey">
<section><h2>您的诉求</h2><div class="meta">工单号：{escape(ticket.number)}</div>
<p>{escape(ticket.title)}</p>
<h2>办理答复</h2><p>{escape(answer)}</p></section>
<section><h2>1. 您对承办单位的办理结果是否满意？</h2>
<div class="opts">{_options("satisfaction", SATISFACTION)}</div></section>
<section><h2>2. 您反映的问题是否已经解决？</h2>
<div class="opts">{_options("resolved", [("1", "已解决"), ("0", "未解决")])}</div></section>
<section><h2>3. 您对12345热线的服务是否满意？</h2>
<div class="opts">{_options("service_satisfaction", SATISFACTION)}</div></section>
<section><h2>4. 意见或不满意的原因</h2>
<textarea name="reason" maxlength="500" placeholder="请简要说明（选填；不满意时请填写原因）"></textarea>
<p class="hint" id="hint">请填写不满意的原因，以便我们督促承办单位重新办理。</p></section>
<button type="submit">提交评价</button>
</form>
<script>
document.getElementById('survey').addEventListener('submit', function (e) {{
  var s = document.querySelector('input[name=satisfaction]:checked');
  var r = document.querySelector('textarea[name=reason]');
  if (s && s.value === 'unsatisfied' && !r.value.trim()) {{
    document.getElementById('hint').style.display = 'block'; r.focus(); e.preventDefault();
  }}
}});
</script>"""
    return _page("回访评价", body)


@router.post("/survey/{token}", response_class=HTMLResponse)
def survey_submit(
    token: str,
    session: DB,
    satisfaction: Annotated[str, Form()],
    resolved: Annotated[str, Form()],
    service_satisfaction: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=500)] = None,
) -> HTMLResponse:
    valid = {value for value, _label in SATISFACTION}
    if (
        satisfaction not in valid
        or resolved not in {"0", "1"}
        or (service_satisfaction and service_satisfaction not in valid)
    ):
        return _message("提交失败", "请完整选择各项评价后再提交。", 422)
    try:
        callbacks.answer_by_token(
            session,
            token,
            satisfaction=Satisfaction(satisfaction),
            resolved=resolved == "1",
            service_satisfaction=Satisfaction(service_satisfaction) if service_satisfaction else None,
            reason=reason,
        )
        session.commit()
    except HotlineError as exc:
        session.rollback()
        state = exc.code.removeprefix("link_")
        if state in STATE_TEXT:
            title, text, status = STATE_TEXT[state]
            return _message(title, text, status)
        return _message("提交失败", exc.message, exc.status_code)
    text = "感谢您的评价！" + ("我们将督促承办单位重新办理，并再次回访。" if satisfaction == "unsatisfied" else "")
    return _message("提交成功", text)
