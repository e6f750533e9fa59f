"""Notification channels behind one interface, and the outbox that delivers through them.

In-app (the inbox) and the SMS outbox table are delivered inside the transaction that claims
the message, so they happen exactly once. The HTTP SMS gateway and SMTP are outside the
database: a message is claimed (``sending``, committed) before it is sent and marked ``sent``
after; a worker killed in between leaves it ``sending``, and it is sent again once it is
older than ``stuck_after_seconds``, with the same idempotency key (``Idempotency-Key`` header,
``Message-ID``) so that the gateway can drop the repeat. Failures retry with exponential
backoff and stay visible (status, attempts, last_error); after the last attempt: ``failed``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import httpx
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from escalation.config import Config, load_config
from escalation.models import NotificationMessage, SmsOutbox
from hotline.db import utcnow
from hotline.phone import mask_phone
from hotline.settings import get_settings

log = logging.getLogger("escalation.channels")


class DeliveryError(Exception):
    pass


class Channel(Protocol):
    name: str
    in_transaction: bool

    def send(self, session: Session, message: NotificationMessage) -> None:
        """Deliver ``message`` or raise; ``session`` is the claiming transaction."""


class InboxChannel:
    """The in-app inbox: a message marked sent is in the recipient's inbox."""

    name = "inbox"
    in_transaction = True

    def send(self, session: Session, message: NotificationMessage) -> None:
        if message.recipient_user_id is None:
            raise DeliveryError("inbox message without a user")


class SmsTableChannel:
    """SMS written to ``notification_sms_outbox`` (demo, tests, or an SMS cat that reads it)."""

    name = "sms"
    in_transaction = True

    def send(self, session: Session, message: NotificationMessage) -> None:
        if not message.address:
            raise DeliveryError("SMS without a phone number")
        session.add(SmsOutbox(message_id=message.id, phone_e164=message.address, body=message.body))


