"""Backup and restore of an installation: the database and the files of the data dir.

A backup is one directory:

* ``manifest.json`` — what it holds: the database kind, the schema revisions, row counts of the
  main tables (the restore checks it got the same), when it was taken;
* ``database.dump`` — PostgreSQL: ``pg_dump --format=custom`` (consistent: one snapshot), or
  ``database.sqlite3`` — SQLite: the online backup API (a consistent copy while the product runs);
* ``files.tar.gz`` — the data dir's files that are not the live database or the embedded broker:
  attachments (附件, when stored on disk), the classifier's model versions, the secret key of an
  embedded install. Attachments in an S3-compatible store are the bucket's to keep (versioning or
  replication); the manifest says so.

``restore`` loads a backup into an empty database (it refuses one that has tables) and puts the
files back (it refuses to overwrite a file that differs).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from hotline.db import make_engine
from hotline.settings import get_settings

FORMAT = 1
COUNTED = ("tickets", "timeline_events", "ticket_attachments", "citizens", "users", "departments")
# Live files of the data dir that the database part covers or that are transient.
SKIPPED = {"hotline.sqlite3", "broker.sqlite3", "results.sqlite3", "celerybeat-schedule"}


class BackupError(Exception):
    """The backup or restore cannot be done as asked (a message for the operator)."""


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, and the password in the environment."""
    u = make_url(url)
    parts = [f"host={u.host or '127.0.0.1'}", f"port={u.port or 5432}", f"dbname={u.database}"]
    if u.username:
        parts.append(f"user={u.username}")
    env = {"PGPASSWORD": u.password} if u.password else {}
    return " ".join(parts), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    import os

    try:
        done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} is not installed (PostgreSQL's client programs)") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


def counts(engine: Engine) -> dict[str, int]:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED if t in names}


def _revisions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(str(r) for r in conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _data_files(data_dir: Path, attachment_dir: Path) -> list[tuple[Path, str]]:
    """(file, name in the archive): the data dir's files and the attachments (wherever on disk)."""
    out: list[tuple[Path, str]] = []
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if not path.is_file() or rel.parts[0] in SKIPPED or rel.name.startswith(("hotline.sqlite3-", ".upload-")):
            continue
        if attachment_dir == path or attachment_dir in path.parents:
            continue
        out.append((path, f"data/{rel.as_posix()}"))
    for path in sorted(attachment_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(".upload-"):
            out.append((path, f"attachments/{path.relative_to(attachment_dir).as_posix()}"))
    return out


def backup(target: Path, database_url: str | None = None) -> dict[str, Any]:
    """Write a backup of the configured installation into ``target`` (a new or empty directory)."""
    settings = get_settings()
    url = database_url or settings.effective_database_url
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "revisions": _revisions(engine),
        }
        if url.startswith("sqlite"):
            manifest["database"] = "sqlite"
            source = sqlite3.connect(make_url(url).database or "")
            dest = sqlite3.connect(target / "database.sqlite3")
            try:
                source.backup(dest)  # the online backup API: a consistent copy while others write
            finally:
                dest.close()
                source.close()
            manifest["counts"] = counts(make_engine(f"sqlite:///{target / 'database.sqlite3'}"))
        else:
            manifest["database"] = "postgresql"
            conninfo, env = _libpq(url)
            # counted inside the dump's snapshot would be exact; counted just before, it is what
            # the restore is compared with (a busy install may add rows meanwhile: restore says so)
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target / "database.dump"), conninfo], env)
            manifest["counts"] = counts(engine)
    finally:
        engine.dispose()
    attachment_dir = settings.resolved_attachment_dir()
    files = _data_files(settings.resolved_data_dir(), attachment_dir)
    with tarfile.open(target / "files.tar.gz", "w:gz") as tar:
        for path, name in files:
            tar.add(path, arcname=name, recursive=False)
    manifest["files"] = len(files)
    manifest["attachment_store"] = settings.attachment_store  # s3: the bucket keeps its own copies
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def restore(source: Path, database_url: str | None = None) -> dict[str, Any]:
    """Load the backup in ``source`` into the configured, empty database and data dir."""
    settings = get_settings()
    url = database_url or settings.effective_database_url
    manifest_file = source / "manifest.json"
    if not manifest_file.exists():
        raise BackupError(f"{source} holds no backup (no manifest.json)")
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not known here")
    kind = "sqlite" if url.startswith("sqlite") else "postgresql"
    if manifest["database"] != kind:
        raise BackupError(f"a {manifest['database']} backup cannot be restored into {kind} (dump and load the data)")
    engine = make_engine(url)
    try:
        if inspect(engine).get_table_names():
            raise BackupError("the database is not empty: restore into a new, empty database")
        if kind == "sqlite":
            engine.dispose()
            dest = make_url(url).database or ""
            src_conn = sqlite3.connect(source / "database.sqlite3")
            dest_conn = sqlite3.connect(dest)
            try:
                src_conn.backup(dest_conn)
            finally:
                dest_conn.close()
                src_conn.close()
        else:
            conninfo, env = _libpq(url)
            _run(
                ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", conninfo, str(source / "database.dump")],
                env,
            )
        restored = counts(engine)
    finally:
        engine.dispose()
    _restore_files(source / "files.tar.gz", settings.resolved_data_dir(), settings.resolved_attachment_dir())
    result = {"database": kind, "counts": restored, "files": manifest.get("files", 0)}
    if restored != manifest["counts"]:
        result["note"] = f"row counts differ from the manifest's {manifest['counts']}"
    return result


def _restore_files(archive: Path, data_dir: Path, attachment_dir: Path) -> None:
    roots = {"data": data_dir, "attachments": attachment_dir}
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        plan = []
        for m in members:
            head, _, rest = m.name.partition("/")
            if head not in roots or not rest or not m.isfile():
                raise BackupError(f"unexpected entry in the archive: {m.name}")
            dest = (roots[head] / rest).resolve()
            if roots[head].resolve() not in dest.parents:
                raise BackupError(f"entry outside its directory: {m.name}")
            plan.append((m, dest))
        for m, dest in plan:
            extracted = tar.extractfile(m)
            assert extracted is not None
            data = extracted.read()
            if dest.exists():
                if dest.read_bytes() != data:
                    raise BackupError(f"{dest} exists and differs from the backup's: move it away first")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".restore-{dest.name}")
            tmp.write_bytes(data)
            tmp.chmod(m.mode & 0o777)
            tmp.replace(dest)


def remove_backup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
