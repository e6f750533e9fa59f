"""Confirming a citizen's phone number: a 6-digit code by SMS through escalation's outbox (the SMS
gateway adapter, or the ``notification_sms_outbox`` table), valid 10 minutes, 5 tries, used once.
Only a keyed hash of the code is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.models import SmsCode
from escalation.notify import Recipient, queue_messages
from hotline.celery_app import enqueue_after_commit
from hotline.db import utcnow
from hotline.errors import InvalidInput
from hotline.settings import get_settings

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5


def _hash(phone: str, code: str) -> str:
    key = get_settings().effective_secret_key.encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(session: Session, phone_e164: str) -> SmsCode:
    """A new code for ``phone_e164`` (earlier ones stop working), queued as an SMS."""
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    for old in session.scalars(select(SmsCode).where(SmsCode.phone == phone_e164, SmsCode.used_at.is_(None))):
        old.used_at = now
    row = SmsCode(phone=phone_e164, code_hash=_hash(phone_e164, code), expires_at=now + CODE_TTL, created_at=now)
    session.add(row)
    session.flush()
    queue_messages(
        session,
        key=f"code{row.id}",
        recipients=[Recipient("citizen", "诉求人", None, phone_e164)],
        channels=["sms"],
        subject="验证码",
        body=f"【12345热线】您的验证码是 {code}，10分钟内有效。如非本人操作请忽略。",
        ticket_id=None,
    )
    from escalation.tasks import deliver

    enqueue_after_commit(session, deliver.si())
    return row


def verify_code(session: Session, phone_e164: str, code: str, *, field: str = "code") -> None:
    """Spend the phone's current code if ``code`` is it; 422 otherwise (wrong, expired, too many tries)."""
    now = utcnow()
    row = session.scalar(
        select(SmsCode)
        .where(SmsCode.phone == phone_e164, SmsCode.used_at.is_(None), SmsCode.expires_at > now)
        .order_by(SmsCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        raise InvalidInput("验证码已失效，请重新获取", field=field)
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _hash(phone_e164, code.strip())):
        if row.attempts >= MAX_TRIES:
            row.used_at = now
        session.commit()  # a wrong try counts even though the request fails
        raise InvalidInput(
            "验证码不正确" if row.attempts < MAX_TRIES else "验证码错误次数过多，请重新获取", field=field
        )
    row.used_at = now
