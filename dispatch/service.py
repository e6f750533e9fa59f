"""Dispatch: the 派单目录, jurisdiction, decisions with their reasons, 退单 review, coordination,
return rates and 并单 candidates. Plain functions taking a session; the caller commits.

What happens when ...

- a ticket is registered: :func:`route_new_ticket` (proposal, repeat check, 直派 or the queue);
- a dispatcher dispatches by hand: :func:`dispatch_by_dispatcher`;
- a department sends a ticket back: :func:`on_returned` (fresh proposals without it; coordination at
  the second 退单); the dispatcher then :func:`redispatch_returned` (改派) or :func:`reject_returned`;
- a supervisor settles a dispute: :func:`settle_coordination`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from classifier.yamlfile import load_yaml
from dispatch import classify
from dispatch.gazetteer import Gazetteer, Place, Unit, parse_entries
from dispatch.models import (
    DispatchCoordination,
    DispatchDecision,
    DispatchPlace,
    DispatchRepeatCandidate,
    DispatchRule,
    DispatchRuleChange,
)
from dispatch.rules import (
    TERRITORIAL_TOKENS,
    CompiledRule,
    Facts,
    RuleError,
    compile_rule,
    evaluate,
    normalize_text,
    precedence,
    validate_rule,
)
from dispatch.similarity import similarity
from hotline import lifecycle
from hotline.db import utcnow
from hotline.enums import OPEN_STATUSES, DepartmentKind, Role, TicketStatus
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.models import Department, Ticket, TimelineEvent, User
from hotline.orgs import get_system_user
from hotline.runtime_settings import read_setting, read_settings, write_setting

log = logging.getLogger(__name__)

DISPATCH_ROLES = frozenset({Role.dispatcher, Role.supervisor, Role.admin})
SETTLE_ROLES = frozenset({Role.supervisor, Role.admin})

DEFAULTS: dict[str, Any] = {
    "auto_enabled": True,  # 直派 at all
    "auto_threshold": 0.8,  # a proposal this certain is dispatched at once
    "fallback_auto": True,  # 兜底 to the district when no rule covers the appeal
    "fallbacks": {},  # district code → department code taking its 兜底 (default: the district itself)
    "agent_hold_seconds": 90,  # an agent's ticket waits this long before 直派 (the agent may still 直办)
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
    """All of dispatch's settings in one query (a key never set reads as its default)."""
    stored = read_settings(session, {f"dispatch.{key}": default for key, default in DEFAULTS.items()})
    return {key: stored[f"dispatch.{key}"] for key in DEFAULTS}


# ---------------------------------------------------------------- departments


@dataclass(frozen=True)
class Dept:
    id: int
    code: str
    name: str
    level: str
    kind: str
    parent_code: str | None
    active: bool

    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


def departments(session: Session) -> dict[str, Dept]:
    rows = session.execute(
        select(
            Department.id,
            Department.code,
            Department.name,
            Department.level,
            Department.kind,
            Department.parent_id,
            Department.active,
        )
    ).all()
    code_of = {r.id: r.code for r in rows}
    return {r.code: Dept(r.id, r.code, r.name, r.level, r.kind, code_of.get(r.parent_id), r.active) for r in rows}


# ---------------------------------------------------------------- the catalogue (派单目录)

_rules_cache: dict[tuple[Any, ...], list[CompiledRule]] = {}


def catalogue_version(session: Session) -> int:
    return int(session.scalar(select(func.max(DispatchRuleChange.id))) or 0)


def catalogue(session: Session) -> tuple[int, list[CompiledRule]]:
    """The catalogue version (the newest change id) and the enabled rules in precedence order,
    compiled once per version."""
    newest = session.execute(
        select(DispatchRuleChange.id, DispatchRuleChange.changed_at).order_by(DispatchRuleChange.id.desc()).limit(1)
    ).first()
    version = newest.id if newest else 0
    key = (_database_key(session), version, newest.changed_at if newest else None)
    if key not in _rules_cache:
        rows = session.scalars(select(DispatchRule).where(DispatchRule.enabled.is_(True))).all()
        _rules_cache.clear()
        _rules_cache[key] = sorted((compile_rule(r) for r in rows), key=precedence)
    return version, _rules_cache[key]


def _database_key(session: Session) -> str:
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
        raise Conflict(f"只有管理员可以{what}", reason="role_not_allowed")


def create_rule(session: Session, actor: User, data: dict[str, Any], *, source: str = "api") -> DispatchRule:
    _require_admin(actor, "修改派单目录")
    clean = _validated(session, data)
    if session.scalar(select(DispatchRule.id).where(DispatchRule.code == clean["code"])) is not None:
        raise Conflict(f"规则编码已存在：{clean['code']}", reason="duplicate_code")
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
        raise NotFound("规则不存在", code=code)
    return rule


def update_rule(
    session: Session, actor: User, code: str, data: dict[str, Any], *, source: str = "api", revision: int | None = None
) -> DispatchRule:
    _require_admin(actor, "修改派单目录")
    rule = get_rule(session, code)
    if revision is not None and revision != rule.revision:
        raise Conflict(f"规则已被他人修改（当前为第 {rule.revision} 版），请刷新后重试", reason="stale_revision")
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


