"""Runtime settings an admin changes (the ``settings`` table), read and written in one way.

Keys are namespaced by package (``dispatch.use_classifier``, ``escalation``, ...); environment
settings that need a restart live in :mod:`hotline.settings` instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.models import Setting


def read_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def write_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    session.flush()
