"""Runtime settings an admin changes (the ``settings`` table), read and written in one way.

Keys are namespaced by package (``dispatch.use_classifier``, ``escalation``, ...); environment
settings that need a restart live in :mod:`hotline.settings` instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Setting


def read_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def read_settings(session: Session, defaults: dict[str, Any]) -> dict[str, Any]:
    """Many keys in one query: ``defaults`` maps each key to what it reads as when never set."""
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key.in_(list(defaults))))
    stored = {row.key: row.value for row in rows}
    return {key: stored.get(key, default) for key, default in defaults.items()}


def write_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    session.flush()
