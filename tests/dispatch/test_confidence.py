"""Issue 18: rules that read the matter, the calibrated 直派 threshold, urgent tickets alerting a
dispatcher, 退单/改派 as training examples, and 回退率 per rule."""

from __future__ import annotations

from sqlalchemy import select

from dispatch import combiner
from dispatch.config import set_setting
from dispatch.proposals import Appeal, propose
from dispatch.queue import queue
from dispatch.return_rates import rule_return_rates
from dispatch.returns import redispatch_returned
from dispatch.rules import Facts, evaluate, normalize_text, validate_conditions
from escalation.models import NotificationMessage
from hotline import lifecycle
from hotline.classification import training_examples
from hotline.enums import AppealType, Channel, TicketStatus, Urgency
from hotline.models import ClassificationFeedback, Department, Ticket, TimelineEvent
from tests.dispatch.conftest import route, with_combiner
from tests.dispatch.test_service import Ctx, _returned, latest, register

MARKET = validate_conditions({"any": [{"about": ["农贸市场", "菜市场", "超市"]}]})


def _about_market(text: str) -> bool:
    return evaluate(MARKET, Facts(text=normalize_text(text)))


def test_a_market_named_as_a_place_is_not_the_matter() -> None:
    assert not _about_market("我在东门农贸市场买的猪肉有股臭味")
    assert not _about_market("超市门口的井盖丢了，差点有人掉下去")
    assert not _about_market("去菜市场的路上路灯全不亮")
    assert _about_market("农贸市场乱收摊位费，管理混乱")
    assert _about_market("建议小区附近建一个菜市场")


def test_an_appeal_naming_a_market_only_as_a_place_does_not_go_to_its_bureau(city: Ctx) -> None:
    session, c = city
    appeal = Appeal(
        title="菜市场买的猪肉变质",
        content="昨天在东城区和平街道的农贸市场买的猪肉，回家一闻有臭味，家里人吃了拉肚子。",
        address="东城区和平街道",
    )
    for combined in (False, True):  # the rules' own ranking, and the learned combination
        if combined:
            with_combiner(session)
        proposed = propose(session, appeal)
        assert proposed.top is not None and proposed.top.primary.code == "scjg"
        assert all(p.rule is None or p.rule.code != "COM-MARKETS" for p in proposed.proposals)
        # The market as the matter still goes to 商务.
        about = propose(session, Appeal(title="农贸市场管理混乱", content="农贸市场乱收摊位费，没人管。"))
        assert about.top is not None and about.top.primary.code == "swj"


def test_the_threshold_applies_to_the_calibrated_score(city: Ctx) -> None:
    session, c = city
    with_combiner(session)
    comb = combiner.load()
    assert comb is not None, "dispatch/data/combiner.json is shipped"
    appeal = Appeal(title="燃气泄漏", content="厨房里有很重的燃气味，怀疑燃气管道漏气。", address="东城区和平街道")
    proposed = propose(session, appeal)
    assert proposed.features is not None and proposed.top is not None
    cands, rows, appeal_features, mode = proposed.features
    assert mode == "rules"  # no classifier in these tests
    probs = comb.params(mode).probabilities(rows, appeal_features)
    best = max(range(len(probs)), key=lambda i: probs[i])
    # the confidence is the combiner's probability, not the rule's own confidence (0.95)
    assert cands[best].id == proposed.top.primary.id
    assert abs(proposed.confidence - probs[best]) < 1e-9
    assert proposed.top.rule is not None and proposed.confidence != proposed.top.rule.confidence
    set_setting(session, "auto_threshold", round(proposed.confidence + 0.005, 4))
    session.commit()
    assert not propose(session, appeal).auto
    set_setting(session, "auto_threshold", round(proposed.confidence - 0.005, 4))
    session.commit()
    assert propose(session, appeal).auto