# ---------------------------------------------------------------- the gazetteer (属地)

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
    stamp = read_setting(session, "dispatch.gazetteer_loaded_at")
    count = session.scalar(select(func.count()).select_from(DispatchPlace)) or 0
    key = (_database_key(session), stamp, count)
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


# ---------------------------------------------------------------- proposals


@dataclass
class Proposal:
    primary: Dept
    assists: list[Dept]
    score: float
    source: str  # rule | classifier | fallback | territorial (the standing 属地 candidate)
    mode: str  # 属地 | 行业 | 双交办
    rule: CompiledRule | None = None
    reasons: list[str] = field(default_factory=list)
    title_hit: bool = False  # the rule's words are in the title, not only in the body

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary.ref(),
            "assists": [a.ref() for a in self.assists],
            "score": round(self.score, 4),
            "source": self.source,
            "mode": self.mode,
            "rule_code": self.rule.code if self.rule else None,
            "rule_name": self.rule.name if self.rule else None,
            "priority": self.rule.priority if self.rule else None,
            "reasons": self.reasons,
        }


@dataclass
class Appeal:
    """What routing looks at (a ticket, or a row of the benchmark)."""

    title: str
    content: str
    address: str | None = None
    category: str | None = None
    appeal_type: str | None = None
    channel: str | None = None
    urgency: str | None = None
    enterprise: bool = False
    classification: dict[str, Any] | None = None  # the prediction stored at registration, if any

    @classmethod
    def of(cls, ticket: Ticket) -> Appeal:
        return cls(
            title=ticket.title,
            content=ticket.content,
            address=ticket.address,
            category=ticket.category,
            appeal_type=ticket.appeal_type,
            channel=ticket.channel,
            urgency=ticket.urgency,
            enterprise=ticket.enterprise,
            classification=ticket.classification,
        )


@dataclass
class Proposed:
    proposals: list[Proposal]
    place: Place
    opinion: classify.Opinion | None
    confidence: float
    auto: bool
    reason: str
    catalogue_version: int
    excluded: list[int]

    @property
    def top(self) -> Proposal | None:
        return self.proposals[0] if self.proposals else None


def _place_label(place: Place, depts: dict[str, Dept]) -> str:
    code = place.code
    return depts[code].name if code and code in depts else "未识别"


def _territorial(token: str, place: Place, depts: dict[str, Dept]) -> tuple[Dept | None, str | None]:
    """A 属地 token → the unit of the place; a coarser one (with a note) when the address is vague."""
    wanted = {
        "@community": ("community", "street", "district"),
        "@street": ("street", "district"),
        "@district": ("district",),
    }[token]
    for level in wanted:
        code = getattr(place, level)
        if code and code in depts:
            note = None if level == wanted[0] else f"地址仅能确定到{depts[code].name}"
            return depts[code], note
    return None, None


def _fallback(cfg: dict[str, Any], place: Place, depts: dict[str, Dept]) -> Dept | None:
    if not place.district:
        return None
    code = (cfg["fallbacks"] or {}).get(place.district, place.district)
    return depts.get(code)


def _label_to_dept(label: str, depts: dict[str, Dept], mapping: dict[str, str]) -> Dept | None:
    """A classifier's department label → a department: the configured map, the code, the name, or the
    line department whose name is most alike ("交通运输局" → "市交通运输局")."""
    if label in mapping:
        return depts.get(mapping[label])
    if label in depts:
        return depts[label]
    core = re.sub(r"[（(].*?[)）]", "", label)
    lines = [d for d in depts.values() if d.kind == DepartmentKind.functional and d.active]
    for d in lines:
        if core and (core in d.name or d.name.removeprefix("市") == core):
            return d
    best = max(lines, key=lambda d: similarity(core, d.name), default=None)
    return best if best is not None and similarity(core, best.name) >= 0.5 else None


def _classifier_depts(
    cfg: dict[str, Any], opinion: classify.Opinion | None, depts: dict[str, Dept]
) -> list[tuple[Dept, float]]:
    if opinion is None:
        return []
    mapping = cfg["classifier_department_map"] or {}
    out: list[tuple[Dept, float]] = []
    for label, score in opinion.departments:
        dept = _label_to_dept(str(label), depts, mapping)
        if dept is not None and all(d.id != dept.id for d, _ in out):
            out.append((dept, float(score)))
    return out


def _history_doubt(
    cfg: dict[str, Any], opinion: classify.Opinion | None, depts: dict[str, Dept], usable: Any
) -> tuple[Dept, float] | None:
    """The model's first department when it is sure of it (``classifier_veto``) and the model was
    trained on this center's own dispatch history: it names our departments exactly, by code or name
    (the shipped model knows generic names like "交通运输局" and only proposes, never vetoes: on the
    labelled appeals its doubts stopped far more right 直派 than wrong ones)."""
    veto = float(cfg["classifier_veto"] or 0)
    if not veto or opinion is None or not opinion.departments:
        return None
    label, prob = opinion.departments[0]
    by_name = {d.name: d for d in depts.values()}
    dept = depts.get(str(label)) or by_name.get(str(label))
    if dept is None or not usable(dept) or float(prob) < veto:
        return None
    return dept, float(prob)


TERRITORIAL_SLOT = 2  # the 属地 unit is offered at the latest as the third proposal (the queue shows three)


