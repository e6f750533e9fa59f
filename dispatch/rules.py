"""The 派单目录 condition language, pure (no database): validate, evaluate, explain.

A rule's conditions are a group ``{"all": [...], "any": [...], "none": [...]}``: every item of
``all`` holds, at least one item of ``any`` holds (when given), no item of ``none`` holds. An
item is a nested group or a leaf; a leaf with several keys holds when each key holds:

======================  ==========================================================
``keywords: [..]``      title or content contains any of the words
``keywords_all: [..]``  ... contains every one of them
``about: [..]``         the appeal is about one of these: a word counts only where it is not
                        named as a place or in passing ("在菜市场买的肉", "超市门口", "拿身份证去…",
                        "租房住的小区": see :func:`in_passing`)
``regex: "..."``        ... matches the regular expression
``category: [..]``      业务领域 is one of (the ticket's, else the classifier's confident one)
``appeal_type: [..]``   诉求类型 (consult, help, complaint, report, suggestion, praise, other)
``channel: [..]``       channel (phone, web, wechat, app, transfer_110, grid, province)
``urgency: [..]``       normal, urgent, critical
``enterprise: bool``    涉企 appeal or not
``district: [..]``      the resolved place lies in one of these district codes
``street: [..]``        ... in one of these street codes
``has_place: bool``     an address was resolved (at least to a district)
======================  ==========================================================

Targets: ``primary`` and ``assists`` are department codes or the 属地 tokens ``@street``
(the street office / town of the place), ``@district`` and ``@community``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from hotline.enums import AppealType, Channel, Urgency

GROUP_KEYS = ("all", "any", "none")
LIST_LEAVES = (
    "keywords",
    "keywords_all",
    "about",
    "category",
    "appeal_type",
    "channel",
    "urgency",
    "district",
    "street",
)
BOOL_LEAVES = ("enterprise", "has_place")
LEAF_KEYS = (*LIST_LEAVES, *BOOL_LEAVES, "regex")
TERRITORIAL_TOKENS = ("@street", "@district", "@community")
ENUMS: dict[str, set[str]] = {
    "appeal_type": {a.value for a in AppealType},
    "channel": {c.value for c in Channel},
    "urgency": {u.value for u in Urgency},
}


class RuleError(ValueError):
    """A rule is malformed; the message says where, in Chinese."""


def normalize_text(text: str) -> str:
    """NFKC, lower case, no whitespace: how titles, contents and addresses are matched."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass
class Facts:
    """What a rule can look at for one ticket."""

    text: str  # normalised title + content
    category: str | None = None
    appeal_type: str | None = None
    channel: str | None = None
    urgency: str | None = None
    enterprise: bool = False
    district: str | None = None
    street: str | None = None
    matched: list[str] = field(default_factory=list)  # words that made leaves hold (for the reasons)


def validate_conditions(cond: Any, where: str = "conditions") -> dict[str, Any]:
    """Check a condition tree; answer it normalised (lists of strings, keywords normalised)."""
    if not isinstance(cond, dict):
        raise RuleError(f"{where} 必须是映射（all/any/none 或条件）")
    if any(k in GROUP_KEYS for k in cond):
        extra = set(cond) - set(GROUP_KEYS)
        if extra:
            raise RuleError(f"{where} 中 all/any/none 不能与其他键混用：{sorted(extra)}")
        out: dict[str, Any] = {}
        for key in GROUP_KEYS:
            if key in cond:
                items = cond[key]
                if not isinstance(items, list) or not items:
                    raise RuleError(f"{where}.{key} 必须是非空列表")
                out[key] = [validate_conditions(item, f"{where}.{key}[{i}]") for i, item in enumerate(items)]
        return out
    if not cond:
        raise RuleError(f"{where} 不能为空")
    leaf: dict[str, Any] = {}
    for key, value in cond.items():
        if key not in LEAF_KEYS:
            raise RuleError(f"{where} 有未知条件：{key}")
        if key in BOOL_LEAVES:
            if not isinstance(value, bool):
                raise RuleError(f"{where}.{key} 必须是 true 或 false")
            leaf[key] = value
        elif key == "regex":
            if not isinstance(value, str) or not value:
                raise RuleError(f"{where}.regex 必须是正则表达式字符串")
            try:
                re.compile(value)
            except re.error as exc:
                raise RuleError(f"{where}.regex 无效：{exc}") from exc
            leaf[key] = value
        else:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                raise RuleError(f"{where}.{key} 必须是非空字符串列表")
            if key in ENUMS and not set(values) <= ENUMS[key]:
                raise RuleError(f"{where}.{key} 取值无效：{sorted(set(values) - ENUMS[key])}")
            textual = key.startswith("keywords") or key == "about"
            leaf[key] = [normalize_text(v) for v in values] if textual else list(values)
    return leaf


