"""The 派单目录: rules with priorities and conditions, versioned, with their history and YAML import/export."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifier.yamlfile import load_yaml
from dispatch.batch import once
from dispatch.config import set_setting, setting
from dispatch.departments import departments
from dispatch.models import (
    DispatchRule,
    DispatchRuleChange,
)
from dispatch.rules import (
    CompiledRule,
    RuleError,
    compile_rule,
    precedence,
    validate_rule,
)
from hotline import access
from hotline.db import utcnow
from hotline.enums import Role
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.models import User

_rules_cache: dict[tuple[Any, ...], list[CompiledRule]] = {}


def catalogue_version(session: Session) -> int:
    return int(session.scalar(select(func.max(DispatchRuleChange.id))) or 0)


def catalogue(session: Session) -> tuple[int, list[CompiledRule]]:
    """The catalogue version (the newest change id) and the enabled rules in precedence order,
    compiled once per version; read once per routing batch (:mod:`dispatch.batch`)."""
    return once(session, "catalogue", lambda: _read_catalogue(session))


def _read_catalogue(session: Session) -> tuple[int, list[CompiledRule]]:
    newest = session.execute(
        select(DispatchRuleChange.id, DispatchRuleChange.changed_at).order_by(DispatchRuleChange.id.desc()).limit(1)
    ).first()
    version = newest.id if newest else 0
    key = (database_key(session), version, newest.changed_at if newest else None)
    if key not in _rules_cache:
        rows = session.scalars(select(DispatchRule).where(DispatchRule.enabled.is_(True))).all()
        _rules_cache.clear()
        _rules_cache[key] = sorted((compile_rule(r) for r in rows), key=precedence)
    return version, _rules_cache[key]


def database_key(session: Session) -> str:
    """Which database a cache entry belongs to (tests and tools switch databases in one process)."""
    bind = session.get_bind()
    return str(bind.engine.url)


def rule_to_dict(rule: DispatchRule) -> dict[str, Any]:
    """The exported (YAML) form of a rule."""
    out: dict[str, Any] = {
        "code": rule.code,
        "name": rule.name,
        "priority": rule.priority,
        "when": rule.conditions,
        "primary": rule.primary,
    }
    if rule.assists:
        out["assists"] = list(rule.assists)
    out["confidence"] = rule.confidence
    if not rule.enabled:
        out["enabled"] = False
    if rule.note:
        out["note"] = rule.note
    return out


def _stored(rule: DispatchRule) -> dict[str, Any]:
    return {**rule_to_dict(rule), "enabled": rule.enabled, "revision": rule.revision}


def _change(
    session: Session,
    actor: User | None,
    code: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    source: str,
    note: str | None = None,
) -> None:
    session.add(
        DispatchRuleChange(
            rule_code=code,
            action=action,
            before=before,
            after=after,
            source=source,
            changed_by_id=actor.id if actor else None,
            changed_by_name=actor.display_name if actor else "系统",
            changed_at=utcnow(),
            note=note,
        )
    )


def _validated(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return validate_rule(data, set(departments(session)))
    except RuleError as exc:
        raise InvalidInput(str(exc), field="rule") from exc


def _require_admin(actor: User, what: str) -> None:
    if Role(actor.role) != Role.admin:
        raise access.role_refusal(actor, {Role.admin}, what)


def create_rule(session: Session, actor: User, data: dict[str, Any], *, source: str = "api") -> DispatchRule:
    _require_admin(actor, "修改派单目录")
    clean = _validated(session, data)
    if session.scalar(select(DispatchRule.id).where(DispatchRule.code == clean["code"])) is not None:
        raise Conflict(f"规则编码已存在：{clean['code']}", code="duplicate_code")
    rule = _add_rule(session, actor, clean, source)
    session.flush()
    return rule


def _add_rule(session: Session, actor: User, clean: dict[str, Any], source: str) -> DispatchRule:
    rule = DispatchRule(**clean, revision=1, updated_at=utcnow(), updated_by_id=actor.id)
    session.add(rule)
    _change(session, actor, rule.code, "create", None, _stored(rule), source)
    return rule


def get_rule(session: Session, code: str) -> DispatchRule:
    rule = session.scalar(select(DispatchRule).where(DispatchRule.code == code))
    if rule is None:
        raise NotFound(f"规则不存在：{code}")
    return rule


def update_rule(
    session: Session, actor: User, code: str, data: dict[str, Any], *, source: str = "api", revision: int | None = None
) -> DispatchRule:
    _require_admin(actor, "修改派单目录")
    rule = get_rule(session, code)
    if revision is not None and revision != rule.revision:
        raise Conflict(f"规则已被他人修改（当前为第 {rule.revision} 版），请刷新后重试", code="stale_revision")
    clean = _validated(session, {**rule_to_dict(rule), "enabled": rule.enabled, **data, "code": code})
    before = _stored(rule)
    for key, value in clean.items():
        setattr(rule, key, value)
    if _stored(rule) | {"revision": 0} == before | {"revision": 0}:
        return rule
    rule.revision += 1
    rule.updated_at = utcnow()
    rule.updated_by_id = actor.id
    session.flush()
    _change(session, actor, code, "update", before, _stored(rule), source)
    session.flush()
    return rule


def delete_rule(session: Session, actor: User, code: str, *, source: str = "api") -> None:
    _require_admin(actor, "修改派单目录")
    rule = get_rule(session, code)
    _change(session, actor, code, "delete", _stored(rule), None, source)
    session.delete(rule)
    session.flush()


def rule_history(session: Session, code: str | None = None, limit: int = 200) -> list[DispatchRuleChange]:
    query = select(DispatchRuleChange).order_by(DispatchRuleChange.id.desc()).limit(limit)
    if code:
        query = query.where(DispatchRuleChange.rule_code == code)
    return list(session.scalars(query))


def import_catalogue(
    session: Session, actor: User, text: str, *, replace: bool = True, source: str = "import"
) -> dict[str, Any]:
    """Load a YAML catalogue (``rules:``, optional ``fallbacks:`` and ``settings:``).

    Each rule is created, changed or left alone; with ``replace`` rules absent from the file are
    deleted. Every change is a history row. All or nothing: one bad rule refuses the whole file.
    """
    _require_admin(actor, "导入派单目录")
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"YAML 格式错误：{exc}", field="catalogue") from exc
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InvalidInput("派单目录须有 rules: [...]", field="catalogue")
    codes = set(departments(session))
    cleaned: list[dict[str, Any]] = []
    for i, item in enumerate(data["rules"]):
        if not isinstance(item, dict):
            raise InvalidInput(f"第 {i + 1} 条规则格式错误", field="catalogue")
        try:
            cleaned.append(validate_rule(item, codes))
        except RuleError as exc:
            raise InvalidInput(str(exc), field="catalogue") from exc
    seen = [c["code"] for c in cleaned]
    dupes = sorted({c for c in seen if seen.count(c) > 1})
    if dupes:
        raise InvalidInput(f"规则编码重复：{dupes}", field="catalogue")
    fallbacks = data.get("fallbacks") or {}
    if not isinstance(fallbacks, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v in codes for k, v in fallbacks.items()
    ):
        raise InvalidInput("fallbacks 须为 {区编码: 部门编码}，且部门存在", field="catalogue")
    counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    existing = {r.code: r for r in session.scalars(select(DispatchRule))}
    for clean in cleaned:
        rule = existing.get(clean["code"])
        if rule is None:
            _add_rule(session, actor, clean, source)
            counts["created"] += 1
        else:
            old = rule.revision
            update_rule(session, actor, rule.code, clean, source=source)
            counts["updated" if rule.revision != old else "unchanged"] += 1
    if replace:
        for code in sorted(set(existing) - set(seen)):
            delete_rule(session, actor, code, source=source)
            counts["deleted"] += 1
    if "fallbacks" in data:
        set_setting(session, "fallbacks", fallbacks)
    for key, value in (data.get("settings") or {}).items():
        set_setting(session, key, value)
    counts["version"] = catalogue_version(session)
    return counts


def export_catalogue(session: Session) -> str:
    rules = session.scalars(select(DispatchRule).order_by(DispatchRule.priority.desc(), DispatchRule.code)).all()
    doc = {
        "catalogue_version": catalogue_version(session),
        "fallbacks": setting(session, "fallbacks"),
        "rules": [rule_to_dict(r) for r in rules],
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)