class SmsHttpChannel:
    """An HTTP SMS gateway: POST {"id", "to", "text"} as JSON; any 2xx is accepted."""

    name = "sms"
    in_transaction = False

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token

    def send(self, session: Session, message: NotificationMessage) -> None:
        headers = {"Idempotency-Key": f"hotline-notification-{message.id}"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = httpx.post(
                self.url,
                json={"id": message.id, "to": message.address, "text": message.body},
                headers=headers,
                timeout=10.0,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"SMS gateway: {type(exc).__name__}: {exc}") from exc
        if resp.status_code // 100 != 2:
            raise DeliveryError(f"SMS gateway answered {resp.status_code}: {resp.text[:200]}")


class EmailChannel:
    """E-mail through SMTP (smtplib), STARTTLS and login when configured."""

    name = "email"
    in_transaction = False

    def send(self, session: Session, message: NotificationMessage) -> None:
        s = get_settings()
        if not s.smtp_host:
            raise DeliveryError("no SMTP server configured (HOTLINE_SMTP_HOST)")
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.address or ""
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = f"<hotline-notification-{message.id}@{s.smtp_from.rsplit('@', 1)[-1]}>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc


# Channels other packages add (the composition root registers them): name → factory.
_registered: dict[str, Callable[[], Channel]] = {}


def register_channel(name: str, factory: Callable[[], Channel]) -> None:
    """Deliver outbox messages of channel ``name`` through ``factory()`` (e.g. channels' webhooks)."""
    _registered[name] = factory


def channel_for(name: str) -> Channel:
    s = get_settings()
    if name == "inbox":
        return InboxChannel()
    if name == "sms":
        return SmsHttpChannel(s.sms_gateway_url, s.sms_gateway_token) if s.sms_gateway_url else SmsTableChannel()
    if name == "email":
        return EmailChannel()
    if name in _registered:
        return _registered[name]()
    raise DeliveryError(f"unknown channel {name}")


def email_enabled() -> bool:
    return bool(get_settings().smtp_host)


def _masked(message: NotificationMessage) -> str:
    if message.channel == "sms":
        return mask_phone(message.address)
    if message.channel == "email" and message.address:
        local, _, domain = message.address.partition("@")
        return f"{local[:1]}***@{domain}"
    if message.recipient_user_id is None and message.address:
        return message.address  # a registered channel's endpoint reference (webhook: "client:<id>")
    return f"user {message.recipient_user_id}"


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _delivery_values(cfg: Config) -> tuple[int, float, float, float]:
    d = cfg.delivery
    drill = get_settings().drill
    base = float(d["drill_backoff_base_seconds"] if drill else d["backoff_base_seconds"])
    stuck = float(d["drill_stuck_after_seconds"] if drill else d["stuck_after_seconds"])
    return int(d["max_attempts"]), base, float(d["backoff_max_seconds"]), stuck


def _failed(message: NotificationMessage, error: str, now: datetime, cfg: Config, stats: DeliveryStats) -> None:
    max_attempts, base, cap, _stuck = _delivery_values(cfg)
    message.last_error = error[:500]
    message.claimed_at = None
    if message.attempts >= max_attempts:
        message.status = "failed"
        stats.failed += 1
        log.error(
            "notification %s (%s to %s) failed for good after %s attempts: %s",
            message.id,
            message.channel,
            _masked(message),
            message.attempts,
            error,
        )
    else:
        message.status = "pending"
        message.next_attempt_at = now + timedelta(seconds=min(cap, base * 2 ** max(0, message.attempts - 1)))
        stats.retried += 1
        log.warning(
            "notification %s (%s to %s) attempt %s failed, retry at %s: %s",
            message.id,
            message.channel,
            _masked(message),
            message.attempts,
            message.next_attempt_at,
            error,
        )


def _not_behind_another() -> Any:
    """A message with a ``sequence_key`` waits while an earlier one of the same key is unsent."""
    earlier = aliased(NotificationMessage)
    return or_(
        NotificationMessage.sequence_key.is_(None),
        ~exists().where(
            earlier.sequence_key == NotificationMessage.sequence_key,
            earlier.id < NotificationMessage.id,
            earlier.status.in_(("pending", "sending")),
        ),
    )


def deliver_due(sm: sessionmaker[Session], *, limit: int = 500, rounds: int = 20) -> DeliveryStats:
    """Deliver what is due in the outbox, several workers at once (rows claimed SKIP LOCKED)."""
    stats = DeliveryStats()
    for _ in range(rounds):
        external: list[int] = []
        with sm() as session:
            cfg = load_config(session)
            _max, _base, _cap, stuck = _delivery_values(cfg)
            now = utcnow()
            rows = session.scalars(
                select(NotificationMessage)
                .where(
                    or_(
                        and_(NotificationMessage.status == "pending", NotificationMessage.next_attempt_at <= now),
                        and_(
                            NotificationMessage.status == "sending",
                            NotificationMessage.claimed_at < now - timedelta(seconds=stuck),
                        ),
                    ),
                    _not_behind_another(),
                )
                .order_by(NotificationMessage.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                break
            for message in rows:
                message.attempts += 1
                try:
                    channel = channel_for(message.channel)
                except DeliveryError as exc:
                    _failed(message, str(exc), now, cfg, stats)
                    continue
                if not channel.in_transaction:
                    message.status = "sending"
                    message.claimed_at = now
                    external.append(message.id)
                    continue
                try:
                    # In-database channels add rows to this transaction (no savepoint per message:
                    # a failure here is a programming error and the batch is retried whole).
                    channel.send(session, message)
                except DeliveryError as exc:
                    _failed(message, str(exc), now, cfg, stats)
                    continue
                message.status = "sent"
                message.sent_at = now
                message.last_error = None
                stats.sent += 1
            session.commit()
        sequenced = False
        for message_id in external:
            sequenced |= _send_external(sm, message_id, stats)
        # A sequenced message sent may have freed the next one of its key: look again at once.
        if len(rows) < limit and not sequenced:
            break
    return stats


def _send_external(sm: sessionmaker[Session], message_id: int, stats: DeliveryStats) -> bool:
    """Send one claimed message; True when it was sent and others may wait behind it."""
    with sm() as session:
        message = session.get(NotificationMessage, message_id)
        if message is None or message.status != "sending":
            return False
        claimed_at = message.claimed_at
        error = None
        try:
            channel_for(message.channel).send(session, message)
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
        now = utcnow()
        if error is None:
            done = session.execute(
                update(NotificationMessage)
                .where(NotificationMessage.id == message_id, NotificationMessage.claimed_at == claimed_at)
                .values(status="sent", sent_at=now, last_error=None, claimed_at=None)
            )
            session.commit()
            if done.rowcount == 1:  # type: ignore[attr-defined]
                stats.sent += 1
                log.info("notification %s sent by %s to %s", message_id, message.channel, _masked(message))
            return message.sequence_key is not None
        _failed(message, error, now, load_config(session), stats)
        session.commit()
        return False


def retry(session: Session, message: NotificationMessage) -> None:
    """An operator asks for another try of a failed message (attempts are kept)."""
    message.status = "pending"
    message.next_attempt_at = utcnow()
    message.claimed_at = None
