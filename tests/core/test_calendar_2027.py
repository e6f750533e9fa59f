"""A year chinese-calendar does not know (2027): the statutory holidays stand in, admins are
warned until the State Council's notice is imported (one step: API or CLI), and every change
of the calendar moves the open tickets' future deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import api, lifecycle
from hotline.app import create_app
from hotline.cli import main
from hotline.enums import AppealType
from hotline.models import TimelineEvent
from hotline.workcalendar import WorkCalendar, known_to_library
from tests.conftest import Org, login
from tests.core.factory import register, user
from tests.core.test_deadlines import at, end_of

NOTICE = {  # a notice as an admin would type it (dates for the test, not the real 2027 notice)
    "holidays": ["2027-01-01", *(f"2027-02-{d:02d}" for d in range(5, 13))],
    "workdays": ["2027-02-20"],
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list:
    now = [at("2026-12-20T10:00").astimezone(UTC)]
    monkeypatch.setattr(lifecycle, "utcnow", lambda: now[0])
    monkeypatch.setattr(api, "utcnow", lambda: now[0])
    return now


@pytest.fixture
def client(pg: tuple[Session, Org]) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _complaint(session: Session, org: Org):  # noqa: ANN202
    t = register(session, org, appeal_type=AppealType.complaint)
    lifecycle.dispatch_ticket(
        session, t, user(session, org, "dispatcher"), version=t.version, primary_department_id=org.dept["zjj"]
    )
    session.commit()
    return t


def test_2027_falls_back_to_the_statutory_holidays() -> None:
    assert not known_to_library(2027)
    cal = WorkCalendar(tz="Asia/Shanghai")
    for rest in (date(2027, 1, 1), date(2027, 2, 8), date(2027, 4, 5), date(2027, 6, 9), date(2027, 10, 1)):
        assert not cal.is_workday(rest), rest
    assert cal.is_workday(date(2027, 1, 4)) and cal.is_workday(date(2027, 2, 11))


def test_a_complaint_of_2026_12_20_is_not_due_early(pg: tuple[Session, Org], clock: list) -> None:
    session, org = pg
    t = _complaint(session, org)
    # 15 working days from Monday Dec 21: 元旦 (Friday Jan 1) is no working day.
    assert t.reply_due == end_of("2027-01-11")


def test_a_later_override_moves_open_deadlines_and_their_reminders(
    client: TestClient, pg: tuple[Session, Org], clock: list
) -> None:
    session, org = pg
    t = _complaint(session, org)
    closed_on_time = _complaint(session, org)
    clock[0] = at("2026-12-22T09:00").astimezone(UTC)
    admin = login(client, "admin")
    put = client.put(
        "/api/v1/calendar/overrides", headers=admin, json={"day": "2027-01-04", "is_workday": False, "note": "停电"}
    )
    assert put.status_code == 200, put.text
    session.expire_all()
    assert t.reply_due == end_of("2027-01-12") and closed_on_time.reply_due == end_of("2027-01-12")
    assert t.sign_due is not None and t.sign_due < clock[0]  # an hour limit, past: untouched
    event = session.scalars(
        select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "recalendar")
    ).one()
    assert event.data["after"] == {"reply_due": end_of("2027-01-12").astimezone(UTC).isoformat()}
    # The 督办 sweep looks at the ticket again (its reminders count from the new deadline).
    from escalation.models import EscalationDue

    assert session.get(EscalationDue, t.id) is not None
    assert client.delete("/api/v1/calendar/overrides/2027-01-04", headers=admin).status_code == 204
    session.expire_all()
    assert t.reply_due == end_of("2027-01-11")


def test_the_notice_imported_in_one_step_ends_the_warning(
    client: TestClient, pg: tuple[Session, Org], clock: list
) -> None:
    session, org = pg
    clock[0] = at("2027-01-20T10:00").astimezone(UTC)
    t = _complaint(session, org)
    assert t.reply_due == end_of("2027-02-16")  # statutory 春节 Feb 5-10
    clock[0] = at("2027-01-25T09:00").astimezone(UTC)
    admin, agent = login(client, "admin"), login(client, "agent")
    status = client.get("/api/v1/calendar/status", headers=admin).json()
    assert status["years"] == [{"year": 2027, "source": "statutory", "imported": None}]
    assert len(status["warnings"]) == 1 and "2027" in status["warnings"][0]
    assert client.get("/api/v1/calendar/status", headers=agent).json()["warnings"] == []
    assert client.put("/api/v1/calendar/notices/2027", headers=agent, json=NOTICE).status_code == 403
    wrong_year = client.put("/api/v1/calendar/notices/2027", headers=admin, json={"holidays": ["2028-01-01"]})
    assert wrong_year.status_code == 422
    imported = client.put("/api/v1/calendar/notices/2027", headers=admin, json=NOTICE)
    assert imported.status_code == 200, imported.text
    assert imported.json()["holidays"] == 9 and imported.json()["tickets_moved"] == 1
    session.expire_all()
    assert t.reply_due == end_of("2027-02-18")  # the notice's 春节 is Feb 5-12
    status = client.get("/api/v1/calendar/status", headers=admin).json()
    assert status["years"][0]["source"] == "notice" and status["warnings"] == []
    cal = WorkCalendar.load(session)
    assert cal.is_workday(date(2027, 2, 20)) and not cal.is_workday(date(2027, 2, 12))
    assert cal.is_workday(date(2027, 4, 5))  # 清明 is not in this notice: a working day once it is imported


def test_the_notice_from_the_command_line(pg: tuple[Session, Org], clock: list) -> None:
    session, org = pg
    clock[0] = at("2027-01-20T10:00").astimezone(UTC)
    t = _complaint(session, org)
    clock[0] = at("2027-01-25T09:00").astimezone(UTC)
    result = CliRunner().invoke(
        main,
        [
            "calendar",
            "import-notice",
            "2027",
            "--holidays",
            "2027-01-01,2027-02-05..2027-02-12",
            "--workdays",
            "2027-02-20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "deadlines of 1 open tickets moved" in result.output
    session.expire_all()
    assert t.reply_due == end_of("2027-02-18")
