"""Escalation fixtures: the hooks installed, an SMTP sink on a real socket, a 联络员 for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.escalation.smtpsink import SMTPSink


@pytest.fixture(autouse=True)
def _wired() -> None:
    from hotline import wiring

    wiring.install()


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    sink = SMTPSink().start()
    yield sink
    sink.stop()


LIAISON_PHONE = "13700000001"


@pytest.fixture
def liaison(request: pytest.FixtureRequest) -> Iterator[None]:
    """住建局 with a 联络员 (王联络, LIAISON_PHONE) for one test. The organisation outlives the test:
    a number left behind made every later 派单 send its notice by SMS, and a later test waiting for
    the survey's SMS found that one instead."""
    from hotline.models import Department

    session, org = request.getfixturevalue("db" if "db" in request.fixturenames else "pg")
    zjj = session.get(Department, org.dept["zjj"])
    assert zjj is not None
    zjj.liaison_name, zjj.liaison_phone = "王联络", LIAISON_PHONE
    session.commit()
    yield
    session.rollback()
    zjj = session.get(Department, org.dept["zjj"])
    assert zjj is not None
    zjj.liaison_name = zjj.liaison_phone = None
    session.commit()
