"""属地: the gazetteer (地名库) in the database, cached per load, and resolving an address to its units."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dispatch.batch import once
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
    """The gazetteer, built again when it was loaded anew (once per routing batch: :mod:`dispatch.batch`)."""
    return once(session, "gazetteer", lambda: _read_gazetteer(session))


def _read_gazetteer(session: Session) -> Gazetteer:
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


def suggest_places(session: Session, text: str, limit: int = 10) -> list[dict[str, Any]]:
    """Address completion (地址联想): gazetteer names containing the end of what was typed (the
    longest tail that names something, up to 12 characters), names starting with it first, each with
    the district, street and community it lies in (their gazetteer names). ``value`` is the address
    to put in the field: what was typed before that tail, then the name; when the whole text was
    the tail, the units top down, then the name."""
    typed = text.strip()
    rows: list[DispatchPlace] = []
    tail = ""
    for size in range(min(len(typed), 12), 0, -1):
        tail = typed[-size:]
        if size == 1 and len(typed) > 1:
            break
        rows = list(
            session.scalars(
                select(DispatchPlace)
                .where(DispatchPlace.name.contains(tail, autoescape=True))
                .order_by(
                    DispatchPlace.name.startswith(tail, autoescape=True).desc(),
                    func.length(DispatchPlace.name),
                    DispatchPlace.name,
                )
                .limit(limit)
            )
        )
        if rows:
            break
    if not rows:
        return []
    depts = departments(session)
    places = gazetteer(session)
    chains = {row.department_code: places.chain(row.department_code) for row in rows}
    codes = {code for chain in chains.values() for code in chain}
    unit_names: dict[str, str] = {}
    for name, kind, code in session.execute(
        select(DispatchPlace.name, DispatchPlace.kind, DispatchPlace.department_code)
        .where(DispatchPlace.department_code.in_(codes), DispatchPlace.kind.in_(("district", "street", "community")))
        .order_by(func.length(DispatchPlace.name).desc(), DispatchPlace.name)
    ):
        if depts.get(code) is not None and depts[code].level == kind:
            unit_names.setdefault(code, name)  # the unit's longest name of its own kind (aliases are shorter)
    prefix = typed[: len(typed) - len(tail)]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        units = [unit_names[c] for c in chains[row.department_code] if c in unit_names and unit_names[c] != row.name]
        value = f"{prefix}{row.name}" if prefix else "".join([*units, row.name])
        if value in seen:
            continue
        seen.add(value)
        out.append(
            {
                "value": value,
                "name": row.name,
                "kind": row.kind,
                "units": units,
                "department": depts[row.department_code].ref() if row.department_code in depts else None,
            }
        )
    return out
