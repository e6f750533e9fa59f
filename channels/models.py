"""Tables of the channels: clients and their keys, intakes (idempotent on the client's reference),
the calls each client made, the citizens' SMS codes and the rate-limit hits of the public pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import Base, utcnow


class ChannelClient(Base):
    """A system that files appeals for one channel (WeChat or app back-end, 110 联动, 网格化, 省平台).

    It acts through a user of its own (role ``channel``, no password), so that its tickets and their
    timeline say which client registered them."""

    __tablename__ = "channel_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(16))  # hotline.enums.Channel
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    keys: Mapped[list[ChannelClientKey]] = relationship(order_by="ChannelClientKey.id", viewonly=True)


class ChannelClientKey(Base):
    """One API key of a client: ``hk_<prefix>_<secret>``; only its SHA-256 is kept."""

    __tablename__ = "channel_client_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown to admins, finds the row
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()  # set when rotated: the old key's grace
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


class ChannelIntake(Base):
    """An appeal a client filed: the unique (client, reference) pair is the idempotency claim."""

    __tablename__ = "channel_intakes"
    __table_args__ = (UniqueConstraint("client_id", "client_ref", name="uq_channel_intakes_client_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    client_ref: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))  # the same reference with another body: 409
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)  # Open311's token for the request
    protocol: Mapped[str] = mapped_column(String(16), default="api")  # api | open311 | web
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    media_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelCall(Base):
    """Every authenticated call of a client (who, with which key, what, the answer)."""

    __tablename__ = "channel_calls"
    __table_args__ = (Index("ix_channel_calls_client_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("channel_clients.id"))
    key_id: Mapped[int] = mapped_column(ForeignKey("channel_client_keys.id"))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsCode(Base):
    """A verification code sent to a citizen's phone (only its hash is kept)."""

    __tablename__ = "channel_sms_codes"
    __table_args__ = (Index("ix_channel_sms_codes_phone_created", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateHit(Base):
    """One counted action of the public pages, per key (``phone:…``, ``addr:…``)."""

    __tablename__ = "channel_rate_hits"
    __table_args__ = (Index("ix_channel_rate_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
