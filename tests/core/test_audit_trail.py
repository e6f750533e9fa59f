"""全程留痕 held by the database itself: on PostgreSQL timeline_events refuses UPDATE, DELETE and
TRUNCATE from every role (the schema owner and a superuser included: a statement trigger), bulk ORM
statements included, and the restricted application role ``hotline_app`` lacks those privileges
and still runs the product; on SQLite row triggers refuse UPDATE and DELETE."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hotline import lifecycle
from hotline.app import create_app
from hotline.cli import main
from hotline.enums import TicketStatus
from hotline.models import Ticket, TimelineEvent
from tests.conftest import PG_ADMIN_DSN, Org, login, use_database
from tests.core.factory import ticket_in, user
from tests.core.test_api import APPEAL


def _refused(session: Session, statement: object, sqlstate: str = "42501") -> str:
    with pytest.raises(DBAPIError) as failure:
        session.execute(statement)  # type: ignore[call-overload]
        session.flush()
    session.rollback()
    assert getattr(failure.value.orig, "sqlstate", None) == sqlstate, failure.value
    return str(failure.value.orig)


def _timeline(session: Session) -> list[tuple[int, str, str | None]]:
    return list(session.execute(select(TimelineEvent.id, TimelineEvent.action, TimelineEvent.note)).tuples())


def test_the_owner_cannot_change_the_timeline_by_sql_or_bulk_orm(pg: tuple[Session, Org]) -> None:
    session, org = pg
    ticket = ticket_in(session, org, TicketStatus.in_progress)
    before = _timeline(session)
    assert len(before) >= 3
    target = before[0][0]

    for statement in (
        text("UPDATE timeline_events SET note = 'rewritten' WHERE id = :id").bindparams(id=target),
        text("DELETE FROM timeline_events WHERE id = :id").bindparams(id=target),
        text("TRUNCATE timeline_events"),
        text("TRUNCATE tickets CASCADE"),  # the timeline goes with its tickets: refused too
        update(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id).values(note="rewritten"),
        delete(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id),
        update(TimelineEvent).where(TimelineEvent.id == -1).values(note="none matches"),  # refused all the same
    ):
        assert "append-only" in _refused(session, statement)
    with pytest.raises(DBAPIError):
        session.query(TimelineEvent).filter(TimelineEvent.ticket_id == ticket.id).delete(synchronize_session=False)
    session.rollback()
    with pytest.raises(DBAPIError):
        session.query(TimelineEvent).update({"actor_name": "someone else"}, synchronize_session=False)
    session.rollback()
    assert _timeline(session) == before

    # Appending goes on: the ticket moves and its timeline grows.
    ticket = session.get(Ticket, ticket.id)
    assert ticket is not None
    lifecycle.reply_ticket(
        session,
        ticket,
        user(session, org, "zjj"),
        version=ticket.version,
        handling="已处理",
        resolved=True,
        public_answer="已处理",
    )
    session.commit()
    assert len(_timeline(session)) == len(before) + 1


@pytest.fixture
def app_login(pg: tuple[Session, Org], pg_database: str, tmp_path: Path) -> Iterator[str]:
    """A login role made by ``hotline db upgrade --app-login`` (as docker-compose's migrate does), and
    the settings pointed at the test database through it; yields its database URL."""
    name = f"hotline_test_{uuid.uuid4().hex[:8]}"
    made = CliRunner().invoke(
        main, ["db", "upgrade", "--app-login", name], env={"HOTLINE_DB_APP_PASSWORD": "Not-used-here-1"}
    )
    assert made.exit_code == 0, made.output
    assert f"login role {name} is a member of hotline_app" in made.output
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        member, login_ok, superuser = conn.execute(
            "SELECT pg_has_role(%s, 'hotline_app', 'member'), rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s",
            (name, name),
        ).fetchone()  # type: ignore[misc]
    assert member and login_ok and not superuser
    url = make_url(pg_database).set(username=name).render_as_string(hide_password=False)
    use_database(url, tmp_path)
    try:
        yield url
    finally:
        use_database(pg_database, tmp_path)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{name}"')


def test_raw_sql_and_bulk_statements_cannot_change_the_timeline_on_either_database(
    db: tuple[Session, Org],
) -> None:
    session, org = db
    ticket = ticket_in(session, org, TicketStatus.in_progress)
    before = _timeline(session)
    target = before[0][0]
    for statement in (
        text("UPDATE timeline_events SET note = 'rewritten' WHERE id = :id").bindparams(id=target),
        text("DELETE FROM timeline_events WHERE id = :id").bindparams(id=target),
        update(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id).values(note="rewritten"),
        delete(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        session.rollback()
    assert _timeline(session) == before


def test_the_application_role_appends_and_cannot_rewrite(pg: tuple[Session, Org], app_login: str) -> None:
    from hotline.db import get_sessionmaker

    owner, org = pg
    with TestClient(create_app()) as client:  # the product, signed in as the restricted role
        agent, dispatcher, zjj = login(client, "agent"), login(client, "dispatcher"), login(client, "zjj")
        ticket = client.post("/api/v1/tickets", headers=agent, json=APPEAL).json()
        for who, action, body in (
            (dispatcher, "dispatch", {"primary_department_id": org.dept["zjj"]}),
            (zjj, "sign", {}),
            (zjj, "reply", {"handling": "已修复路灯", "resolved": True, "public_answer": "已修复"}),
        ):
            response = client.post(
                f"/api/v1/tickets/{ticket['id']}/{action}", headers=who, json={"version": ticket["version"], **body}
            )
            assert response.status_code == 200, response.text
            ticket = response.json()
        assert ticket["status"] == "replied"

    session = get_sessionmaker()()
    try:
        assert session.scalar(text("SELECT current_user")) != "postgres"
        count = session.scalar(select(func.count()).select_from(TimelineEvent))
        assert count and count >= 4
        for statement in (
            text("UPDATE timeline_events SET note = 'x'"),
            text("DELETE FROM timeline_events"),
            text("TRUNCATE timeline_events"),
            text("UPDATE alembic_version SET version_num = version_num"),
            text("DROP TRIGGER timeline_events_append_only ON timeline_events"),
            delete(TimelineEvent),
        ):
            message = _refused(session, statement)
            assert "permission denied" in message or "must be owner" in message, message
        # Other tables stay writable for the role.
        session.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(version=Ticket.version))
        session.rollback()
    finally:
        session.close()
    assert owner.scalar(select(func.count()).select_from(TimelineEvent)) == count
