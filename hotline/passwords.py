"""The rules a new password must meet (密码策略), checked wherever a person sets one: a new login
(API and CLI), the user's own change and an admin's reset.

At least ``HOTLINE_PASSWORD_MIN_LENGTH`` characters (10 by default) and at most 128; at least three
of the four classes (upper case, lower case, digits, other characters: punctuation, a space, 汉字);
not containing the username; not the password it replaces.
"""

from __future__ import annotations

from hotline.auth import verify_password
from hotline.errors import InvalidInput
from hotline.settings import get_settings

MAX_LENGTH = 128
MIN_CLASSES = 3


def _classes(password: str) -> int:
    return sum(
        (
            any(c.isascii() and c.isupper() for c in password),
            any(c.isascii() and c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not (c.isascii() and c.isalnum()) for c in password),
        )
    )


def problems(password: str, username: str, current_hash: str | None = None) -> list[str]:
    """What is wrong with ``password`` as the new password of ``username`` (empty: acceptable)."""
    found = []
    min_length = get_settings().password_min_length
    if len(password) < min_length:
        found.append(f"至少 {min_length} 个字符")
    if len(password) > MAX_LENGTH:
        found.append(f"最多 {MAX_LENGTH} 个字符")
    if _classes(password) < MIN_CLASSES:
        found.append("须包含大写字母、小写字母、数字、其他字符中的至少三类")
    if len(username) >= 3 and username.lower() in password.lower():
        found.append("不能包含用户名")
    if current_hash is not None and verify_password(current_hash, password):
        found.append("不能与当前密码相同")
    return found


def check_new_password(password: str, username: str, current_hash: str | None = None, field: str = "password") -> None:
    """Refuse (422 ``weak_password``, the field at fault named) a password the rules do not allow."""
    found = problems(password, username, current_hash)
    if found:
        raise InvalidInput("密码不符合要求：" + "；".join(found), field=field, code="weak_password")