def _offer_territorial(ordered: list[Proposal], place: Place, depts: dict[str, Dept], usable: Any) -> None:
    """A dispatcher always considers the 属地: the street office (or town) of the place, or its district
    when only that is known, is among the first three proposals. Already proposed lower down, it moves
    up; not proposed at all, it is added as a standing candidate. The first proposal (and so 直派) is
    never displaced."""
    code = place.street or place.district
    unit = depts.get(code) if code else None
    if not usable(unit) or unit is None:
        return
    if any(p.primary.id == unit.id for p in ordered[: TERRITORIAL_SLOT + 1]):
        return
    found = next((p for p in ordered if p.primary.id == unit.id), None)
    if found is not None:
        ordered.remove(found)
    else:
        why = f"属地：{unit.name}（{'、'.join(place.matched) or '地址'}），派单员须考虑属地承办"
        found = Proposal(unit, [], 0.3, "territorial", "属地", None, [why])
    ordered.insert(min(len(ordered), TERRITORIAL_SLOT), found)


def propose(
    session: Session,
    appeal: Appeal,
    *,
    exclude: Iterable[int] = (),
    use_classifier: bool = True,
) -> Proposed:
    """The 派单 proposal for one appeal: rules, place, classifier and 兜底, best first, with reasons."""
    depts = departments(session)
    cfg = settings(session)
    excluded = set(exclude)
    version, rules = catalogue(session)
    place = resolve_place(session, appeal.address)
    if place.district is None and not appeal.address:
        # No address given: a place named in the text still tells the jurisdiction.
        place = resolve_place(session, appeal.title + appeal.content)
    use_classifier = use_classifier and bool(cfg["use_classifier"])
    opinion = None
    if use_classifier:
        opinion = classify.opinion_of(appeal.classification) or classify.predict(appeal.title, appeal.content)
    category = appeal.category
    if category is None and opinion and opinion.categories and opinion.categories[0][1] >= 0.5:
        category = opinion.categories[0][0]
    title = normalize_text(appeal.title)
    facts = Facts(
        text=normalize_text(f"{appeal.title}。{appeal.content}"),
        category=category,
        appeal_type=appeal.appeal_type,
        channel=appeal.channel,
        urgency=appeal.urgency,
        enterprise=appeal.enterprise,
        district=place.district,
        street=place.street,
    )
    usable = lambda d: d is not None and d.active and d.id not in excluded  # noqa: E731

    proposals: list[Proposal] = []
    unplaced: list[str] = []
    for rule in rules:
        facts.matched = []
        if not evaluate(rule.conditions, facts):
            continue
        words = sorted(set(facts.matched))
        reasons = [
            f"派单目录「{rule.name}」（{rule.code}，优先级 {rule.priority}）"
            + (f"：命中「{'、'.join(words)}」" if words else "")
        ]
        score = rule.confidence
        if rule.primary in TERRITORIAL_TOKENS:
            primary, note = _territorial(rule.primary, place, depts)
            if primary is None:
                unplaced.append(rule.name)
                continue
            reasons.append(f"属地：{_place_label(place, depts)}（{'、'.join(place.matched)}）")
            if note:
                reasons.append(note)
                score *= 0.85
        else:
            primary = depts.get(rule.primary)
        if not usable(primary):
            continue
        assert primary is not None
        assists: list[Dept] = []
        for token in rule.assists:
            dept = _territorial(token, place, depts)[0] if token in TERRITORIAL_TOKENS else depts.get(token)
            if usable(dept) and dept is not None and dept.id != primary.id and dept not in assists:
                assists.append(dept)
        if place.ambiguous or place.conflict:
            reasons.append("地址有歧义：" + "、".join(place.matched))
            if rule.primary in TERRITORIAL_TOKENS:
                score *= 0.8
        proposal = Proposal(primary, assists, score, "rule", rule.mode, rule, reasons)
        proposal.title_hit = any(w in title for w in words)
        proposals.append(proposal)

    # Rules that disagree make the winner uncertain: one of the same priority, or one that matched
    # the title when the winner matched only the body of the appeal.
    if proposals:
        best = proposals[0]
        assert best.rule is not None
        for other in proposals[1:]:
            assert other.rule is not None
            if other.primary.id == best.primary.id:
                continue
            if other.rule.priority == best.rule.priority:
                best.score *= 0.75
                best.reasons.append(f"同优先级规则「{other.rule.name}」指向{other.primary.name}，需人工确认")
                break
            if other.title_hit and not best.title_hit:
                best.score *= 0.75
                best.reasons.append(f"诉求标题指向「{other.rule.name}」（{other.primary.name}），需人工确认")
                break

    model_depts = [(d, prob) for d, prob in _classifier_depts(cfg, opinion, depts) if usable(d)]
    doubt = _history_doubt(cfg, opinion, depts, usable)
    if doubt is not None and proposals and proposals[0].primary.id != doubt[0].id:
        # A model trained on the center's own dispatch history reads paraphrases no keyword list
        # foresaw; when it is sure of another department, the rule's answer is not certain enough.
        proposals[0].score *= 0.75
        proposals[0].reasons.append(f"分类模型（{doubt[1]:.2f}）建议{doubt[0].name}，与派单目录不一致，需人工确认")
    for dept, prob in model_depts:
        same = next((p for p in proposals if p.primary.id == dept.id), None)
        text = f"分类模型建议 {dept.name}（{prob:.2f}）"
        if same is not None:
            if prob >= 0.3:
                same.score = min(0.99, same.score + 0.1 * prob)
            same.reasons.append(text)
        else:
            proposals.append(
                Proposal(
                    dept, [], 0.9 * prob, "classifier", "行业" if dept.kind != "territorial" else "属地", None, [text]
                )
            )

    rule_first = [p for p in proposals if p.source == "rule"]
    fallback = _fallback(cfg, place, depts)
    if usable(fallback) and fallback is not None and all(p.primary.id != fallback.id for p in proposals):
        reason = f"兜底：{_place_label(place, depts)}所在区 → {fallback.name}"
        proposals.append(Proposal(fallback, [], 0.3 if rule_first else 0.6, "fallback", "属地", None, [reason]))

    # Best first; one proposal per 主办 (the first, from the highest rule, keeps its place). The
    # catalogue's rules come before the model's own department proposals: the center wrote the
    # rules, while the model (on day one the shipped one, trained on a generic corpus) only
    # reinforces the rule it agrees with (above) or fills in where no rule matched. Measured on
    # the labelled appeals, letting a confident model jump ahead of a rule never fixed a 主办 and
    # broke 16 (see dispatch/README.md, "Classifier").
    ordered: list[Proposal] = []
    others = sorted((p for p in proposals if p.source != "rule"), key=lambda p: -p.score)
    candidates = [*rule_first, *others]
    for p in candidates:
        if all(q.primary.id != p.primary.id for q in ordered):
            ordered.append(p)
    _offer_territorial(ordered, place, depts, usable)

    threshold = float(cfg["auto_threshold"])
    top = ordered[0] if ordered else None
    confidence = top.score if top else 0.0
    auto = False
    if not rules:
        reason = "派单目录为空，请派单员人工派单"
    elif top is None:
        if unplaced:
            reason = f"属地类诉求（{unplaced[0]}）缺少可识别的地址，且无法确定所在区，请人工派单"
        elif place.ambiguous:
            reason = f"地址有歧义（{'、'.join(place.matched)}），无法确定所在区，请人工派单"
        else:
            reason = "派单目录未覆盖且无法识别地址所在区，请人工派单"
    elif top.source == "fallback":
        auto = bool(cfg["fallback_auto"]) and (doubt is None or doubt[0].id == top.primary.id)
        reason = f"派单目录未覆盖，按属地兜底派至{top.primary.name}"
    elif top.source == "territorial":
        reason = f"派单目录未覆盖，属地为{top.primary.name}，请人工派单"
    elif top.source == "classifier":
        auto = confidence >= float(cfg["classifier_auto"])
        reason = f"派单目录未覆盖，按分类模型建议（{confidence:.2f}）"
    else:
        auto = confidence >= threshold
        assert top.rule is not None
        reason = f"派单目录「{top.rule.name}」：{top.mode}，确定度 {confidence:.2f}" + (
            "" if auto else f"（低于直派阈值 {threshold}）"
        )
    auto = auto and bool(cfg["auto_enabled"])
    return Proposed(ordered, place, opinion, confidence, auto, reason, version, sorted(excluded))


