"""The departments as dispatch reads them: one query, a small frozen record per department."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.batch import once
from hotline.models import Department


@dataclass(frozen=True)
class Dept:
    id: int
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    active: bool

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


def departments(session: Session) -> dict[str, Dept]:
    """Every department by code (once per routing batch: :mod:`dispatch.batch`)."""
    return once(session, "departments", lambda: _read_departments(session))


def _read_departments(session: Session) -> dict[str, Dept]:
    rows = session.execute(
        select(
            Department.id,
            Department.code,
            Department.name,
            Department.level,
            Department.kind,
            Department.parent_id,
            Department.active,
        )
    ).all()
    code_of = {r.id: r.code for r in rows}
    return {r.code: Dept(r.id, r.code, r.name, r.level, r.kind, code_of.get(r.parent_id), r.active) for r in rows}
