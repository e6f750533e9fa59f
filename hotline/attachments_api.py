"""HTTP routes of attachments (附件): upload to a ticket, list a ticket's, download one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from hotline import access, attachments, schemas
from hotline.auth import get_current_user
from hotline.bodylimit import body_limit
from hotline.deps import get_db
from hotline.http_errors import documented
from hotline.models import Attachment, User
from hotline.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["attachments"])
CurrentUser = Annotated[User, Depends(get_current_user)]
DB = Annotated[Session, Depends(get_db)]


def attachment_out(row: Attachment) -> schemas.AttachmentOut:
    return schemas.AttachmentOut.model_validate(
        {
            **{k: getattr(row, k) for k in schemas.AttachmentOut.model_fields if k != "url"},
            "url": f"/api/v1/attachments/{row.id}/content",
        }
    )


@router.post(
    "/tickets/{ticket_id}/attachments",
    response_model=list[schemas.AttachmentOut],
    status_code=status.HTTP_201_CREATED,
    responses=documented(415),
)
@body_limit(lambda: get_settings().max_upload_bytes)
def upload(ticket_id: int, user: CurrentUser, session: DB, file: Annotated[list[UploadFile], File()]) -> Any:
    """Add one or more files (multipart field ``file``, repeated) to a ticket the user can see.

    All or nothing. The type is read from the bytes: photos (JPEG, PNG, GIF, WebP, HEIC), PDF,
    Word/Excel (docx, xlsx), voice (AMR, MP3, M4A, WAV) and video (MP4, MOV) by default
    (``HOTLINE_ATTACHMENT_TYPES``); 413 over ``HOTLINE_ATTACHMENT_MAX_BYTES`` (20 MB), 415 for another
    type or one that contradicts the declared type, 409 past ``HOTLINE_ATTACHMENT_MAX_PER_TICKET``."""
    ticket = access.get_visible_ticket(session, user, ticket_id)
    uploads = [attachments.Upload(f.filename, f.content_type, f.file) for f in file]
    rows = attachments.add_attachments(session, ticket, user, uploads)
    session.commit()
    return [attachment_out(r) for r in rows]


@router.get("/tickets/{ticket_id}/attachments", response_model=list[schemas.AttachmentOut])
def ticket_attachments(ticket_id: int, user: CurrentUser, session: DB) -> Any:
    """The ticket's files, oldest first."""
    access.get_visible_ticket(session, user, ticket_id)
    return [attachment_out(r) for r in attachments.ticket_attachments(session, ticket_id)]


@router.get(
    "/attachments/{attachment_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes."}},
)
def download(attachment_id: int, request: Request, user: CurrentUser, session: DB) -> Response:
    """The file itself, for whoever may see its ticket (others: 404). Images and PDF are shown
    inline, other types downloaded; the ETag is the file's SHA-256."""
    row = attachments.visible_attachment(session, user, attachment_id)
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        # Uploaded content never runs as a page of our origin.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; sandbox",
        "Content-Disposition": attachments.content_disposition(row),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    chunks = attachments.open_bytes(row)
    return StreamingResponse(chunks, media_type=row.content_type, headers={**headers, "Content-Length": str(row.size)})