def _reasons(decision: DispatchDecision) -> dict[str, Any]:
    """What goes into the timeline's dispatch event (``reasons=``)."""
    top = decision.proposals[0] if decision.proposals else None
    chosen = next((p for p in decision.proposals if p["primary"]["id"] == decision.primary_department_id), top)
    return {
        "decision_id": decision.id,
        "kind": decision.kind,
        "outcome": decision.outcome,
        "summary": decision.reason,
        "confidence": decision.confidence,
        "catalogue_version": decision.catalogue_version,
        "place": decision.place,
        "rule_code": chosen.get("rule_code") if chosen else None,
        "source": chosen.get("source") if chosen else "manual",
        "reasons": chosen.get("reasons") if chosen else [],
        "classifier_version": (decision.classifier or {}).get("model_version"),
        "followed_proposal": decision.followed_proposal,
    }


def _record(
    session: Session,
    ticket: Ticket,
    proposed: Proposed,
    *,
    kind: str,
    outcome: str,
    actor: User | None,
    reason: str | None = None,
    primary: int | None = None,
    assists: Sequence[int] = (),
) -> DispatchDecision:
    top = proposed.top
    decision = DispatchDecision(
        ticket_id=ticket.id,
        kind=kind,
        created_at=utcnow(),
        actor_id=actor.id if actor else None,
        catalogue_version=proposed.catalogue_version,
        place=proposed.place.to_dict(),
        classifier=proposed.opinion.to_dict() if proposed.opinion else None,
        proposals=[p.to_dict() for p in proposed.proposals[:5]],
        excluded_department_ids=proposed.excluded,
        confidence=round(proposed.confidence, 4),
        outcome=outcome,
        reason=reason or proposed.reason,
        primary_department_id=primary,
        assist_department_ids=list(assists),
        followed_proposal=(top is not None and top.primary.id == primary) if primary is not None else None,
    )
    session.add(decision)
    session.flush()
    return decision


def latest_decision(session: Session, ticket_id: int) -> DispatchDecision | None:
    return session.scalar(
        select(DispatchDecision)
        .where(DispatchDecision.ticket_id == ticket_id)
        .order_by(DispatchDecision.id.desc())
        .limit(1)
    )