def _register_urgent(session: Ctx, urgency: Urgency, title: str, content: str) -> Ticket:
    s, c = session
    appeal = lifecycle.NewAppeal(
        title=title,
        content=content,
        appeal_type=AppealType.help,
        channel=Channel.phone,
        phone="13800000009",
        address="东城区和平街道",
        urgency=urgency,
        classification={},
    )
    ticket = lifecycle.register_ticket(s, c.user(s, "agent"), appeal)
    s.commit()
    route(ticket.id)
    s.refresh(ticket)
    return ticket


def test_an_urgent_ticket_below_the_threshold_alerts_a_dispatcher_at_once(city: Ctx) -> None:
    session, c = city
    with_combiner(session)
    set_setting(session, "auto_threshold", 0.9999)  # nothing is sure enough: everything waits
    session.commit()
    normal = register(session, c, "路灯不亮", "和平街道新苑小区门口路灯坏了。", "东城区和平街道新苑小区")
    assert normal.status == TicketStatus.registered
    assert session.scalars(select(NotificationMessage).where(NotificationMessage.ticket_id == normal.id)).all() == []
    urgent = _register_urgent(
        (session, c), Urgency.critical, "家中停电，老人用制氧机", "家里突然停电了，老人在家用制氧机，很着急。"
    )
    assert urgent.status == TicketStatus.registered and latest(session, urgent).outcome == "queued"
    (notice,) = session.scalars(select(NotificationMessage).where(NotificationMessage.ticket_id == urgent.id)).all()
    assert notice.recipient_user_id == c.org.users["dispatcher"] and notice.channel == "inbox"
    assert notice.status == "sent" and "特急" in notice.subject
    # the queue shows it first, before the older normal ticket
    order = [item["ticket"].id for item in queue(session)]
    assert order.index(urgent.id) < order.index(normal.id)


def test_an_urgent_ticket_dispatched_at_once_alerts_nobody(city: Ctx) -> None:
    session, c = city
    with_combiner(session)
    set_setting(session, "auto_threshold", 0.01)
    session.commit()
    urgent = _register_urgent((session, c), Urgency.urgent, "燃气泄漏", "厨房里有很重的燃气味，怀疑燃气管道漏气。")
    assert urgent.status == TicketStatus.dispatched
    alerts = select(NotificationMessage).where(
        NotificationMessage.ticket_id == urgent.id, ~NotificationMessage.dedupe_key.like("assigned:%")
    )  # the department's notice of the dispatch is no alert
    assert session.scalars(alerts).all() == []


def test_a_return_accepted_becomes_a_training_example_and_counts_against_its_rule(city: Ctx) -> None:
    session, c = city
    t = _returned(session, c)  # 直派 to 市场监管 by a rule, sent back
    first = session.scalar(
        select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "dispatch")
    )
    assert first is not None and first.data["reasons"]["source"] == "rule"
    rule_code = first.data["reasons"]["rule_code"]
    redispatch_returned(
        session, t, c.user(session, "dispatcher"), version=t.version, primary_department_id=c.dept["xc.cy"]
    )
    session.commit()
    name = {d.id: d.name for d in session.scalars(select(Department))}
    (row,) = session.scalars(
        select(ClassificationFeedback).where(
            ClassificationFeedback.ticket_id == t.id, ClassificationFeedback.head == "department"
        )
    ).all()
    assert row.label == name[c.dept["xc.cy"]] and row.predicted == name[c.dept["scjg"]]
    assert row.title == t.title and row.text == t.content
    # the next retraining learns it (hotline.retrain_classifier reads training_examples)
    assert [e.department for e in training_examples(session) if e.title == t.title] == [name[c.dept["xc.cy"]]]
    rates = {r["rule_code"]: r for r in rule_return_rates(session)}
    assert rates[rule_code]["dispatched"] == 1 and rates[rule_code]["returned"] == 1
    assert rates[rule_code]["return_rate"] == 1.0
    # the 改派 was the dispatcher's choice among proposals; it is counted where it came from
    assert sum(r["dispatched"] for r in rates.values()) == 2
