"""Where attachment bytes live: a directory under the data dir (default) or an S3-compatible store.

Keys are made by :mod:`hotline.attachments` (``tickets/<id>/<random hex>``), never from a name a
user gave, and every store checks the key's shape again before touching anything.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

from hotline.settings import get_settings

KEY_PATTERN = re.compile(r"^[a-z]+/[0-9]+/[0-9a-f]{32}$")
CHUNK = 64 * 1024


class BlobStoreError(Exception):
    """The store cannot be reached or refused the operation (an operator's problem, not the user's)."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobStore(Protocol):
    name: str

    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None:
        """Store ``size`` bytes read from ``source`` (at its start) under ``key``."""

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes, in chunks."""

    def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is not there."""


class DiskStore:
    """Files under one directory, written to a temporary name and renamed (never half a file)."""

    name = "disk"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"blob key outside the store: {key!r}")
        return path

    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.seek(0)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise BlobStoreError(f"blob {key} is missing from {self.root}") from exc

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return chunks()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Store:
    """An S3-compatible bucket through boto3 (AWS, MinIO, Ceph RGW, and the clouds' OBS/OSS/COS)."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}{check_key(key)}"

    def put(self, key: str, source: IO[bytes], size: int, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        source.seek(0)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=source, ContentLength=size, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreError(f"S3 put {key}: {exc}") from exc

    def open(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreError(f"S3 get {key}: {exc}") from exc

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks()

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise BlobStoreError(f"S3 delete {key}: {exc}") from exc


def s3_store_from_settings() -> S3Store:
    import boto3
    from botocore.config import Config

    s = get_settings()
    if not s.s3_bucket:
        raise BlobStoreError("HOTLINE_ATTACHMENT_STORE=s3 needs HOTLINE_S3_BUCKET")
    client = boto3.client(
        "s3",
        endpoint_url=s.s3_endpoint_url or None,
        region_name=s.s3_region,
        aws_access_key_id=s.s3_access_key_id or None,
        aws_secret_access_key=s.s3_secret_access_key or None,
        # Path-style addressing: what self-hosted S3-compatible stores on an intranet expect.
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
    )
    return S3Store(client, s.s3_bucket, s.s3_prefix)


def get_store() -> BlobStore:
    """The store the settings name now (one per configuration: tests and ``hotline up`` change them)."""
    s = get_settings()
    if s.attachment_store == "disk":
        return _store(("disk", str(s.resolved_attachment_dir())))
    if s.attachment_store == "s3":
        return _store(("s3", s.s3_endpoint_url, s.s3_bucket, s.s3_prefix, s.s3_access_key_id, s.s3_region))
    raise BlobStoreError(f"HOTLINE_ATTACHMENT_STORE must be disk or s3, not {s.attachment_store!r}")


@lru_cache(maxsize=8)
def _store(config: tuple[str, ...]) -> BlobStore:
    if config[0] == "disk":
        return DiskStore(Path(config[1]))
    return s3_store_from_settings()