def decisions(session: Session, ticket_id: int) -> list[DispatchDecision]:
    return list(
        session.scalars(
            select(DispatchDecision).where(DispatchDecision.ticket_id == ticket_id).order_by(DispatchDecision.id)
        )
    )


# ---------------------------------------------------------------- a new ticket


def route_new_ticket(session: Session, ticket: Ticket) -> DispatchDecision:
    """After registration: propose, look for repeats, and 直派 when sure (or hold, or queue)."""
    proposed = propose(session, Appeal.of(ticket))
    repeats = detect_repeats(session, ticket, proposed.place)
    top = proposed.top
    if ticket.status != TicketStatus.registered:
        return _record(session, ticket, proposed, kind="initial", outcome="queued", actor=None)
    if proposed.auto and repeats:
        best = max(repeats, key=lambda r: r.score)
        reason = f"疑似重复诉求（与工单 #{best.candidate_id} 相似度 {best.score:.2f}），请先核实是否并单"
        return _record(session, ticket, proposed, kind="initial", outcome="queued", actor=None, reason=reason)
    if not proposed.auto or top is None:
        outcome = "queued" if top is not None else "not_routable"
        return _record(session, ticket, proposed, kind="initial", outcome=outcome, actor=None)
    creator = session.get(User, ticket.created_by_id) if ticket.created_by_id else None
    hold = int(setting(session, "agent_hold_seconds"))
    assists = [a.id for a in top.assists]
    if creator is not None and creator.role == Role.agent and hold > 0:
        decision = _record(
            session,
            ticket,
            proposed,
            kind="initial",
            outcome="held",
            actor=None,
            reason=f"{proposed.reason}；话务员登记，{hold} 秒后直派（其间可直办或人工派单）",
            primary=top.primary.id,
            assists=assists,
        )
        from dispatch.tasks import apply_held_decision
        from hotline.celery_app import enqueue_after_commit

        enqueue_after_commit(session, apply_held_decision.si(decision.id).set(countdown=hold))
        return decision
    decision = _record(
        session,
        ticket,
        proposed,
        kind="initial",
        outcome="auto_dispatched",
        actor=None,
        primary=top.primary.id,
        assists=assists,
    )
    lifecycle.dispatch_ticket(
        session,
        ticket,
        get_system_user(session),
        version=None,
        primary_department_id=top.primary.id,
        assist_department_ids=assists,
        note=f"直派：{proposed.reason}",
        reasons=_reasons(decision),
    )
    return decision


def apply_held_decision(session: Session, decision_id: int) -> str:
    """The hold of an agent's ticket is over: 直派 as decided, unless someone acted meanwhile."""
    held = session.get(DispatchDecision, decision_id)
    if held is None or held.outcome != "held" or held.primary_department_id is None:
        return "missing"
    ticket = session.get(Ticket, held.ticket_id)
    latest = latest_decision(session, held.ticket_id)
    if ticket is None or ticket.status != TicketStatus.registered or latest is None or latest.id != held.id:
        return "skipped"
    decision = DispatchDecision(
        ticket_id=ticket.id,
        kind="initial",
        created_at=utcnow(),
        actor_id=None,
        catalogue_version=held.catalogue_version,
        place=held.place,
        classifier=held.classifier,
        proposals=held.proposals,
        excluded_department_ids=held.excluded_department_ids,
        confidence=held.confidence,
        outcome="auto_dispatched",
        reason=f"等待期满直派（决定 #{held.id}）",
        primary_department_id=held.primary_department_id,
        assist_department_ids=held.assist_department_ids,
        followed_proposal=True,
    )
    session.add(decision)
    session.flush()
    lifecycle.dispatch_ticket(
        session,
        ticket,
        get_system_user(session),
        version=None,
        primary_department_id=held.primary_department_id,
        assist_department_ids=held.assist_department_ids,
        note=f"直派：{held.reason}",
        reasons=_reasons(decision),
    )
    return "dispatched"


def redecide(session: Session, ticket: Ticket, actor: User | None) -> DispatchDecision:
    """Recompute the proposal of a waiting ticket (after the catalogue changed, or on request)."""
    exclude = returned_departments(session, ticket.id) if ticket.status == TicketStatus.returned else []
    if ticket.status == TicketStatus.returned and ticket.primary_department_id:
        exclude = [*exclude, ticket.primary_department_id]
    proposed = propose(session, Appeal.of(ticket), exclude=exclude)
    return _record(
        session, ticket, proposed, kind="recompute", outcome="queued" if proposed.top else "not_routable", actor=actor
    )


def _choose(proposed: Proposed, primary: int | None, assists: Sequence[int] | None) -> tuple[int, list[int]]:
    if primary is None:
        if proposed.top is None:
            raise InvalidInput(f"没有可用的派单建议：{proposed.reason}；请指定主办单位", field="primary_department_id")
        return proposed.top.primary.id, [a.id for a in proposed.top.assists] if assists is None else list(assists)
    return primary, list(assists or ())


def _require(actor: User, roles: frozenset[Role], what: str) -> None:
    if Role(actor.role) not in roles:
        raise Conflict(f"{lifecycle.ROLE_LABELS[Role(actor.role)]}不能{what}", reason="role_not_allowed")


