"""Escalation fixtures: the hooks installed, an SMTP sink on a real socket."""

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
