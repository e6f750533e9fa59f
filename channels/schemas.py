"""Pydantic shapes of the channels' API (admin and client)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from hotline.enums import AppealType, Channel
from hotline.schemas import Line, OptionalLine, Strict, Text

Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
ClientRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class ClientCreate(Strict):
    code: Code = Field(description="Short unique code, e.g. wechat-gzh, grid-dc, province-12345.")
    name: Line
    channel: Channel = Field(description="wechat, app, transfer_110, grid, province or web (not phone).")
    webhook_url: AnyHttpUrl | None = None
    note: OptionalLine = None


class ClientUpdate(Strict):
    name: Line | None = None
    webhook_url: AnyHttpUrl | None = None
    clear_webhook: bool = False
    note: OptionalLine = None


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str = Field(description="hk_<prefix>_…: tells keys apart without showing them.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    channel: str
    user_id: int
    active: bool
    webhook_url: str | None
    note: str | None
    created_at: datetime
    revoked_at: datetime | None
    keys: list[KeyOut]


class IssuedKeyOut(BaseModel):
    client: ClientOut
    key_id: int
    api_key: str = Field(description="Shown this once; only its hash is kept.")


class RotateIn(Strict):
    grace_seconds: int = Field(86400, ge=0, le=30 * 86400, description="How long the keys in use keep working.")


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key_id: int
    method: str
    path: str
    at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int | None
    subject: str
    status: str = Field(description="pending → sending → sent, or failed after the last attempt.")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
    created_at: datetime
    body: str


class AttachmentIn(Strict):
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None
    content_type: Annotated[str, StringConstraints(max_length=100)] | None = None
    data_base64: str = Field(description="The file's bytes, base64.")


class AppealIn(Strict):
    """An appeal from a channel; ``client_ref`` is the client's own id for it (idempotency key)."""

    client_ref: ClientRef
    title: Line
    content: Text
    appeal_type: AppealType
    phone: OptionalLine = None
    contact_name: OptionalLine = None
    address: OptionalLine = None
    occurred_at: OptionalLine = None
    confidential: bool = False
    enterprise: bool = False
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        from hotline.phone import citizen_phone

        if not value:
            return None
        if citizen_phone(value) is None:
            raise ValueError("不是有效的电话号码（不能是 110、12345 等服务号码）")
        return value


class AppealOut(BaseModel):
    ticket_id: int
    number: str
    client_ref: str
    created: bool = Field(description="False when this reference had been filed before (the same ticket).")
    channel: str
    status: str
    status_label: str
    attachments: list[dict[str, Any]]
    public: dict[str, Any] = Field(description="What the public may see of it now.")


class WebhookIn(Strict):
    url: AnyHttpUrl | None = Field(description="Where changes are POSTed; null to stop.")