def dispatch_by_dispatcher(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int | None = None,
    assist_department_ids: Sequence[int] | None = None,
    note: str | None = None,
) -> DispatchDecision:
    """派单 by a dispatcher: the chosen (or the top proposed) department, recorded with the proposal.

    ``lifecycle.dispatch_ticket`` checks role, state and version; when it refuses, the caller's
    transaction rolls back the decision recorded here with it."""
    proposed = propose(session, Appeal.of(ticket))
    return _dispatch_as_chosen(
        session,
        ticket,
        actor,
        proposed,
        lifecycle.dispatch_ticket,
        kind="manual",
        version=version,
        primary_department_id=primary_department_id,
        assist_department_ids=assist_department_ids,
        note=note,
    )


def _dispatch_as_chosen(
    session: Session,
    ticket: Ticket,
    actor: User,
    proposed: Proposed,
    route: Callable[..., Ticket],
    *,
    kind: str,
    version: int | None,
    primary_department_id: int | None,
    assist_department_ids: Sequence[int] | None,
    note: str | None,
) -> DispatchDecision:
    """Record the decision (the chosen departments, or the top proposal) and route the ticket with
    ``route`` (``lifecycle.dispatch_ticket`` or ``lifecycle.accept_return``), citing the decision."""
    primary, assists = _choose(proposed, primary_department_id, assist_department_ids)
    decision = _record(
        session,
        ticket,
        proposed,
        kind=kind,
        outcome="dispatched",
        actor=actor,
        primary=primary,
        assists=assists,
        reason=note or proposed.reason,
    )
    route(
        session,
        ticket,
        actor,
        version=version,
        primary_department_id=primary,
        assist_department_ids=assists,
        note=note,
        reasons=_reasons(decision),
    )
    return decision


# ---------------------------------------------------------------- 退单, 改派, coordination


def returned_departments(session: Session, ticket_id: int) -> list[int]:
    """Departments that sent this ticket back, oldest first."""
    events = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.ticket_id == ticket_id, TimelineEvent.action == "return")
        .order_by(TimelineEvent.id)
    ).all()
    out: list[int] = []
    for e in events:
        dept = (e.data or {}).get("department_id")
        if isinstance(dept, int) and dept not in out:
            out.append(dept)
    return out


def open_coordination(session: Session, ticket_id: int) -> DispatchCoordination | None:
    return session.scalar(
        select(DispatchCoordination).where(
            DispatchCoordination.ticket_id == ticket_id, DispatchCoordination.status == "open"
        )
    )


def on_returned(session: Session, ticket: Ticket, event: TimelineEvent) -> DispatchDecision:
    """A department sent the ticket back: fresh proposals without those that refused it; at the
    second 退单 (a setting) the ticket goes to coordination."""
    refused = returned_departments(session, ticket.id)
    proposed = propose(session, Appeal.of(ticket), exclude=refused)
    limit = int(setting(session, "coordination_after_returns"))
    reason = None
    why = lifecycle.RETURN_REASONS.get((event.data or {}).get("reason", ""), "")
    if ticket.return_count >= limit and open_coordination(session, ticket.id) is None:
        session.add(
            DispatchCoordination(
                ticket_id=ticket.id,
                status="open",
                opened_at=utcnow(),
                return_count=ticket.return_count,
                departments=refused,
                reason=f"第 {ticket.return_count} 次退单（{why}：{event.note or ''}），提交督办员协调",
            )
        )
        reason = f"第 {ticket.return_count} 次退单，已提交协调"
    return _record(
        session,
        ticket,
        proposed,
        kind="return",
        outcome="coordination" if reason else "queued",
        actor=None,
        reason=reason,
    )


def _check_not_in_coordination(session: Session, ticket: Ticket, actor: User) -> None:
    if open_coordination(session, ticket.id) is not None and Role(actor.role) not in SETTLE_ROLES:
        raise Conflict("该工单已两次退单，正在协调中，由督办员裁定承办单位", reason="in_coordination")


def returned_proposals(session: Session, ticket: Ticket) -> Proposed:
    """New proposals for a returned ticket, leaving out every department that sent it back."""
    if ticket.status != TicketStatus.returned:
        raise Conflict("工单不在退单待审状态", reason="invalid_state")
    exclude = returned_departments(session, ticket.id)
    if ticket.primary_department_id and ticket.primary_department_id not in exclude:
        exclude.append(ticket.primary_department_id)
    return propose(session, Appeal.of(ticket), exclude=exclude)


def redispatch_returned(
    session: Session,
    ticket: Ticket,
    actor: User,
    *,
    version: int | None,
    primary_department_id: int | None = None,
    assist_department_ids: Sequence[int] | None = None,
    note: str | None = None,
) -> DispatchDecision:
    """退单 accepted (改派): to the chosen department, or the best one that has not refused it."""
    _require(actor, DISPATCH_ROLES, "改派")
    _check_not_in_coordination(session, ticket, actor)
    proposed = returned_proposals(session, ticket)
    return _dispatch_as_chosen(
        session,
        ticket,
        actor,
        proposed,
        lifecycle.accept_return,
        kind="redispatch",
        version=version,
        primary_department_id=primary_department_id,
        assist_department_ids=assist_department_ids,
        note=note,
    )


def reject_returned(session: Session, ticket: Ticket, actor: User, *, version: int | None, note: str) -> Ticket:
    """退单 rejected: back to the same department (the 退单 stays counted)."""
    _require(actor, DISPATCH_ROLES, "驳回退单")
    _check_not_in_coordination(session, ticket, actor)
    return lifecycle.reject_return(session, ticket, actor, version=version, note=note)


