"""Attachments: upload, list, download through the API on PostgreSQL; the disk store and a real
S3-compatible server (moto in server mode, over HTTP); limits, type checks, names, access."""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import attachments
from hotline.app import create_app
from hotline.enums import TicketStatus
from hotline.models import Attachment, Ticket, TimelineEvent
from hotline.settings import get_settings
from tests.browser import free_port
from tests.conftest import Org, login
from tests.core.factory import ticket_in, user


def png_bytes(width: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xc8\x16\x1d" * width for _ in range(width))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png_bytes()
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def upload(client: TestClient, who: dict[str, str], ticket_id: int, *files: tuple[str, bytes, str]) -> Any:
    return client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=who,
        files=[("file", (name, data, ctype)) for name, data, ctype in files],
    )


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_department_uploads_photos_and_colleagues_read_them(client: TestClient, pg: tuple[Session, Org]) -> None:
    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.in_progress)
    version = ticket.version
    zjj, agent, cgj = login(client, "zjj"), login(client, "agent"), login(client, "cgj")

    response = upload(
        client, zjj, ticket.id, ("../../etc/现场照片.png", PNG, "image/png"), ("整改报告", PDF, "application/pdf")
    )
    assert response.status_code == 201, response.text
    photo, report = response.json()
    assert (photo["filename"], photo["content_type"], photo["size"]) == ("现场照片.png", "image/png", len(PNG))
    assert (report["filename"], report["content_type"]) == ("整改报告.pdf", "application/pdf")
    assert report["source"] == "staff"

    # The bytes live under a random key in the data dir, never under the name the uploader gave.
    root = get_settings().resolved_attachment_dir()
    files = stored_files(root)
    assert len(files) == 2 and all(f.parent == root / "tickets" / str(ticket.id) for f in files)
    assert not any("etc" in str(f.relative_to(root)) or "现场" in f.name for f in files)

    listed = client.get(f"/api/v1/tickets/{ticket.id}/attachments", headers=agent).json()
    assert [a["id"] for a in listed] == [photo["id"], report["id"]]

    got = client.get(photo["url"], headers=agent)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]
    assert client.get(photo["url"], headers={**agent, "If-None-Match": got.headers["etag"]}).status_code == 304

    # A timeline event per file, and the ticket's version did not move (a pending reply stays valid).
    session.expire_all()
    events = session.scalars(
        select(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id, TimelineEvent.action == "attach")
    ).all()
    assert [e.data["attachment_id"] for e in events] == [photo["id"], report["id"]]
    assert events[0].note == "上传附件「现场照片.png」（1 KB）" and events[0].actor_name == "zjj 测试"
    assert session.get(Ticket, ticket.id).version == version  # type: ignore[union-attr]

    # Another department sees neither the list nor the files; nobody without a login does.
    assert client.get(f"/api/v1/tickets/{ticket.id}/attachments", headers=cgj).status_code == 404
    assert client.get(photo["url"], headers=cgj).status_code == 404
    assert upload(client, cgj, ticket.id, ("x.png", PNG, "image/png")).status_code == 404
    assert client.get(photo["url"]).status_code == 401


def test_limits_and_types_answer_4xx_and_store_nothing(client: TestClient, pg: tuple[Session, Org], env: Any) -> None:
    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.registered)
    agent = login(client, "agent")
    env(attachment_max_bytes="1000", attachment_max_per_ticket="2")
    root = get_settings().resolved_attachment_dir()

    cases = [
        ((("big.png", PNG + os.urandom(2000), "image/png"),), 413, "payload_too_large"),
        ((("page.png", HTML, "image/png"),), 415, "unsupported_media_type"),
        ((("tool.pdf", EXE, "application/pdf"),), 415, "unsupported_media_type"),
        ((("photo.pdf", PNG, "application/pdf"),), 415, "unsupported_media_type"),
        ((("empty.png", b"", "image/png"),), 422, "invalid_input"),
        # One bad file refuses the whole request: the good one is not kept either.
        ((("ok.png", PNG, "image/png"), ("bad.html", HTML, "text/html")), 415, "unsupported_media_type"),
    ]
    for files, status, code in cases:
        response = upload(client, agent, ticket.id, *files)
        assert response.status_code == status, (files[0][0], response.text)
        body = response.json()
        assert body["code"] == code and body["detail"] and "附件" in body["detail"]
    assert upload(client, agent, ticket.id, ("a", PNG, "application/octet-stream")).status_code == 201
    too_many = upload(client, agent, ticket.id, ("b.png", PNG, "image/png"), ("c.png", PNG, "image/png"))
    assert too_many.status_code == 409 and too_many.json()["code"] == "attachment_limit"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert len(stored_files(root)) == 1
    missing_field = client.post(f"/api/v1/tickets/{ticket.id}/attachments", headers=agent)
    assert missing_field.status_code == 422


def test_filenames_are_cleaned_for_display_only() -> None:
    assert attachments.clean_filename("C:\\Users\\张\\..\\照片 1.JPG", "jpg") == "照片 1.jpg"
    assert attachments.clean_filename("../../\x00\u202e.png", "png") == "附件.png"
    assert attachments.clean_filename(None, "pdf") == "附件.pdf"
    assert attachments.clean_filename("a" * 300 + ".docx", "docx") == "a" * 100 + ".docx"


# ---------------------------------------------------------------- S3-compatible store


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 in server mode: a real HTTP S3 endpoint on a free local port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("moto server did not start") from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_s3_store_round_trip_and_rollback(
    client: TestClient, pg: tuple[Session, Org], env: Any, s3_server: str
) -> None:
    import boto3

    session, org = pg
    s3 = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    s3.create_bucket(Bucket="hotline-files")
    env(
        attachment_store="s3",
        s3_endpoint_url=s3_server,
        s3_bucket="hotline-files",
        s3_access_key_id="k",
        s3_secret_access_key="s",
    )
    ticket = ticket_in(session, org, TicketStatus.registered)
    agent = login(client, "agent")
    response = upload(client, agent, ticket.id, ("现场.png", PNG, "image/png"))
    assert response.status_code == 201, response.text
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hotline-files")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"attachments/tickets/{ticket.id}/")
    obj = s3.get_object(Bucket="hotline-files", Key=keys[0])
    assert obj["Body"].read() == PNG and obj["ContentType"] == "image/png"
    assert client.get(response.json()[0]["url"], headers=agent).content == PNG
    assert stored_files(get_settings().resolved_attachment_dir()) == []

    # Bytes written for a transaction that rolls back are deleted from the store again.
    session.expire_all()
    fresh = session.get(Ticket, ticket.id)
    assert fresh is not None
    attachments.add_attachments(
        session, fresh, user(session, org, "agent"), [attachments.Upload("b.pdf", None, io.BytesIO(PDF))]
    )
    assert len(s3.list_objects_v2(Bucket="hotline-files")["Contents"]) == 2
    session.rollback()
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="hotline-files")["Contents"]] == keys

    # The store down: a clear 503, not a traceback.
    env(s3_bucket="no-such-bucket")
    down = client.get(response.json()[0]["url"], headers=agent)
    assert down.status_code == 503 and down.json()["code"] == "unavailable"
