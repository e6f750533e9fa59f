"""Dispatch's roles and settings (直派 threshold, hold, 兜底, repeats, classifier use), stored as runtime settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from dispatch.batch import once
from hotline import access
from hotline.enums import Role
from hotline.errors import InvalidInput
from hotline.models import User
from hotline.runtime_settings import read_setting, read_settings, write_setting

DISPATCH_ROLES = frozenset({Role.dispatcher, Role.supervisor, Role.admin})
SETTLE_ROLES = frozenset({Role.supervisor, Role.admin})

DEFAULTS: dict[str, Any] = {
    "auto_enabled": True,  # 直派 at all
    # 直派 when the calibrated probability that the 主办 is right is at least this (chosen from the
    # trade-off curve of the training splits, dispatch/README.md "Calibrated confidence")
    "auto_threshold": 0.93,
    "use_combiner": True,  # rank by the learned combination (dispatch/combiner.py) when it is fitted
    # without the combination (use_combiner off, or none fitted): 直派 when the winning rule's own
    # confidence is at least this
    "rule_auto_threshold": 0.8,
    "fallback_auto": True,  # 兜底 to the district when no rule covers the appeal
    "fallbacks": {},  # district code → department code taking its 兜底 (default: the district itself)
    "agent_hold_seconds": 90,  # an agent's ticket waits this long before 直派 (may still 直办); not 特急
    "classifier_auto": 0.9,  # a classifier-only proposal is dispatched at once from this score
    # the model naming another department with at least this probability stops a 直派 (rule or 兜底)
    # and leaves the choice to a dispatcher; 0 turns it off
    "classifier_veto": 0.6,
    "repeat_window_days": 30,
    "repeat_threshold": 0.5,
    "coordination_after_returns": 2,
    "use_classifier": True,  # ask classifier/ for category and department proposals when it is there
    "classifier_department_map": {},  # classifier department label → department code (beside name matching)
}
MODE_LABELS = {"属地": "属地", "行业": "行业", "双交办": "双交办"}


def setting(session: Session, key: str) -> Any:
    return read_setting(session, f"dispatch.{key}", DEFAULTS[key])


def set_setting(session: Session, key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise InvalidInput(f"未知的派单设置：{key}", field="key")
    write_setting(session, f"dispatch.{key}", value)


def settings(session: Session) -> dict[str, Any]:
    """All of dispatch's settings in one query (a key never set reads as its default); once per
    routing batch (:mod:`dispatch.batch`)."""
    return once(session, "settings", lambda: _read_settings(session))


def _read_settings(session: Session) -> dict[str, Any]:
    stored = read_settings(session, {f"dispatch.{key}": default for key, default in DEFAULTS.items()})
    return {key: stored[f"dispatch.{key}"] for key in DEFAULTS}


def require_role(actor: User, roles: frozenset[Role], what: str) -> None:
    if Role(actor.role) not in roles:
        raise access.role_refusal(actor, roles, what)