def settle_coordination(
    session: Session,
    coordination: DispatchCoordination,
    actor: User,
    *,
    department_id: int,
    assist_department_ids: Sequence[int] = (),
    note: str,
) -> DispatchCoordination:
    """The supervisor decides who handles a disputed ticket; the same department means forced back."""
    _require(actor, SETTLE_ROLES, "协调裁定")
    if coordination.status != "open":
        raise Conflict("该协调已处理", reason="already_settled")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("请填写协调意见", field="note")
    ticket = session.get(Ticket, coordination.ticket_id)
    assert ticket is not None
    if ticket.status != TicketStatus.returned:
        raise Conflict("工单不在退单待审状态", reason="invalid_state")
    coordination.status = "settled"
    coordination.settled_at = utcnow()
    coordination.settled_by_id = actor.id
    coordination.department_id = department_id
    coordination.note = note
    session.flush()
    if department_id == ticket.primary_department_id:
        lifecycle.reject_return(session, ticket, actor, version=None, note=f"协调裁定：{note}")
    else:
        proposed = propose(session, Appeal.of(ticket), exclude=[])
        decision = _record(
            session,
            ticket,
            proposed,
            kind="coordination",
            outcome="dispatched",
            actor=actor,
            primary=department_id,
            assists=assist_department_ids,
            reason=f"协调裁定：{note}",
        )
        lifecycle.accept_return(
            session,
            ticket,
            actor,
            version=None,
            primary_department_id=department_id,
            assist_department_ids=list(assist_department_ids),
            note=f"协调裁定：{note}",
            reasons={**_reasons(decision), "coordination_id": coordination.id},
        )
    return coordination


def on_return_ruled(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
    """accept_return/reject_return through the core routes also close an open coordination."""
    coordination = open_coordination(session, ticket.id)
    if coordination is not None:
        coordination.status = "settled"
        coordination.settled_at = utcnow()
        coordination.settled_by_id = event.actor_id
        coordination.department_id = ticket.primary_department_id
        coordination.note = event.note
        session.flush()


def coordinations(session: Session, status: str | None = "open") -> list[DispatchCoordination]:
    query = select(DispatchCoordination).order_by(DispatchCoordination.opened_at)
    if status:
        query = query.where(DispatchCoordination.status == status)
    return list(session.scalars(query))


def get_coordination(session: Session, coordination_id: int) -> DispatchCoordination:
    row = session.get(DispatchCoordination, coordination_id)
    if row is None:
        raise NotFound("协调记录不存在", coordination_id=coordination_id)
    return row


# ---------------------------------------------------------------- 回退率


def return_rates(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    within: int | None = None,
) -> list[dict[str, Any]]:
    """Per department: tickets received as 主办, 退单, accepted and rejected 退单, and the 回退率.

    From the timeline (全程留痕), so any period can be asked; ``within`` limits to a subtree.
    """
    query = select(TimelineEvent.action, TimelineEvent.data).where(
        TimelineEvent.action.in_(("dispatch", "accept_return", "return", "reject_return"))
    )
    if since is not None:
        query = query.where(TimelineEvent.at >= since)
    if until is not None:
        query = query.where(TimelineEvent.at < until)
    stats: dict[int, dict[str, int]] = {}

    def bump(dept: Any, key: str) -> None:
        if isinstance(dept, int):
            row = stats.setdefault(dept, {"received": 0, "returned": 0, "accepted": 0, "rejected": 0})
            row[key] += 1

    for action, data in session.execute(query):
        data = data or {}
        if action == "dispatch":
            bump(data.get("primary_department_id"), "received")
        elif action == "accept_return":
            bump(data.get("primary_department_id"), "received")
            bump(data.get("from_department_id"), "accepted")
        elif action == "return":
            bump(data.get("department_id"), "returned")
        elif action == "reject_return":
            bump(data.get("department_id"), "rejected")
    rows = session.execute(select(Department.id, Department.code, Department.name, Department.path)).all()
    allowed: set[int] | None = None
    if within is not None:
        prefix = next((r.path for r in rows if r.id == within), None)
        allowed = {r.id for r in rows if prefix and r.path.startswith(prefix)}
    out = []
    for r in rows:
        if r.id not in stats or (allowed is not None and r.id not in allowed):
            continue
        s = stats[r.id]
        out.append(
            {
                "department_id": r.id,
                "code": r.code,
                "name": r.name,
                **s,
                "return_rate": round(s["returned"] / s["received"], 4) if s["received"] else 0.0,
            }
        )
    return sorted(out, key=lambda x: (-x["return_rate"], x["code"]))


# ---------------------------------------------------------------- 并单 candidates


def detect_repeats(session: Session, ticket: Ticket, place: Place | None = None) -> list[DispatchRepeatCandidate]:
    """Open tickets of the window that look like the same matter: same citizen or same place, similar text."""
    days = int(setting(session, "repeat_window_days"))
    threshold = float(setting(session, "repeat_threshold"))
    since = utcnow() - timedelta(days=days)
    place = place if place is not None else resolve_place(session, ticket.address)
    filters = []
    if ticket.citizen_id is not None:
        filters.append(Ticket.citizen_id == ticket.citizen_id)
    if ticket.category:
        filters.append(Ticket.category == ticket.category)
    if place.matched:
        filters.append(Ticket.address.contains(max(place.matched, key=len), autoescape=True))
    if not filters:
        return []
    others = session.scalars(
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.created_at >= since,
            Ticket.status.in_([s.value for s in OPEN_STATUSES]),
            or_(*filters),
        )
        .order_by(Ticket.id.desc())
        .limit(300)
    ).all()
    text = f"{ticket.title}。{ticket.content}"
    found: list[DispatchRepeatCandidate] = []
    for other in others:
        sim = similarity(text, f"{other.title}。{other.content}")
        same_citizen = ticket.citizen_id is not None and other.citizen_id == ticket.citizen_id
        other_place = resolve_place(session, other.address) if other.address else Place()
        fine = place.community or place.street
        other_fine = other_place.community or other_place.street
        same_place = bool(fine) and other_fine == fine
        # Alike words about two known, different places are two matters (路灯不亮 on two streets).
        elsewhere = bool(fine) and bool(other_fine) and not same_place
        score = min(1.0, sim + (0.2 if same_citizen else 0.0) + (0.15 if same_place else 0.0))
        if sim >= 0.25 and score >= threshold and (same_citizen or same_place or (sim >= 0.6 and not elsewhere)):
            row = DispatchRepeatCandidate(
                ticket_id=ticket.id,
                candidate_id=other.id,
                score=round(score, 4),
                similarity=round(sim, 4),
                same_citizen=same_citizen,
                same_place=same_place,
                status="flagged",
                created_at=utcnow(),
            )
            session.add(row)
            found.append(row)
    session.flush()
    return found


