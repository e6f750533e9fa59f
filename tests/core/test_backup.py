"""Backup and restore (`hotline backup` / `hotline restore`): a restore into an empty database and
an empty data dir gives the same tickets, timelines and attachments, on PostgreSQL and SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.app import create_app
from hotline.cli import main
from hotline.db import get_sessionmaker, reset_engine_cache
from hotline.enums import TicketStatus
from hotline.models import Attachment, Ticket, TimelineEvent
from tests.conftest import Org, create_pg_database, drop_pg_database, login, pg_url, use_database
from tests.core.factory import ticket_in
from tests.core.test_attachments import PDF, PNG, upload


def snapshot(session: Session) -> dict[str, Any]:
    tickets = [
        (t.id, t.number, t.status, t.title, t.content, t.address, t.version, t.citizen_id)
        for t in session.scalars(select(Ticket).order_by(Ticket.id))
    ]
    events = [
        (e.id, e.ticket_id, e.action, e.from_status, e.to_status, e.note, e.data, e.actor_name, e.at)
        for e in session.scalars(select(TimelineEvent).order_by(TimelineEvent.id))
    ]
    files = [
        (a.id, a.ticket_id, a.filename, a.content_type, a.size, a.sha256, a.storage_key)
        for a in session.scalars(select(Attachment).order_by(Attachment.id))
    ]
    return {"tickets": tickets, "events": events, "attachments": files}


def downloads(ids: list[int], ticket_id: int) -> list[bytes]:
    with TestClient(create_app()) as client:
        agent = login(client, "agent")
        listed = client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=agent).json()
        assert [a["id"] for a in listed] == ids
        return [client.get(a["url"], headers=agent).content for a in listed]


def test_restore_into_an_empty_database_gives_the_same_tickets_timelines_and_attachments(
    db: tuple[Session, Org], tmp_path: Path
) -> None:
    session, org = db
    url = str(session.get_bind().url.render_as_string(hide_password=False))
    postgres = url.startswith("postgresql")
    worked = ticket_in(session, org, TicketStatus.closed)
    open_one = ticket_in(session, org, TicketStatus.in_progress)
    with TestClient(create_app()) as client:
        zjj = login(client, "zjj")
        made = upload(
            client, zjj, open_one.id, ("现场照片.png", PNG, "image/png"), ("整改报告.pdf", PDF, "application/pdf")
        )
        assert made.status_code == 201, made.text
    ids = [a["id"] for a in made.json()]
    session.expire_all()
    before = snapshot(session)
    assert len(before["tickets"]) >= 2 and worked.id in [t[0] for t in before["tickets"]]
    assert len(before["attachments"]) == 2
    session.close()

    runner = CliRunner()
    target = tmp_path / "backup"
    done = runner.invoke(main, ["backup", str(target)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["database"] == ("postgresql" if postgres else "sqlite")
    assert manifest["counts"]["tickets"] == len(before["tickets"])
    assert (target / ("database.dump" if postgres else "database.sqlite3")).exists()
    # a backup never lands on one that exists
    again = runner.invoke(main, ["backup", str(target)])
    assert again.exit_code != 0 and "not empty" in again.output

    # an empty database and an empty data dir elsewhere
    name = create_pg_database("hotline_restore") if postgres else None
    fresh = pg_url(name) if name else f"sqlite:///{tmp_path / 'restored' / 'hotline.sqlite3'}"
    (tmp_path / "restored").mkdir()
    use_database(fresh, tmp_path / "restored")
    try:
        restored = runner.invoke(main, ["restore", str(target)])
        assert restored.exit_code == 0, restored.output
        result = json.loads(restored.output.strip().splitlines()[-1])
        assert result["counts"] == manifest["counts"] and "note" not in result
        with get_sessionmaker()() as fresh_session:
            assert snapshot(fresh_session) == before
        assert downloads(ids, open_one.id) == [PNG, PDF]
        # a database with tables is never written over
        twice = runner.invoke(main, ["restore", str(target)])
        assert twice.exit_code != 0 and "not empty" in twice.output
    finally:
        reset_engine_cache()
        if name:
            drop_pg_database(name)


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_database(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    done = CliRunner().invoke(main, ["restore", str(tmp_path)])
    assert done.exit_code != 0 and "no manifest.json" in done.output
