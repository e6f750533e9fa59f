"""Passwords (argon2), bearer tokens (JWT) and the FastAPI dependencies that check them."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
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
from hotline.errors import Forbidden, RateLimited, Unauthorized
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
    """A bearer token for ``user``: it expires (``exp``) and names the user's token version (``ver``),
    so that :func:`revoke_tokens` ends it early."""
    settings = get_settings()
    now = utcnow()
    payload = {
        "sub": str(user.id),
        "role": user.role,
        "ver": user.token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.token_ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, settings.effective_secret_key, algorithm=ALGORITHM)


def revoke_tokens(user: User) -> None:
    """Every token issued to ``user`` so far stops working (password change, disabling, an admin's
    退出所有登录); open streams close at their next check (hotline.streams)."""
    user.token_version += 1


def user_from_token(session: Session, token: str) -> User | None:
    """The active user a token names, or None: a token without ``exp`` (or ``iat``, ``sub``, ``ver``),
    expired, badly signed, or issued before the user's tokens were revoked counts for nothing."""
    try:
        payload = jwt.decode(
            token,
            get_settings().effective_secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "ver"]},
        )
        user_id = int(payload["sub"])
        version = payload["ver"]
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_version != version:
        return None
    return user


def still_signed_in(session: Session, user_id: int, version: int) -> bool:
    """Whether tokens of ``version`` still admit ``user_id`` (for streams opened with one)."""
    row = session.execute(select(User.active, User.token_version).where(User.id == user_id)).first()
    return row is not None and bool(row.active) and row.token_version == version


# ---------------------------------------------------------------- login limiting


def _pair_key(username: str, client: str) -> str:
    """One (client address, username) pair: what the backoff counts (hashed: fixed length)."""
    return "pair:" + hashlib.sha256(f"{client}\n{username.lower()}".encode()).hexdigest()


def _client_key(client: str) -> str:
    return "client:" + hashlib.sha256(client.encode()).hexdigest()


def login_wait(session: Session, username: str, client: str) -> int:
    """Seconds before ``client`` may try a password for ``username`` again (0: now).

    Per (client, username) pair: ``HOTLINE_LOGIN_MAX_FAILURES`` failures free, then each further one
    doubles the wait from ``HOTLINE_LOGIN_BACKOFF_SECONDS`` up to ``HOTLINE_LOGIN_BACKOFF_MAX_SECONDS``,
    counted over ``HOTLINE_LOGIN_WINDOW_SECONDS``. No account is ever locked for everyone: the same
    name from another address is not slowed. One address is also held to
    ``HOTLINE_LOGIN_CLIENT_MAX_FAILURES`` failures over all names in the window (password spraying).
    """
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_seconds)
    pair_key, client_key = _pair_key(username, client), _client_key(client)
    of_pair = LoginFailure.key == pair_key
    failures, last, client_failures = session.execute(
        select(
            func.count().filter(of_pair), func.max(LoginFailure.at).filter(of_pair), func.count().filter(~of_pair)
        ).where(LoginFailure.key.in_([pair_key, client_key]), LoginFailure.at >= since)
    ).one()
    wait = 0.0
    beyond = failures - settings.login_max_failures
    if beyond >= 0 and last is not None:
        delay = min(settings.login_backoff_seconds * 2.0 ** min(beyond, 30), settings.login_backoff_max_seconds)
        wait = (last + timedelta(seconds=delay) - now).total_seconds()
    excess = client_failures - settings.login_client_max_failures
    if excess >= 0:
        # Until enough of the address's failures have left the window.
        oldest = session.scalar(
            select(LoginFailure.at)
            .where(LoginFailure.key == client_key, LoginFailure.at >= since)
            .order_by(LoginFailure.at)
            .offset(excess)
            .limit(1)
        )
        if oldest is not None:
            wait = max(wait, (oldest + timedelta(seconds=settings.login_window_seconds) - now).total_seconds())
    return max(0, math.ceil(wait))


def check_login_allowed(session: Session, username: str, client: str) -> None:
    """429 with ``Retry-After`` when this client must wait before trying this name again."""
    wait = login_wait(session, username, client)
    if wait > 0:
        raise RateLimited("登录失败次数过多，请稍后再试", retry_after=wait)


def record_login_failure(session: Session, username: str, client: str) -> None:
    """Count one wrong password (committed: it must outlive the request's error)."""
    keys = [_pair_key(username, client), _client_key(client)]
    horizon = utcnow() - timedelta(seconds=get_settings().login_window_seconds)
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys), LoginFailure.at < horizon))
    session.add_all([LoginFailure(key=key) for key in keys])
    session.commit()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash no password is known for, checked when the name is unknown (or has no password), so
    that every login runs one argon2 verification: unknown and known names answer in the same time."""
    return hash_password(secrets.token_urlsafe(32))


def check_password(user: User | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s, at the cost of one argon2 verification whatever ``user`` is."""
    usable = user is not None and user.password_hash.startswith("$argon2")
    ok = verify_password(user.password_hash if usable and user is not None else _decoy_hash(), password)
    return ok and usable


def authenticate(session: Session, username: str, password: str, client: str) -> User | None:
    """Check a login from ``client`` (hotline.clientaddr); 429 while this pair must wait."""
    check_login_allowed(session, username, client)
    user = session.scalar(select(User).where(User.username == username))
    if not check_password(user, password) or user is None or not user.active:
        record_login_failure(session, username, client)
        return None
    session.execute(delete(LoginFailure).where(LoginFailure.key == _pair_key(username, client)))
    session.commit()
    return user


def _authenticated(session: Session, token: str | None, *, changing_password: bool = False) -> User:
    """The token's user; 401 without one. A user whose password an admin reset may only change it
    (``changing_password``: GET /me and POST /me/password); anything else is refused (403)."""
    user = user_from_token(session, token) if token else None
    if user is None:
        raise Unauthorized("未登录或登录已过期")
    if user.must_change_password and not changing_password:
        raise Forbidden("管理员已重置您的密码，请先修改密码", code="password_change_required")
    return user


def get_current_user(token: str | None = Depends(oauth2_scheme), session: Session = Depends(get_db)) -> User:
    """The user of the request's ``Authorization: Bearer`` token; a token in the URL counts for nothing."""
    return _authenticated(session, token)


def get_own_account_user(token: str | None = Depends(oauth2_scheme), session: Session = Depends(get_db)) -> User:
    """As :func:`get_current_user`, but also a user who must change a password an admin reset: for
    the routes that let them see so and do it (GET /me, POST /me/password) and nothing else."""
    return _authenticated(session, token, changing_password=True)


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
