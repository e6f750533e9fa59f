"""Proposals: for one appeal, the departments that should handle it, best first, each with its reasons
(rules of the 派单目录, the place, the classifier, 兜底); and the decision records that keep them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch import classify, combiner
from dispatch.catalogue import catalogue
from dispatch.config import settings
from dispatch.departments import Dept, departments
from dispatch.gazetteer import Place
from dispatch.models import (
    DispatchDecision,
)
from dispatch.places import resolve_place
from dispatch.rules import (
    TERRITORIAL_TOKENS,
    CompiledRule,
    Facts,
    evaluate,
    normalize_text,
)
from dispatch.similarity import similarity
from hotline.db import utcnow
from hotline.enums import DepartmentKind
from hotline.models import Ticket, TimelineEvent, User


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
    # (candidates, their features, the appeal's, the mode: history, plain or rules), for fitting
    features: tuple[list[Dept], list[list[float]], list[float], str] | None = None

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


_SOURCE_LABELS = {"classifier": "分类模型建议", "fallback": "属地兜底", "territorial": "属地", "rule": "派单目录"}


def _model_probs(
    cfg: dict[str, Any], opinion: classify.Opinion | None, depts: dict[str, Dept]
) -> tuple[dict[int, float], dict[int, float], bool]:
    """The department model's probabilities, split: labels naming our departments exactly (by code
    or name: a model trained on this center's history) and generic labels mapped by name (the
    shipped model). The third value says whether the model is a history model."""
    exact: dict[int, float] = {}
    generic: dict[int, float] = {}
    if opinion is None or not opinion.departments:
        return exact, generic, False
    by_name = {d.name: d for d in depts.values()}
    mapping = cfg["classifier_department_map"] or {}
    for label, prob in opinion.departments:
        dept = depts.get(str(label)) or by_name.get(str(label))
        if dept is not None:
            exact.setdefault(dept.id, float(prob))
            continue
        mapped = _label_to_dept(str(label), depts, mapping)
        if mapped is not None:
            generic.setdefault(mapped.id, float(prob))
    first = str(opinion.departments[0][0])
    return exact, generic, first in depts or first in by_name


def candidate_features(
    comb: combiner.Combiner,
    proposals: Sequence[Proposal],
    rule_first: Sequence[Proposal],
    opinion: classify.Opinion | None,
    category: str | None,
    place: Place,
    fallback: Dept | None,
    depts: dict[str, Dept],
    cfg: dict[str, Any],
) -> tuple[list[Dept], list[list[float]], list[float], str]:
    """The candidates (every department proposed, the 属地 units, the model's departments) with the
    features of :data:`combiner.CANDIDATE_FEATURES`, and the appeal's :data:`combiner.APPEAL_FEATURES`."""
    exact, generic, with_history = _model_probs(cfg, opinion, depts)
    by_id = {d.id: d for d in depts.values()}
    rule_depts: list[int] = []
    for p in rule_first:
        if p.primary.id not in rule_depts:
            rule_depts.append(p.primary.id)
    top_rule = rule_first[0] if rule_first else None
    history_first = max(exact, key=lambda k: exact[k]) if exact and with_history else None
    units = [depts[c] for c in (place.street, place.district) if c and c in depts]
    seen: list[Dept] = []
    for d in [*(p.primary for p in proposals), *units, *(by_id[i] for i in exact if i in by_id)]:
        if all(d.id != s.id for s in seen):
            seen.append(d)
    rows: list[list[float]] = []
    for d in seen:
        mine = [p for p in rule_first if p.primary.id == d.id]
        best = max(mine, key=lambda p: p.score) if mine else None
        share, cat_first = comb.category_prior(category, d.code)
        territorial_unit = d.code in (place.street, place.district)
        f = {
            "rule_score": best.score if best else 0.0,
            "rule_first": float(bool(rule_depts) and rule_depts[0] == d.id),
            "rule_second": float(len(rule_depts) > 1 and rule_depts[1] == d.id),
            "rule_priority": (best.rule.priority / 100 if best and best.rule else 0.0),
            "rule_title": float(any(p.title_hit for p in mine)),
            "rule_count": min(len(mine), 3) / 3,
            "rule_catchall": float(bool(best and best.rule and best.rule.priority <= 30)),
            "rule_territorial": float(bool(best and best.rule and best.rule.primary in TERRITORIAL_TOKENS)),
            "rule_assist": float(top_rule is not None and any(a.id == d.id for a in top_rule.assists)),
            "history_prob": exact.get(d.id, 0.0) if with_history else 0.0,
            "history_first": float(history_first == d.id),
            "generic_prob": generic.get(d.id, 0.0) + (0.0 if with_history else exact.get(d.id, 0.0)),
            "category_prior": share,
            "category_first": float(cat_first),
            "is_street": float(d.code == place.street),
            "is_district": float(d.code == place.district),
            "is_fallback": float(fallback is not None and d.id == fallback.id),
            "place_unsure": float(territorial_unit and (place.ambiguous or place.conflict)),
        }
        rows.append([f[name] for name in combiner.CANDIDATE_FEATURES])
    appeal = {
        "bias": 1.0,
        "no_rule": float(not rule_first),
        "rule_departments": min(len(rule_depts), 4) / 4,
        "no_place": float(place.district is None),
        "history_missing": float(not with_history),
    }
    mode = "history" if with_history else ("plain" if opinion is not None and opinion.departments else "rules")
    return seen, rows, [appeal[name] for name in combiner.APPEAL_FEATURES], mode


def _combine(
    comb: combiner.Combiner,
    features: tuple[list[Dept], list[list[float]], list[float], str],
    proposals: list[Proposal],
    place: Place,
    usable: Any,
) -> list[Proposal]:
    """Rank the candidates by the combiner's calibrated probability; each proposal's score becomes it.
    The 属地 unit is a candidate like any other: it is in the first three only when it earns it."""
    cands, rows, appeal, mode = features
    probs = comb.params(mode).probabilities(rows, appeal)
    out: list[Proposal] = []
    for dept, prob in sorted(zip(cands, probs, strict=True), key=lambda dp: -dp[1]):
        if not usable(dept):
            continue
        same = [p for p in proposals if p.primary.id == dept.id]
        rule_p = [p for p in same if p.source == "rule"]
        if rule_p:
            chosen = rule_p[0]
        elif same:
            chosen = same[0]
        else:
            why = f"属地：{dept.name}（{'、'.join(place.matched) or '地址'}）"
            chosen = Proposal(dept, [], 0.0, "territorial", "属地", None, [why])
        chosen.score = prob
        chosen.reasons.append(f"综合评分（规则、业务领域、历史派单模型）：{prob:.2f}")
        out.append(chosen)
    return out


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
    combination: combiner.Combiner | None = None,
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

    comb = combination or (combiner.load() if cfg["use_combiner"] else None)
    features = None
    if comb is not None and rules:
        features = candidate_features(comb, proposals, rule_first, opinion, category, place, fallback, depts, cfg)
        ordered = _combine(comb, features, proposals, place, usable)
    else:
        # Without a fitted combination: best first; one proposal per 主办 (the first, from the highest
        # rule, keeps its place). The catalogue's rules come before the model's own department
        # proposals: measured on the labelled appeals, letting a confident model jump ahead of a rule
        # never fixed a 主办 and broke 16 (see dispatch/README.md, "Classifier").
        ordered = []
        others = sorted((p for p in proposals if p.source != "rule"), key=lambda p: -p.score)
        for p in [*rule_first, *others]:
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
    elif comb is not None:
        # The calibrated probability that this 主办 is right decides, whatever proposed it.
        auto = confidence >= threshold and (top.source != "fallback" or bool(cfg["fallback_auto"]))
        what = f"派单目录「{top.rule.name}」" if top.rule is not None else _SOURCE_LABELS[top.source]
        reason = f"{what}：{top.mode}，{top.primary.name}，综合置信度 {confidence:.2f}" + (
            "" if auto else f"（低于直派阈值 {threshold}，请派单员确认）"
        )
    elif top.source == "fallback":
        auto = bool(cfg["fallback_auto"]) and (doubt is None or doubt[0].id == top.primary.id)
        reason = f"派单目录未覆盖，按属地兜底派至{top.primary.name}"
    elif top.source == "territorial":
        reason = f"派单目录未覆盖，属地为{top.primary.name}，请人工派单"
    elif top.source == "classifier":
        auto = confidence >= float(cfg["classifier_auto"])
        reason = f"派单目录未覆盖，按分类模型建议（{confidence:.2f}）"
    else:
        rule_threshold = float(cfg["rule_auto_threshold"])
        auto = confidence >= rule_threshold
        assert top.rule is not None
        reason = f"派单目录「{top.rule.name}」：{top.mode}，确定度 {confidence:.2f}" + (
            "" if auto else f"（低于直派阈值 {rule_threshold}）"
        )
    auto = auto and bool(cfg["auto_enabled"])
    return Proposed(ordered, place, opinion, confidence, auto, reason, version, sorted(excluded), features)


def decision_reasons(decision: DispatchDecision) -> dict[str, Any]:
    """What goes into the timeline's dispatch event (``reasons=``)."""
    top = decision.proposals[0] if decision.proposals else None
    # the proposal of the department dispatched to; none when a dispatcher chose one nobody proposed
    # (then no rule decided it: the 回退率 per rule does not count it against one)
    chosen = next(
        (p for p in decision.proposals if p["primary"]["id"] == decision.primary_department_id),
        top if decision.primary_department_id is None else None,
    )
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


def record_decision(
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
