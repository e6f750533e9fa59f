"""属地: the gazetteer (地名库) in the database, cached per load, and resolving an address to its units."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dispatch.catalogue import database_key
from dispatch.departments import departments
from dispatch.gazetteer import Gazetteer, Place, Unit, parse_entries
from dispatch.models import (
    DispatchPlace,
)
from hotline.db import utcnow
from hotline.enums import DepartmentKind
from hotline.errors import InvalidInput
from hotline.runtime_settings import read_setting, write_setting

_gazetteer_cache: dict[tuple[Any, ...], Gazetteer] = {}


def load_gazetteer(
    session: Session, text: str, *, fmt: str = "yaml", source: str = "import", replace: bool = True
) -> int:
    """Load a gazetteer file (YAML or CSV) into ``dispatch_places``; answers the number of names."""
    try:
        rows = parse_entries(text, fmt)
    except Exception as exc:  # noqa: BLE001 - yaml, csv and our own errors alike
        raise InvalidInput(f"地名库格式错误：{exc}", field="gazetteer") from exc
    depts = departments(session)
    bad = sorted({code for _, _, code in rows if code not in depts or depts[code].kind != DepartmentKind.territorial})
    if bad:
        raise InvalidInput(f"地名库中的部门编码不存在或不是属地单位：{bad[:10]}", field="gazetteer")
    if replace:
        session.execute(delete(DispatchPlace))
    seen: set[tuple[str, str]] = set()
    if not replace:
        seen = {(n, c) for n, c in session.execute(select(DispatchPlace.name, DispatchPlace.department_code))}
    for name, kind, code in rows:
        if (name, code) in seen:
            continue
        seen.add((name, code))
        session.add(DispatchPlace(name=name, kind=kind, department_code=code, source=source))
    session.flush()
    write_setting(session, "dispatch.gazetteer_loaded_at", utcnow().isoformat())
    return len(seen)


def gazetteer(session: Session) -> Gazetteer:
    stamp = read_setting(session, "dispatch.gazetteer_loaded_at")
    count = session.scalar(select(func.count()).select_from(DispatchPlace)) or 0
    key = (database_key(session), stamp, count)
    if key not in _gazetteer_cache:
        units = {
            d.code: Unit(d.code, d.level, d.parent_code)
            for d in departments(session).values()
            if d.kind == DepartmentKind.territorial
        }
        entries = session.execute(select(DispatchPlace.name, DispatchPlace.kind, DispatchPlace.department_code)).all()
        _gazetteer_cache.clear()
        _gazetteer_cache[key] = Gazetteer([(e[0], e[1], e[2]) for e in entries], units)
    return _gazetteer_cache[key]


def resolve_place(session: Session, address: str | None) -> Place:
    return gazetteer(session).resolve(address)
