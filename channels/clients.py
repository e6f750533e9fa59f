"""Channel clients and their API keys: register, rotate, revoke, and recognise a key.

A key is ``hk_<prefix>_<secret>`` (prefix: 12 hex characters that find the row; secret: 32 random
bytes). Only its SHA-256 is stored: enough for a random 256-bit secret, and fast. The same digest
keys the HMAC of the client's webhooks, so the client can verify them with what it holds
(channels/README.md)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.models import ChannelCall, ChannelClient, ChannelClientKey
from hotline.auth import UNUSABLE_PASSWORD
from hotline.db import utcnow
from hotline.enums import Channel, Role
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.models import User

KEY_PREFIX = "hk_"
# The citizens' pages are a client too (their tickets say so), with no key.
WEB_CLIENT_CODE = "citizen-web"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IssuedKey:
    """A key as shown once to the admin who made it."""

    key: ChannelClientKey
    raw: str


def _issue_key(session: Session, client: ChannelClient, now: datetime) -> IssuedKey:
    prefix = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ChannelClientKey(client_id=client.id, prefix=prefix, key_hash=hash_key(raw), created_at=now)
    session.add(key)
    session.flush()
    return IssuedKey(key, raw)


def register_client(
    session: Session,
    admin: User | None,
    *,
    code: str,
    name: str,
    channel: Channel,
    webhook_url: str | None = None,
    note: str | None = None,
    with_key: bool = True,
) -> tuple[ChannelClient, IssuedKey | None]:
    """A new client with its acting user (role ``channel``, never able to log in) and a first key."""
    if channel == Channel.phone:
        raise InvalidInput("电话渠道由话务员登记，不能注册为渠道客户端", field="channel")
    if session.scalar(select(ChannelClient.id).where(ChannelClient.code == code)) is not None:
        raise Conflict(f"渠道客户端编码已存在：{code}", "code", code="duplicate_code")
    now = utcnow()
    user = User(
        username=f"channel:{code}",
        display_name=name,
        password_hash=UNUSABLE_PASSWORD,
        role=Role.channel.value,
        created_at=now,
    )
    session.add(user)
    session.flush()
    client = ChannelClient(
        code=code,
        name=name,
        channel=channel.value,
        user_id=user.id,
        webhook_url=webhook_url,
        note=note,
        created_by_id=admin.id if admin else None,
        created_at=now,
    )
    session.add(client)
    session.flush()
    return client, (_issue_key(session, client, now) if with_key else None)


def web_client(session: Session) -> ChannelClient:
    """The citizens' pages' own client (made on first use)."""
    client = session.scalar(select(ChannelClient).where(ChannelClient.code == WEB_CLIENT_CODE))
    if client is None:
        client, _ = register_client(
            session, None, code=WEB_CLIENT_CODE, name="市民网页", channel=Channel.web, with_key=False
        )
    return client


def get_client(session: Session, client_id: int) -> ChannelClient:
    client = session.get(ChannelClient, client_id)
    if client is None:
        raise NotFound("渠道客户端不存在", "client_id", where="path")
    return client


def rotate_key(session: Session, client: ChannelClient, *, grace_seconds: int) -> IssuedKey:
    """A new key; the keys in use keep working for ``grace_seconds`` (0: stop at once)."""
    if not client.active:
        raise Conflict("渠道客户端已停用，不能更换密钥", code="client_revoked")
    now = utcnow()
    until = now + timedelta(seconds=grace_seconds)
    for key in live_keys(session, client, now):
        if key.expires_at is None or key.expires_at > until:
            key.expires_at = until
    return _issue_key(session, client, now)


def revoke_key(session: Session, client: ChannelClient, key_id: int) -> ChannelClientKey:
    key = session.get(ChannelClientKey, key_id)
    if key is None or key.client_id != client.id:
        raise NotFound("密钥不存在", "key_id", where="path")
    key.revoked_at = key.revoked_at or utcnow()
    return key


def revoke_client(session: Session, client: ChannelClient) -> None:
    """Stop the client: every key refused from now on, its webhook silent."""
    now = utcnow()
    client.active = False
    client.revoked_at = client.revoked_at or now
    session.execute(
        update(ChannelClientKey)
        .where(ChannelClientKey.client_id == client.id, ChannelClientKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    user = session.get(User, client.user_id)
    if user is not None:
        user.active = False


def live_keys(session: Session, client: ChannelClient, now: datetime) -> list[ChannelClientKey]:
    return [
        k
        for k in session.scalars(select(ChannelClientKey).where(ChannelClientKey.client_id == client.id))
        if k.revoked_at is None and (k.expires_at is None or k.expires_at > now)
    ]


def signing_key(session: Session, client: ChannelClient) -> str | None:
    """The digest of the client's newest live key: what its webhooks are signed with."""
    keys = live_keys(session, client, utcnow())
    return max(keys, key=lambda k: k.id).key_hash if keys else None


def authenticate(session: Session, raw: str | None) -> tuple[ChannelClient, ChannelClientKey] | None:
    """The active client and key behind ``raw``, or None (unknown, wrong, revoked or expired)."""
    if not raw or not raw.startswith(KEY_PREFIX):
        return None
    prefix = raw[len(KEY_PREFIX) :].split("_", 1)[0]
    key = session.scalar(select(ChannelClientKey).where(ChannelClientKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw)):
        return None
    now = utcnow()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    client = session.get(ChannelClient, key.client_id)
    if client is None or not client.active:
        return None
    return client, key


def record_call(session: Session, client: ChannelClient, key: ChannelClientKey, method: str, path: str) -> None:
    """Attribute a call to its client (and mark the key used)."""
    now = utcnow()
    key.last_used_at = now
    session.add(ChannelCall(client_id=client.id, key_id=key.id, method=method, path=path[:200], at=now))