def repeats_of(session: Session, ticket_id: int) -> list[DispatchRepeatCandidate]:
    """Candidates both ways: this ticket looks like older open ones, or newer ones look like it."""
    return list(
        session.scalars(
            select(DispatchRepeatCandidate)
            .where(
                or_(DispatchRepeatCandidate.ticket_id == ticket_id, DispatchRepeatCandidate.candidate_id == ticket_id)
            )
            .order_by(DispatchRepeatCandidate.score.desc())
        )
    )


def flagged_repeat_count(session: Session, ticket_id: int) -> int:
    """New appeals flagged (not dismissed) as the same matter as this open ticket."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(DispatchRepeatCandidate)
            .where(DispatchRepeatCandidate.candidate_id == ticket_id, DispatchRepeatCandidate.status != "dismissed")
        )
        or 0
    )


def get_repeat(session: Session, candidate_id: int) -> DispatchRepeatCandidate:
    row = session.get(DispatchRepeatCandidate, candidate_id)
    if row is None:
        raise NotFound("并单候选不存在", candidate_id=candidate_id)
    return row


def merge_repeat(session: Session, row: DispatchRepeatCandidate, actor: User, *, note: str | None = None) -> Ticket:
    """并单: the new ticket joins the open one (the core raises its repeat count and keeps all callers)."""
    if row.status != "flagged":
        raise Conflict("该并单候选已处理", reason="already_decided")
    ticket = session.get(Ticket, row.ticket_id)
    into = session.get(Ticket, row.candidate_id)
    assert ticket is not None and into is not None
    lifecycle.merge_ticket(
        session, ticket, actor, version=None, into=into, note=note or f"并单（相似度 {row.score:.2f}）"
    )
    row.status = "merged"
    row.decided_by_id = actor.id
    row.decided_at = utcnow()
    session.flush()
    return into


def dismiss_repeat(session: Session, row: DispatchRepeatCandidate, actor: User) -> DispatchRepeatCandidate:
    _require(actor, frozenset({Role.agent, *DISPATCH_ROLES}), "处理并单候选")
    if row.status != "flagged":
        raise Conflict("该并单候选已处理", reason="already_decided")
    row.status = "dismissed"
    row.decided_by_id = actor.id
    row.decided_at = utcnow()
    session.flush()
    return row


# ---------------------------------------------------------------- the dispatchers' queue


def queue(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """Tickets waiting for a dispatcher (registered, or returned and not in coordination), oldest first,
    each with the top three proposals of its latest decision and its 并单 candidates."""
    in_coordination = select(DispatchCoordination.ticket_id).where(DispatchCoordination.status == "open")
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.status.in_([TicketStatus.registered.value, TicketStatus.returned.value]),
            Ticket.id.not_in(in_coordination),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
    ).all()
    items = []
    for t in tickets:
        decision = latest_decision(session, t.id)
        if decision is None:
            proposed = propose(session, Appeal.of(t))
            proposals, outcome, reason, confidence, decision_id = (
                [p.to_dict() for p in proposed.proposals],
                "undecided",
                proposed.reason,
                proposed.confidence,
                None,
            )
        else:
            proposals, outcome, reason, confidence, decision_id = (
                decision.proposals,
                decision.outcome,
                decision.reason or "",
                decision.confidence,
                decision.id,
            )
        items.append(
            {
                "ticket": t,
                "decision_id": decision_id,
                "outcome": outcome,
                "reason": reason,
                "confidence": confidence,
                "proposals": proposals[:3],
                "repeat_candidates": [
                    r for r in repeats_of(session, t.id) if r.ticket_id == t.id and r.status == "flagged"
                ],
            }
        )
    return items
