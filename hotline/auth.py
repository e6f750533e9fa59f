"""Passwords (argon2), bearer tokens (JWT) and the FastAPI dependencies that check them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Query
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline.access import role_refusal
from hotline.db import utcnow
from hotline.deps import get_db
from hotline.enums import Role
from hotline.errors import RateLimited, Unauthorized
from hotline.models import LoginFailure, User
from hotline.settings import get_settings

_hasher = PasswordHasher()
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
ALGORITHM = "HS256"
# A hash that no password matches: accounts that must never log in (the system user).
UNUSABLE_PASSWORD = "!"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user: User) -> str:
    settings = get_settings()
    now = utcnow()
    payload = {
        "sub": str(user.id),
        "role": user.role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, settings.effective_secret_key, algorithm=ALGORITHM)


def user_from_token(session: Session, token: str) -> User | None:
    try:
        payload = jwt.decode(token, get_settings().effective_secret_key, algorithms=[ALGORITHM])
        user_id = int(payload["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return user


def _failure_keys(username: str, client: str) -> list[str]:
    return [f"user:{username.lower()}", f"client:{client}"]


def authenticate(session: Session, username: str, password: str, client: str) -> User | None:
    """Check a login; too many recent failures for this name or client answer 429 unchecked."""
    settings = get_settings()
    keys = _failure_keys(username, client)
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    for key in keys:
        failures = session.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.key == key, LoginFailure.at >= since)
        )
        limit = settings.login_max_failures * (4 if key.startswith("client:") else 1)
        if (failures or 0) >= limit:
            raise RateLimited("登录失败次数过多，请稍后再试", retry_after=settings.login_window_seconds)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        for key in keys:
            session.add(LoginFailure(key=key))
        session.commit()
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.key == keys[0]))
    session.commit()
    return user


def _authenticated(session: Session, token: str | None) -> User:
    user = user_from_token(session, token) if token else None
    if user is None:
        raise Unauthorized("未登录或登录已过期")
    return user


def get_current_user(token: str | None = Depends(oauth2_scheme), session: Session = Depends(get_db)) -> User:
    """The user of the request's ``Authorization: Bearer`` token; a token in the URL counts for nothing."""
    return _authenticated(session, token)


def get_stream_user(
    header_token: str | None = Depends(oauth2_scheme),
    token: Annotated[
        str | None,
        Query(description="the bearer token, for EventSource, which cannot send headers (this route only)"),
    ] = None,
    session: Session = Depends(get_db),
) -> User:
    """Server-Sent Event streams only: a browser's EventSource cannot send a header, so the token may
    come as ``?token=``. The request log never writes query strings (hotline.requestlog)."""
    return _authenticated(session, header_token or token)


def require_roles(*roles: Role) -> Callable[[User], User]:
    allowed = {Role(r) for r in roles}

    def dependency(user: User = Depends(get_current_user)) -> User:
        if Role(user.role) not in allowed:
            raise role_refusal(user, allowed, "执行此操作")
        return user

    dependency.roles_required = allowed  # type: ignore[attr-defined]  # read by the OpenAPI errors (403)
    return dependency