def count_leaves(cond: dict[str, Any]) -> int:
    """Specificity: how many conditions a rule states (ties of priority go to the more specific)."""
    if any(k in GROUP_KEYS for k in cond):
        every = sum(count_leaves(item) for item in cond.get("all", ()))
        some = min((count_leaves(item) for item in cond.get("any", ())), default=0)
        return every + some + len(cond.get("none", ()))
    return len(cond)


# A word is named as a place when a locative follows it ("超市门口", "菜市场里买的", "商场旁边"), or a
# preposition of place or movement stands right before the phrase it ends ("在东门农贸市场买的");
# a document or an institution is named in passing when it is the instrument of another action
# ("拿身份证去…", "用医保卡…", "带着户口本…") or part of a description of the caller ("租房住的").
_PLACE_AFTER = re.compile(
    r"(门口|旁边|附近|对面|边上|周边|周围|隔壁|楼上|楼下|后面|前面|后门|侧门|出口|入口|停车场|那边|这边|(里|内|里面)(买|的|有))"
    r"|(买|购买|买的|买了|买到|购买的|购买了)"
)
_PLACE_BEFORE = re.compile(r"(在|到|去|从|路过|经过|途经|位于|住在|靠近|挨着|紧邻)[^，。！？；,.!?;]{0,8}$")
_PASSING_BEFORE = re.compile(r"(拿|用|带|带着|凭|持|出示|刷|复印)[^，。！？；,.!?;]{0,3}$")
_PASSING_AFTER = re.compile(r"(住的|住在|的房子里|那里|去办|来办|办理其他)")


def in_passing(text: str, start: int, end: int) -> bool:
    """The word ``text[start:end]`` is named as a place, an instrument or a description, not as
    what the appeal is about (a market where the bad meat was bought is not a market matter)."""
    after = text[end : end + 4]
    before = text[max(0, start - 12) : start]
    return bool(
        _PLACE_AFTER.match(after)
        or _PLACE_BEFORE.search(before)
        or _PASSING_BEFORE.search(before)
        or _PASSING_AFTER.match(after)
    )


def _about(words: list[str], text: str) -> list[str]:
    """The words that occur at least once as the matter (not only in passing)."""
    hits = []
    for w in words:
        start = text.find(w)
        while start >= 0:
            if not in_passing(text, start, start + len(w)):
                hits.append(w)
                break
            start = text.find(w, start + 1)
    return hits


def _leaf(cond: dict[str, Any], facts: Facts) -> bool:
    for key, value in cond.items():
        if key == "about":
            hits = _about(value, facts.text)
            if not hits:
                return False
            facts.matched.extend(hits)
        elif key == "keywords":
            hits = [w for w in value if w in facts.text]
            if not hits:
                return False
            facts.matched.extend(hits)
        elif key == "keywords_all":
            if not all(w in facts.text for w in value):
                return False
            facts.matched.extend(value)
        elif key == "regex":
            m = re.search(value, facts.text)
            if m is None:
                return False
            facts.matched.append(m.group(0))
        elif key == "has_place":
            if (facts.district is not None) != value:
                return False
        elif key == "enterprise":
            if facts.enterprise != value:
                return False
        else:
            actual = getattr(facts, key)
            if actual is None or actual not in value:
                return False
    return True


