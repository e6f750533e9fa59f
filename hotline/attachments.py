"""Attachments (附件) on tickets: what is accepted, where it goes, who may read it.

Staff uploads, channel clients' files and citizens' photos all come through :func:`add_attachments`:
the type is read from the bytes (``filetype``), never from the name or the declared type; the size
and the count per ticket are limited; the name the uploader gave is cleaned and kept for display
only, while the bytes go to the blob store under a random key. Each file is a timeline event
(``attach``). Bytes written for a transaction that then rolls back are deleted again.
Reading goes through :func:`visible_attachment`: whoever may see the ticket (``hotline.access``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

import filetype
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from hotline import access, lifecycle
from hotline.blobstore import CHUNK, BlobStoreError, get_store
from hotline.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Unavailable, UnsupportedMediaType
from hotline.models import Attachment, Ticket, User
from hotline.settings import get_settings

log = logging.getLogger(__name__)

# What a 12345 center receives: phone photos (HEIC from iPhones), scans, office documents, WeChat
# voice (AMR), short videos. No HTML, SVG or executables: they could run in a reader's browser.
DEFAULT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "audio/x-wav",
    "video/mp4",
    "video/quicktime",
)
TYPE_LABELS = {"image": "图片", "application": "文档", "audio": "录音", "video": "视频"}
GENERIC_DECLARED = {"", "application/octet-stream", "binary/octet-stream"}
SNIFF_BYTES = 8192
_WRITTEN = "hotline_blobs_written"


@dataclass
class Upload:
    """One file as received: the uploader's name and declared type (both untrusted) and its bytes."""

    filename: str | None
    declared_type: str | None
    file: IO[bytes]


@dataclass
class _Checked:
    upload: Upload
    filename: str
    content_type: str
    size: int
    sha256: str


def allowed_types() -> tuple[str, ...]:
    return tuple(get_settings().attachment_types) or DEFAULT_TYPES


def clean_filename(name: str | None, extension: str) -> str:
    """A display name: the last path component, printable characters only, with the extension the
    bytes say. Never used as a path."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] not in "CZ" or c == " ")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem.strip(" .")[:100] or "附件"
    return f"{stem}.{extension}"


def _measure(upload: Upload, max_bytes: int) -> tuple[int, str, bytes]:
    """Size, SHA-256 and the first bytes, reading at most ``max_bytes + 1`` bytes."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    upload.file.seek(0)
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            return size, "", head
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
    return size, digest.hexdigest(), head


def check_upload(upload: Upload, *, field: str = "file") -> _Checked:
    """Size and type of one file, or the error that says what is wrong with it (nothing stored)."""
    limit = get_settings().attachment_max_bytes
    shown = re.split(r"[\\/]", upload.filename or "")[-1][:100] or "附件"
    size, sha256, head = _measure(upload, limit)
    if size == 0:
        raise InvalidInput(f"附件「{shown}」是空文件", field=field)
    if size > limit:
        raise PayloadTooLarge(f"附件「{shown}」超过大小上限 {limit // (1024 * 1024)} MB", field=field, max_bytes=limit)
    kind = filetype.guess(head)
    allowed = allowed_types()
    if kind is None or kind.mime not in allowed:
        raise UnsupportedMediaType(
            f"附件「{shown}」的文件类型不受支持（可上传：照片、PDF、Word/Excel 文档、录音、视频）",
            field=field,
            detected_type=kind.mime if kind else None,
            allowed=list(allowed),
        )
    declared = (upload.declared_type or "").split(";")[0].strip().lower()
    if declared not in GENERIC_DECLARED and declared.split("/")[0] != kind.mime.split("/")[0]:
        what = TYPE_LABELS.get(kind.mime.split("/")[0], "其他文件")
        raise UnsupportedMediaType(
            f"附件「{shown}」的内容是{what}，与声明的类型 {declared} 不符",
            field=field,
            detected_type=kind.mime,
        )
    return _Checked(upload, clean_filename(upload.filename, kind.extension), kind.mime, size, sha256)


def add_attachments(
    session: Session, ticket: Ticket, actor: User, uploads: Sequence[Upload], *, source: str = "staff"
) -> list[Attachment]:
    """Check every file, then store them all and record each on the timeline (all or nothing).

    The caller commits; if it rolls back instead, the stored bytes are deleted again."""
    if not uploads:
        raise InvalidInput("请选择要上传的附件", field="file")
    checked = [check_upload(u) for u in uploads]
    # The ticket row is locked so two uploads at once cannot both pass the count (PostgreSQL).
    session.execute(select(Ticket.id).where(Ticket.id == ticket.id).with_for_update())
    existing = session.scalar(select(func.count()).where(Attachment.ticket_id == ticket.id)) or 0
    limit = get_settings().attachment_max_per_ticket
    if existing + len(checked) > limit:
        raise Conflict(f"每张工单最多 {limit} 个附件（已有 {existing} 个）", code="attachment_limit")
    store = get_store()
    written = session.info.setdefault(_WRITTEN, [])
    rows = []
    for item in checked:
        key = f"tickets/{ticket.id}/{uuid.uuid4().hex}"
        try:
            store.put(key, item.upload.file, item.size, item.content_type)
        except BlobStoreError:
            log.exception("attachment store %s refused a file for ticket %s", store.name, ticket.id)
            raise
        written.append((store, key))
        row = Attachment(
            ticket_id=ticket.id,
            storage_key=key,
            store=store.name,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            source=source,
            uploaded_by_id=actor.id,
        )
        session.add(row)
        session.flush()
        lifecycle.add_note(
            session,
            ticket,
            actor,
            action="attach",
            note=f"上传附件「{item.filename}」（{_human_size(item.size)}）",
            data={
                "attachment_id": row.id,
                "filename": item.filename,
                "content_type": item.content_type,
                "size": item.size,
                "source": source,
            },
            touch=False,
        )
        rows.append(row)
    return rows


def _human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def ticket_attachments(session: Session, ticket_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.ticket_id == ticket_id).order_by(Attachment.id)))


def visible_attachment(session: Session, user: User, attachment_id: int) -> Attachment:
    """The attachment, or 404 when it does not exist or its ticket is outside the user's view."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound("附件不存在或无权查看")
    try:
        access.get_visible_ticket(session, user, row.ticket_id)
    except NotFound as exc:
        raise NotFound("附件不存在或无权查看") from exc
    return row


def open_bytes(row: Attachment) -> Iterator[bytes]:
    try:
        return get_store().open(row.storage_key)
    except BlobStoreError as exc:
        log.error("attachment %s unreadable: %s", row.id, exc)
        raise Unavailable("附件暂时无法读取，请稍后再试") from exc


def content_disposition(row: Attachment) -> str:
    """Images and PDF inline, the rest as downloads; the name in RFC 6266/5987 form."""
    inline = row.content_type.startswith("image/") or row.content_type == "application/pdf"
    fallback = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in row.filename)
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.filename)}"


def spool(data: bytes) -> IO[bytes]:
    """Bytes as a file (channel clients send attachments inline, base64 in JSON)."""
    handle: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed by its reader
    handle.write(data)
    handle.seek(0)
    return handle


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _delete_written(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is not None:
        return
    for store, key in session.info.pop(_WRITTEN, []):
        try:
            store.delete(key)
        except (BlobStoreError, OSError):
            log.warning("could not delete the orphaned attachment blob %s", key)
