"""Departments (the 四级联动 tree) and users."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import UNUSABLE_PASSWORD, hash_password
from hotline.enums import DEPARTMENT_ROLES, LEVEL_DEPTH, DepartmentKind, DepartmentLevel, Role
from hotline.errors import Conflict, InvalidInput
from hotline.models import Department, User

SYSTEM_USERNAME = "system"


def create_department(
    session: Session,
    *,
    code: str,
    name: str,
    level: DepartmentLevel | str,
    kind: DepartmentKind | str = DepartmentKind.functional,
    parent_id: int | None = None,
    liaison_name: str | None = None,
    liaison_phone: str | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> Department:
    level = DepartmentLevel(level)
    parent = session.get(Department, parent_id) if parent_id is not None else None
    if parent_id is not None and parent is None:
        raise InvalidInput("上级部门不存在", field="parent_id")
    if parent is not None and LEVEL_DEPTH[DepartmentLevel(parent.level)] >= LEVEL_DEPTH[level]:
        raise InvalidInput("下级部门的层级须低于上级部门", field="level")
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(f"部门编码已存在：{code}", code="duplicate_code")
    dept = Department(
        code=code,
        name=name,
        level=level.value,
        kind=DepartmentKind(kind).value,
        parent_id=parent_id,
        liaison_name=liaison_name,
        liaison_phone=liaison_phone,
        contacts=contacts or [],
    )
    session.add(dept)
    session.flush()
    dept.path = f"{parent.path if parent else '/'}{dept.id}/"
    session.flush()
    return dept


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str | None,
    role: Role | str,
    department_id: int | None = None,
    extension: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> User:
    role = Role(role)
    if role == Role.channel:
        raise InvalidInput("渠道账号随渠道客户端注册生成（/api/v1/channel-clients），不能直接创建", field="role")
    if role in DEPARTMENT_ROLES and department_id is None:
        raise InvalidInput("承办单位用户必须属于一个部门", field="department_id")
    if department_id is not None and session.get(Department, department_id) is None:
        raise InvalidInput("部门不存在", field="department_id")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名已存在：{username}", code="duplicate_username")
    if extension and session.scalar(select(User.id).where(User.extension == extension)) is not None:
        raise Conflict(f"分机已被占用：{extension}", code="duplicate_extension")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password) if password else UNUSABLE_PASSWORD,
        role=role.value,
        department_id=department_id,
        extension=extension or None,
        phone=phone,
        email=email,
    )
    session.add(user)
    session.flush()
    return user


def get_system_user(session: Session) -> User:
    """The actor recorded for what the system does by itself (IVR answers, timed jobs)."""
    user = session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is None:
        user = create_user(session, username=SYSTEM_USERNAME, display_name="系统", password=None, role=Role.admin)
    return user