def evaluate(cond: dict[str, Any], facts: Facts) -> bool:
    """True when the condition tree holds for ``facts`` (words that matched are added to it)."""
    if not any(k in GROUP_KEYS for k in cond):
        return _leaf(cond, facts)
    if not all(evaluate(item, facts) for item in cond.get("all", ())):
        return False
    anys = cond.get("any")
    if anys and not any(evaluate(item, facts) for item in anys):
        return False
    if "none" in cond:
        probe = Facts(**{**facts.__dict__, "matched": []})
        if any(evaluate(item, probe) for item in cond["none"]):
            return False
    return True


@dataclass(frozen=True)
class CompiledRule:
    id: int | None
    code: str
    name: str
    priority: int
    conditions: dict[str, Any]
    primary: str
    assists: tuple[str, ...]
    confidence: float
    specificity: int

    @property
    def mode(self) -> str:
        """属地 (territorial), 行业 (line department) or 双交办 (both, one of them 协办)."""
        primary_terr = self.primary in TERRITORIAL_TOKENS
        assist_kinds = {a in TERRITORIAL_TOKENS for a in self.assists}
        if (primary_terr and False in assist_kinds) or (not primary_terr and True in assist_kinds):
            return "双交办"
        return "属地" if primary_terr else "行业"


def validate_rule(data: dict[str, Any], department_codes: set[str] | None = None) -> dict[str, Any]:
    """A rule as an admin wrote it (API or YAML) → the stored form; raises :class:`RuleError`."""
    code = str(data.get("code") or "").strip()
    if not code or len(code) > 64:
        raise RuleError("规则编码必填且不超过 64 个字符")
    name = str(data.get("name") or "").strip()
    if not name:
        raise RuleError(f"规则 {code}：名称必填")
    priority = data.get("priority", 50)
    if not isinstance(priority, int) or not 0 <= priority <= 1000:
        raise RuleError(f"规则 {code}：优先级须为 0–1000 的整数")
    confidence = data.get("confidence", 0.9)
    if not isinstance(confidence, int | float) or not 0 < float(confidence) <= 1:
        raise RuleError(f"规则 {code}：确定度须在 (0, 1] 之间")
    when = data.get("when", data.get("conditions"))
    if when is None:
        raise RuleError(f"规则 {code}：缺少条件 when")
    try:
        conditions = validate_conditions(when)
    except RuleError as exc:
        raise RuleError(f"规则 {code}：{exc}") from exc
    primary = str(data.get("primary") or "").strip()
    assists = data.get("assists") or []
    if isinstance(assists, str):
        assists = [assists]
    if not primary:
        raise RuleError(f"规则 {code}：主办单位必填")
    targets = [primary, *assists]
    if department_codes is not None:
        unknown = [t for t in targets if t not in TERRITORIAL_TOKENS and t not in department_codes]
        if unknown:
            raise RuleError(f"规则 {code}：部门编码不存在：{unknown}")
    if len(set(targets)) != len(targets):
        raise RuleError(f"规则 {code}：主办与协办单位重复")
    return {
        "code": code,
        "name": name,
        "priority": priority,
        "enabled": bool(data.get("enabled", True)),
        "conditions": conditions,
        "primary": primary,
        "assists": list(assists),
        "confidence": float(confidence),
        "note": data.get("note"),
    }


def compile_rule(row: Any) -> CompiledRule:
    return CompiledRule(
        id=row.id,
        code=row.code,
        name=row.name,
        priority=row.priority,
        conditions=row.conditions,
        primary=row.primary,
        assists=tuple(row.assists or ()),
        confidence=row.confidence,
        specificity=count_leaves(row.conditions),
    )


def precedence(rule: CompiledRule) -> tuple[int, int, str]:
    """Sort key: higher priority first, then the more specific rule, then the code (stable)."""
    return (-rule.priority, -rule.specificity, rule.code)
