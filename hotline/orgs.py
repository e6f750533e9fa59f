"""Departments (the 四级联动 tree) and users."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.auth import (
    UNUSABLE_PASSWORD,
    check_login_allowed,
    check_password,
    hash_password,
    record_login_failure,
    revoke_tokens,
)
from hotline.db import utcnow
from hotline.enums import DEPARTMENT_ROLES, LEVEL_DEPTH, DepartmentKind, DepartmentLevel, Role
from hotline.errors import Conflict, InvalidInput
from hotline.models import Department, User
from hotline.passwords import check_new_password

log = logging.getLogger(__name__)

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


def update_user(session: Session, user: User, changes: dict[str, Any]) -> User:
    """Change an account (the fields in ``changes`` only), with create_user's checks."""
    if Role(user.role) == Role.channel:
        raise Conflict("渠道账号随渠道客户端管理，不能在此修改", code="not_a_personal_login")
    role = Role(changes.get("role") or user.role)
    if role == Role.channel and "role" in changes:
        raise InvalidInput("渠道账号随渠道客户端注册生成，不能改为该角色", field="role")
    department_id = changes.get("department_id", user.department_id)
    if role in DEPARTMENT_ROLES and department_id is None:
        raise InvalidInput("承办单位用户必须属于一个部门", field="department_id")
    if department_id is not None and session.get(Department, department_id) is None:
        raise InvalidInput("部门不存在", field="department_id")
    extension = changes.get("extension", user.extension) or None
    taken = select(User.id).where(User.extension == extension, User.id != user.id)
    if extension and extension != user.extension and session.scalar(taken) is not None:
        raise Conflict(f"分机已被占用：{extension}", code="duplicate_extension")
    for name, value in changes.items():
        if name == "display_name" and value is None:
            continue  # not nullable: null means "unchanged"
        setattr(user, name, role.value if name == "role" else extension if name == "extension" else value)
    session.flush()
    return user


def update_department(session: Session, dept: Department, changes: dict[str, Any]) -> Department:
    """Rename a unit, change its liaison, or take it out of use (``active``)."""
    for name, value in changes.items():
        if name in ("name", "active") and value is None:
            continue
        setattr(dept, name, value)
    session.flush()
    return dept


def get_system_user(session: Session) -> User:
    """The actor recorded for what the system does by itself (IVR answers, timed jobs)."""
    user = session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is None:
        user = create_user(session, username=SYSTEM_USERNAME, display_name="系统", password=None, role=Role.admin)
    return user


# ---------------------------------------------------------------- passwords and sign-in


def _personal_login(user: User) -> None:
    """The system user and channel clients' users never sign in with a password."""
    if user.username == SYSTEM_USERNAME or Role(user.role) == Role.channel:
        raise Conflict("系统账号和渠道账号不使用密码登录", code="not_a_personal_login")


def set_password(
    session: Session, user: User, new_password: str, *, must_change: bool, field: str = "new_password"
) -> None:
    """Give ``user`` a new password (the rules of hotline.passwords) and end every session it had;
    ``must_change``: one an admin chose, which the user must replace before doing anything else."""
    _personal_login(user)
    check_new_password(new_password, user.username, user.password_hash, field=field)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    revoke_tokens(user)
    session.flush()


def change_own_password(session: Session, user: User, current_password: str, new_password: str, client: str) -> None:
    """修改密码 by the user: the current password first (wrong ones count as failed logins of this
    name from ``client``); every other session ends, and a password an admin reset is the user's own again."""
    check_login_allowed(session, user.username, client)
    if not check_password(user, current_password):
        record_login_failure(session, user.username, client)
        raise InvalidInput("当前密码不正确", field="current_password", code="wrong_password")
    set_password(session, user, new_password, must_change=False)


def reset_password(session: Session, admin: User, user: User, new_password: str) -> None:
    """An admin's 重置密码: the user's tokens end; the admin tells the user the new password, which
    the user must change at the next login before doing anything else (等保: no admin knows a
    password in use)."""
    set_password(session, user, new_password, must_change=True)
    log.info("user %s reset the password of user %s", admin.id, user.id)


def set_active(session: Session, admin: User, user: User, active: bool) -> None:
    """停用 / 启用 a login. Disabling ends every token (and open stream) at once."""
    _personal_login(user)
    if user.id == admin.id and not active:
        raise Conflict("不能停用自己的账号", code="own_account")
    if user.active != active:
        user.active = active
        if not active:
            revoke_tokens(user)
        session.flush()
        log.info("user %s %s user %s", admin.id, "enabled" if active else "disabled", user.id)


def sign_out_everywhere(session: Session, admin: User, user: User) -> None:
    """退出所有登录: every token issued to ``user`` so far stops working; it may sign in again."""
    revoke_tokens(user)
    session.flush()
    log.info("user %s revoked the tokens of user %s", admin.id, user.id)
