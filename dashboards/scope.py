"""Who sees which figures: the city (supervisors, admins) or a department's subtree (its head).

The department tree is read once per request (a few thousand rows at most) and subtrees are
resolved in Python from the materialised paths, so that a query groups by department once and
every scope (a district, the ranking's units, the city) is a sum over that one result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.enums import DepartmentKind, DepartmentLevel, Role
from hotline.errors import Forbidden, InvalidInput
from hotline.models import Department, User

CITY_ROLES = frozenset({Role.supervisor, Role.admin})
VIEW_ROLES = CITY_ROLES | {Role.dept_head}


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    name: str
    level: str
    kind: str
    parent_id: int | None
    path: str


@dataclass
class OrgTree:
    units: dict[int, Unit]
    _subtrees: dict[int, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> OrgTree:
        rows = session.execute(
            select(
                Department.id,
                Department.code,
                Department.name,
                Department.level,
                Department.kind,
                Department.parent_id,
                Department.path,
            )
        ).all()
        return cls({r.id: Unit(*r) for r in rows})

    def subtree(self, department_id: int) -> frozenset[int]:
        """The department and every unit below it."""
        if department_id not in self._subtrees:
            prefix = self.units[department_id].path
            self._subtrees[department_id] = frozenset(u.id for u in self.units.values() if u.path.startswith(prefix))
        return self._subtrees[department_id]

    def ancestors(self, department_id: int) -> list[Unit]:
        """The unit and those above it, top down."""
        ids = [int(x) for x in self.units[department_id].path.strip("/").split("/") if x]
        return [self.units[i] for i in ids if i in self.units]

    def district_of(self, department_id: int) -> Unit | None:
        """The district (区/县) a unit lies in; None for city-level departments."""
        return next((u for u in self.ancestors(department_id) if u.level == DepartmentLevel.district), None)

    def ranked_units(self) -> list[Unit]:
        """The units the monthly ranking compares: every top-level unit except the hotline itself
        (the city's bureaus and the districts), each with its whole subtree."""
        return sorted(
            (u for u in self.units.values() if u.parent_id is None and u.kind != DepartmentKind.hotline),
            key=lambda u: u.path,
        )

    def names(self, ids: Iterable[int]) -> dict[int, str]:
        return {i: self.units[i].name for i in ids if i in self.units}


@dataclass(frozen=True)
class Scope:
    """The city (``department`` None) or one department and the units below it."""

    department: Unit | None
    ids: frozenset[int] | None

    @property
    def is_city(self) -> bool:
        return self.department is None

    @property
    def label(self) -> str:
        return "全市" if self.department is None else self.department.name

    def contains(self, department_id: int | None) -> bool:
        return self.ids is None or (department_id is not None and department_id in self.ids)

    def to_dict(self) -> dict[str, object]:
        dept = self.department
        return {
            "department_id": dept.id if dept else None,
            "label": self.label,
            "level": dept.level if dept else "city",
        }


def require_viewer(user: User) -> None:
    """Only supervisors, admins and department heads see dashboards (403 for everyone else)."""
    if Role(user.role) not in VIEW_ROLES:
        raise Forbidden("只有督办员、管理员和承办单位负责人可以查看统计报表")
    if Role(user.role) == Role.dept_head and user.department_id is None:
        raise Forbidden("您不属于任何承办单位")


def require_city(user: User) -> None:
    """City-wide views (the wallboard): supervisors and admins only."""
    if Role(user.role) not in CITY_ROLES:
        raise Forbidden("只有督办员和管理员可以查看全市数据大屏")


def resolve_scope(org: OrgTree, user: User, department_id: int | None) -> Scope:
    """The scope ``user`` asks for: the city by default for the hotline, a head's own department
    by default for a head, who may narrow it to a unit below but never look above or aside."""
    require_viewer(user)
    if department_id is not None and department_id not in org.units:
        raise InvalidInput("部门不存在", "department_id", where="query")
    if Role(user.role) == Role.dept_head:
        own = user.department_id
        assert own is not None  # require_viewer refused a head without a department
        wanted = own if department_id is None else department_id
        if wanted not in org.subtree(own):
            raise Forbidden("只能查看本单位及下级单位的统计")
        return Scope(org.units[wanted], org.subtree(wanted))
    if department_id is None:
        return Scope(None, None)
    return Scope(org.units[department_id], org.subtree(department_id))
