"""Dispatch service on PostgreSQL and SQLite: routing, 属地/行业/双交办, 兜底, 退单, coordination, 并单."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.catalogue import (
    catalogue_version,
    create_rule,
    delete_rule,
    export_catalogue,
    import_catalogue,
    rule_history,
    update_rule,
)
from dispatch.config import set_setting
from dispatch.models import DispatchCoordination, DispatchDecision, DispatchRepeatCandidate, DispatchRuleChange
from dispatch.places import load_gazetteer
from dispatch.proposals import Appeal, latest_decision, propose
from dispatch.queue import queue
from dispatch.repeats import dismiss_repeat, flagged_repeat_count, merge_repeat, repeats_of
from dispatch.return_rates import return_rates
from dispatch.returns import (
    open_coordination,
    redispatch_returned,
    reject_returned,
    returned_proposals,
    settle_coordination,
)
from dispatch.routing import apply_held_decision, dispatch_by_dispatcher
from hotline import lifecycle
from hotline.enums import AppealType, AssignmentRole, AssignmentStatus, Channel, TicketStatus, Urgency
from hotline.errors import Conflict, Forbidden, InvalidInput
from hotline.models import Ticket, TimelineEvent
from tests.dispatch.conftest import City, route

Ctx = tuple[Session, City]


def register(
    session: Session,
    city: City,
    title: str,
    content: str,
    address: str | None = None,
    *,
    phone: str | None = "13800000001",
    who: str = "agent",
    appeal_type: AppealType = AppealType.complaint,
    category: str | None = None,
    enterprise: bool = False,
    channel: Channel = Channel.phone,
) -> Ticket:
    appeal = lifecycle.NewAppeal(
        title=title,
        content=content,
        appeal_type=appeal_type,
        channel=channel,
        phone=phone,
        address=address,
        category=category,
        enterprise=enterprise,
        # Registered as without a model ({}): like the city fixture's use_classifier=False, these tests
        # are about rules, gazetteer and 兜底, and registration would otherwise file the shipped model's
        # category (a moving model with its own tests), which category rules then act on.
        classification={},
    )
    ticket = lifecycle.register_ticket(session, city.user(session, who), appeal)
    session.commit()
    route(ticket.id)
    session.refresh(ticket)
    return ticket


def latest(session: Session, ticket: Ticket) -> DispatchDecision:
    decision = latest_decision(session, ticket.id)
    assert decision is not None
    return decision


def live(ticket: Ticket) -> dict[str, int]:
    return {a.role: a.department_id for a in ticket.assignments if a.status != AssignmentStatus.withdrawn}


# ---------------------------------------------------------------- routing a new ticket


def test_a_clear_line_matter_is_dispatched_at_once_by_the_system(city: Ctx) -> None:
    session, c = city
    t = register(session, c, "超市卖过期酸奶", "锦绣路一家超市货架上有过期酸奶在卖。", "西城区朝阳街道锦绣路")
    assert t.status == TicketStatus.dispatched and t.primary_department_id == c.dept["scjg"]
    decision = latest(session, t)
    assert decision.outcome == "auto_dispatched" and decision.kind == "initial"
    assert decision.proposals[0]["rule_code"] == "MKT-FOOD" and decision.place["street"] == "xc.cy"
    event = session.scalar(
        select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "dispatch")
    )
    assert event is not None and event.actor_name == "系统"
    assert event.data["reasons"]["decision_id"] == decision.id
    assert event.data["reasons"]["rule_code"] == "MKT-FOOD"


def test_higher_priority_wins_and_same_priority_rivals_go_to_the_queue(city: Ctx) -> None:
    session, c = city
    # 燃气 (90) beats 电费-like words of 供电 (80): both match, the higher one wins.
    t = register(session, c, "燃气表和电表都装在楼道", "燃气表漏气，电表也在旁边。", "东城区解放街道华兴小区")
    assert t.primary_department_id == c.dept["rqgs"]
    codes = [p["primary"]["code"] for p in latest(session, t).proposals]
    assert codes[:2] == ["rqgs", "gdgs"]
    # Two rules of the same priority naming different departments: a dispatcher decides.
    admin = c.user(session, "admin")
    for code, words, dept in (("T-A", ["蓝色物件"], "cgj"), ("T-B", ["红色物件"], "sthj")):
        create_rule(
            session, admin, {"code": code, "name": code, "priority": 95, "when": {"keywords": words}, "primary": dept}
        )
    session.commit()
    t2 = register(session, c, "蓝色物件和红色物件", "路边有蓝色物件和红色物件。", "东城区解放街道")
    assert t2.status == TicketStatus.registered
    decision = latest(session, t2)
    assert decision.outcome == "queued" and "同优先级" in " ".join(decision.proposals[0]["reasons"])
    assert {p["primary"]["code"] for p in decision.proposals[:2]} == {"cgj", "sthj"}


def test_combined_conditions_all_of_any_of_none_of(city: Ctx) -> None:
    session, c = city
    # 工程建设领域欠薪: (欠薪 words) AND (工地 words) → 人社主办, 住建协办.
    t = register(session, c, "工地包工头拖欠工资", "在科技城工地干了三个月，包工头拖欠工资。", "高新区科技城街道软件园")
    assert latest(session, t).proposals[0]["rule_code"] == "LAB-WAGE-CONSTRUCTION"
    assert live(t) == {"primary": c.dept["rsj"], "assist": c.dept["zjj"]}
    # 工地 noise without wages: CON-SITE, whose none-of excludes wage words.
    t2 = register(session, c, "工地半夜施工", "旁边工地每天半夜打桩。", "高新区科技城街道创新家园", phone="13800000002")
    assert t2.primary_department_id == c.dept["zjj"] and latest(session, t2).proposals[0]["rule_code"] == "CON-SITE"
    # 涉企 only: the same words from a citizen are no enterprise appeal.
    t3 = register(
        session, c, "补贴申请审批慢", "补贴申请审批太慢。", "高新区科技城街道", enterprise=True, phone="13800000003"
    )
    assert latest(session, t3).proposals[0]["rule_code"] == "BIZ-ENVIRONMENT"


def test_territorial_line_and_double_dispatch(city: Ctx) -> None:
    session, c = city
    # 属地: the street office of the place.
    t = register(session, c, "楼上邻居装修噪音", "楼上邻居天天装修，早上七点就开电钻。", "东城区东湖街道滨湖小区")
    assert t.primary_department_id == c.dept["dc.dh"] and latest(session, t).proposals[0]["mode"] == "属地"
    # 行业: a line bureau wherever the place.
    t2 = register(session, c, "路灯不亮", "桃山路一排路灯都不亮。", "东城区东湖街道桃山路", phone="13800000002")
    assert t2.primary_department_id == c.dept["cgj"] and latest(session, t2).proposals[0]["mode"] == "行业"
    # 双交办: the street 主办, the housing bureau 协办 (物业), both get the ticket.
    t3 = register(session, c, "物业乱收费", "锦绣华庭物业乱涨物业费。", "西城区朝阳街道锦绣华庭", phone="13800000003")
    assert latest(session, t3).proposals[0]["mode"] == "双交办"
    assert live(t3) == {AssignmentRole.primary: c.dept["xc.cy"], AssignmentRole.assist: c.dept["fgj"]}


def test_the_places_territorial_unit_is_always_among_the_first_three(city: Ctx) -> None:
    session, _c = city
    # A broad 行业 rule wins; the street office of the place is still offered (never first).
    proposed = propose(
        session,
        Appeal("小区门口有人摆摊", "有人在小区门口摆摊卖菜。", "西城区建康街道枫城小区", category="城市管理"),
        use_classifier=False,
    )
    codes = [p.primary.code for p in proposed.proposals]
    assert codes[0] == "cgj" and "xc.jk" in codes[:3]
    standing = next(p for p in proposed.proposals if p.primary.code == "xc.jk")
    assert standing.source == "territorial" and standing.mode == "属地"
    # Only the district known: the district; no place at all: nothing is added.
    codes = [
        p.primary.code
        for p in propose(
            session, Appeal("超市卖过期面包", "面包过期了还在卖。", "高新区"), use_classifier=False
        ).proposals
    ]
    assert codes[0] == "scjg" and "xq" in codes[:3]
    bare = propose(session, Appeal("超市卖过期面包", "面包过期了还在卖。"), use_classifier=False)
    assert all(p.source != "territorial" for p in bare.proposals)


def test_catalogue_reads_outages_village_lights_farm_inputs_and_fire_lanes(city: Ctx) -> None:
    session, _c = city

    def top(title: str, content: str, address: str | None = None) -> str:
        proposed = propose(session, Appeal(title, content, address), use_classifier=False)
        return proposed.proposals[0].primary.code

    assert top("整个小区停电", "小区全部停电，电梯也停了。", "东城区东湖街道滨湖小区") == "gdgs"
    assert top("电梯困人", "电梯突然停了，把人困在里面。", "东城区东湖街道滨湖小区") == "scjg"
    assert top("村口路灯不亮", "村口几盏路灯坏了。", "高新区龙岗镇黄沙村") == "xq.lg"
    assert top("路灯不亮", "桃山路路灯不亮。", "东城区东湖街道桃山路") == "cgj"
    assert top("买到过期化肥", "镇上买的化肥是过期的。", "高新区龙岗镇") == "nync"
    assert top("青菜农药残留超标", "买的青菜农药残留超标，吃了不舒服。", None) == "scjg"
    assert top("消防车道被占", "小区消防车道停满了车。", "西城区建康街道悦来小区") == "xc.jk"
    assert top("居民楼下存放柴油", "有人在车库里存放了几十桶柴油。", "西城区朝阳街道海燕小区") == "yjj"


def test_a_territorial_rule_without_address_waits_with_a_clear_reason(city: Ctx) -> None:
    session, c = city
    t = register(session, c, "邻居家狗整夜叫", "邻居养的狗整夜叫，沟通无果。", None)
    decision = latest(session, t)
    assert t.status == TicketStatus.registered and decision.outcome == "not_routable"
    assert "缺少可识别的地址" in (decision.reason or "")


def test_fallback_to_the_district_and_a_configured_fallback(city: Ctx) -> None:
    session, c = city
    t = register(
        session,
        c,
        "建议增设休息座椅",
        "商业街人多，建议多放几个座椅。",
        "西城区朝阳街道",
        appeal_type=AppealType.suggestion,
    )
    assert t.status == TicketStatus.dispatched and t.primary_department_id == c.dept["xc"]
    assert latest(session, t).proposals[0]["source"] == "fallback"
    set_setting(session, "fallbacks", {"xq": "xq.kj"})
    session.commit()
    t2 = register(
        session,
        c,
        "建议增设座椅",
        "园区里建议多放座椅。",
        "高新区",
        appeal_type=AppealType.suggestion,
        phone="13800000002",
    )
    assert t2.primary_department_id == c.dept["xq.kj"]
    # Nobody's rule and no district: the queue, never nowhere.
    t3 = register(
        session, c, "建议增设座椅", "建议多放座椅。", "火星基地", appeal_type=AppealType.suggestion, phone="13800000003"
    )
    decision = latest(session, t3)
    assert t3.status == TicketStatus.registered and decision.outcome == "not_routable"
    assert "无法识别地址所在区" in (decision.reason or "")


def test_an_empty_catalogue_routes_nothing(city: Ctx) -> None:
    session, c = city
    admin = c.user(session, "admin")
    import_catalogue(session, admin, "rules: []")
    session.commit()
    t = register(session, c, "路灯不亮", "路灯不亮。", "东城区东湖街道桃山路")
    assert t.status == TicketStatus.registered and "目录为空" in (latest(session, t).reason or "")


def test_an_agents_ticket_is_held_then_dispatched_unless_someone_acted(city: Ctx) -> None:
    session, c = city
    set_setting(session, "agent_hold_seconds", 90)
    session.commit()
    t = register(session, c, "路灯不亮", "桃山路路灯不亮。", "东城区东湖街道桃山路")
    held = latest(session, t)
    assert t.status == TicketStatus.registered and held.outcome == "held"
    assert held.primary_department_id == c.dept["cgj"]
    assert apply_held_decision(session, held.id) == "dispatched"
    session.commit()
    assert t.status == TicketStatus.dispatched and latest(session, t).outcome == "auto_dispatched"
    # The agent answered directly meanwhile: nothing happens.
    t2 = register(session, c, "路灯不亮", "华兴街路灯不亮。", "东城区解放街道华兴街", phone="13800000002")
    held2 = latest(session, t2)
    lifecycle.answer_directly(session, t2, c.user(session, "agent"), version=t2.version, answer="已告知报修电话")
    session.commit()
    assert apply_held_decision(session, held2.id) == "skipped"
    # A dispatcher (not an agent) registering: no hold.
    t3 = register(
        session, c, "路灯不亮", "和平路路灯不亮。", "东城区和平街道和平路", who="dispatcher", phone="13800000003"
    )
    assert t3.status == TicketStatus.dispatched


def test_a_critical_ticket_is_dispatched_at_once_without_the_agents_hold(city: Ctx) -> None:
    session, c = city
    set_setting(session, "agent_hold_seconds", 90)
    session.commit()
    appeal = lifecycle.NewAppeal(
        title="燃气泄漏",
        content="桃山路小区楼道燃气泄漏，味道很大。",
        appeal_type=AppealType.help,
        channel=Channel.phone,
        phone="13800000009",
        address="东城区东湖街道桃山路",
        urgency=Urgency.critical,
        classification={},
    )
    t = lifecycle.register_ticket(session, c.user(session, "agent"), appeal)
    session.commit()
    route(t.id)
    session.refresh(t)
    decision = latest(session, t)
    assert decision.outcome == "auto_dispatched" and t.status == TicketStatus.dispatched


def test_manual_dispatch_records_whether_the_proposal_was_followed(city: Ctx) -> None:
    session, c = city
    set_setting(session, "auto_enabled", False)
    session.commit()
    t = register(session, c, "路灯不亮", "桃山路路灯不亮。", "东城区东湖街道桃山路")
    assert t.status == TicketStatus.registered
    with pytest.raises(Forbidden):
        dispatch_by_dispatcher(session, t, c.user(session, "agent"), version=t.version)
    session.rollback()
    d = dispatch_by_dispatcher(
        session, t, c.user(session, "dispatcher"), version=t.version, primary_department_id=c.dept["dc.dh"]
    )
    session.commit()
    assert d.followed_proposal is False and d.kind == "manual" and t.primary_department_id == c.dept["dc.dh"]
    t2 = register(session, c, "井盖丢了", "解放路井盖丢了。", "东城区解放街道解放路", phone="13800000002")
    d2 = dispatch_by_dispatcher(session, t2, c.user(session, "dispatcher"), version=t2.version)
    session.commit()
    assert d2.followed_proposal is True and t2.primary_department_id == c.dept["cgj"]


# ---------------------------------------------------------------- 退单


def _returned(session: Session, c: City, who: str = "scjg") -> Ticket:
    t = register(session, c, "超市卖过期食品", "超市卖过期面包。", "西城区朝阳街道锦绣路")
    assert t.primary_department_id == c.dept[who]
    lifecycle.return_ticket(
        session, t, c.user(session, who), version=t.version, reason="not_our_duty", note="非本单位职责"
    )
    session.commit()
    return t


def test_accepting_a_return_proposes_without_the_department_that_refused(city: Ctx) -> None:
    session, c = city
    t = _returned(session, c)
    after_return = latest(session, t)
    assert after_return.kind == "return" and c.dept["scjg"] in after_return.excluded_department_ids
    assert all(p["primary"]["id"] != c.dept["scjg"] for p in after_return.proposals)
    fresh = returned_proposals(session, t)
    assert fresh.top is not None and fresh.top.primary.id != c.dept["scjg"]
    decision = redispatch_returned(session, t, c.user(session, "dispatcher"), version=t.version)
    session.commit()
    assert decision.kind == "redispatch" and t.status == TicketStatus.dispatched
    assert t.primary_department_id == fresh.top.primary.id
    event = session.scalar(
        select(TimelineEvent).where(TimelineEvent.ticket_id == t.id, TimelineEvent.action == "accept_return")
    )
    assert event is not None and event.data["reasons"]["decision_id"] == decision.id
    assert event.data["from_department_id"] == c.dept["scjg"]


def test_reject_then_second_return_goes_to_coordination(city: Ctx) -> None:
    session, c = city
    t = _returned(session, c)
    reject_returned(session, t, c.user(session, "dispatcher"), version=t.version, note="食品安全属市场监管职责")
    session.commit()
    assert t.status == TicketStatus.dispatched and t.return_count == 1
    assert open_coordination(session, t.id) is None
    lifecycle.return_ticket(
        session, t, c.user(session, "scjg"), version=t.version, reason="other", note="仍认为不属于本单位"
    )
    session.commit()
    coordination = open_coordination(session, t.id)
    assert coordination is not None and coordination.return_count == 2 and coordination.departments == [c.dept["scjg"]]
    assert latest(session, t).outcome == "coordination"
    # Dispatchers may no longer rule on it; the queue leaves it to the supervisor.
    with pytest.raises(Conflict, match="协调"):
        redispatch_returned(session, t, c.user(session, "dispatcher"), version=t.version)
    session.rollback()
    assert all(item["ticket"].id != t.id for item in queue(session))
    with pytest.raises(Forbidden):
        settle_coordination(session, coordination, c.user(session, "dispatcher"), department_id=c.dept["swj"], note="x")
    session.rollback()
    settle_coordination(
        session,
        coordination,
        c.user(session, "supervisor"),
        department_id=c.dept["scjg"],
        note="经协调，由市场监管局办理",
    )
    session.commit()
    assert coordination.status == "settled" and t.status == TicketStatus.dispatched
    assert t.primary_department_id == c.dept["scjg"] and t.return_count == 2


def test_coordination_settled_to_another_department(city: Ctx) -> None:
    session, c = city
    t = _returned(session, c)
    redispatch_returned(
        session, t, c.user(session, "dispatcher"), version=t.version, primary_department_id=c.dept["swj"]
    )
    session.commit()
    swj = session.get(Ticket, t.id)
    assert swj is not None and swj.primary_department_id == c.dept["swj"]
    from hotline.models import User

    swj_user = User(
        username="swj_t", display_name="商务局", password_hash="x", role="dept_handler", department_id=c.dept["swj"]
    )
    session.add(swj_user)
    session.flush()
    lifecycle.return_ticket(session, t, swj_user, version=t.version, reason="not_our_duty", note="非本单位")
    session.commit()
    coordination = open_coordination(session, t.id)
    assert coordination is not None and set(coordination.departments) == {c.dept["scjg"], c.dept["swj"]}
    settle_coordination(
        session, coordination, c.user(session, "supervisor"), department_id=c.dept["xc.cy"], note="属地街道牵头"
    )
    session.commit()
    assert t.primary_department_id == c.dept["xc.cy"] and latest(session, t).kind == "coordination"
    session.delete(swj_user)
    session.rollback()


def test_return_rates_per_department(city: Ctx) -> None:
    session, c = city
    t = _returned(session, c)
    redispatch_returned(
        session, t, c.user(session, "dispatcher"), version=t.version, primary_department_id=c.dept["xc.cy"]
    )
    register(session, c, "外卖吃出虫子", "点的外卖里吃出一只虫子，商家不理。", "高新区科技城街道", phone="13800000002")
    session.commit()
    rates = {r["code"]: r for r in return_rates(session)}
    assert rates["scjg"]["received"] == 2 and rates["scjg"]["returned"] == 1 and rates["scjg"]["accepted"] == 1
    assert rates["scjg"]["return_rate"] == 0.5
    assert rates["xc.cy"]["received"] == 1 and rates["xc.cy"]["return_rate"] == 0.0
    assert [r["code"] for r in return_rates(session, within=c.dept["xc"])] == ["xc.cy"]


# ---------------------------------------------------------------- 并单


def test_a_repeat_appeal_is_flagged_and_not_dispatched_blindly(city: Ctx) -> None:
    session, c = city
    first = register(
        session, c, "新苑小区东门路灯不亮", "新苑小区东门的路灯坏了一周了，晚上很黑。", "东城区和平街道新苑小区"
    )
    assert first.status == TicketStatus.dispatched
    again = register(
        session, c, "小区东门路灯还是不亮", "新苑小区东门路灯坏了一个多星期，晚上太黑了。", "东城区和平街道新苑小区东门"
    )
    decision = latest(session, again)
    assert (
        again.status == TicketStatus.registered
        and decision.outcome == "queued"
        and "疑似重复" in (decision.reason or "")
    )
    (row,) = repeats_of(session, again.id)
    assert row.candidate_id == first.id and row.same_citizen and row.same_place and row.score >= 0.5
    assert flagged_repeat_count(session, first.id) == 1
    # Another matter of the same citizen is no repeat.
    other = register(session, c, "咨询社保卡补办", "社保卡丢了去哪里补办。", None, appeal_type=AppealType.consult)
    assert repeats_of(session, other.id) == []
    # 并单: the core raises the repeat count of the open ticket.
    merge_repeat(session, row, c.user(session, "dispatcher"))
    session.commit()
    assert again.status == TicketStatus.merged and first.repeat_count == 1 and row.status == "merged"


def test_a_similar_appeal_from_another_caller_at_the_same_place(city: Ctx) -> None:
    session, c = city
    first = register(
        session, c, "光明菜市场门口井盖丢了", "光明菜市场门口的井盖丢了，很危险。", "东城区和平街道光明菜市场"
    )
    second = register(
        session,
        c,
        "菜市场门口井盖没了",
        "光明菜市场门口井盖丢了好几天，很危险。",
        "东城区和平街道光明菜市场",
        phone="13900000002",
    )
    rows = repeats_of(session, second.id)
    assert [r.candidate_id for r in rows] == [first.id] and rows[0].same_place and not rows[0].same_citizen
    dismiss_repeat(session, rows[0], c.user(session, "dispatcher"))
    session.commit()
    assert session.scalar(select(DispatchRepeatCandidate.status)) == "dismissed"


# ---------------------------------------------------------------- the catalogue


def test_every_change_of_the_catalogue_is_versioned_with_who(city: Ctx) -> None:
    session, c = city
    admin = c.user(session, "admin")
    v0 = catalogue_version(session)
    with pytest.raises(Forbidden):
        create_rule(
            session,
            c.user(session, "dispatcher"),
            {"code": "X", "name": "x", "when": {"keywords": ["x"]}, "primary": "cgj"},
        )
    rule = create_rule(
        session, admin, {"code": "X-1", "name": "测试", "when": {"keywords": ["测试词"]}, "primary": "cgj"}
    )
    update_rule(session, admin, "X-1", {"priority": 99}, revision=1)
    with pytest.raises(Conflict):
        update_rule(session, admin, "X-1", {"priority": 98}, revision=1)
    with pytest.raises(InvalidInput):
        update_rule(session, admin, "X-1", {"primary": "nowhere"})
    delete_rule(session, admin, "X-1")
    session.commit()
    history = rule_history(session, "X-1")
    assert [h.action for h in history] == ["delete", "update", "create"]
    assert all(h.changed_by_id == admin.id for h in history)
    assert history[1].before["priority"] == 50 and history[1].after["priority"] == 99 and rule.revision == 2
    assert catalogue_version(session) == v0 + 3


def test_export_import_round_trip(city: Ctx) -> None:
    session, c = city
    admin = c.user(session, "admin")
    text = export_catalogue(session)
    before = session.query(DispatchRuleChange).count()
    assert import_catalogue(session, admin, text)["unchanged"] >= 60
    assert session.query(DispatchRuleChange).count() == before
    smaller = text.replace(
        "priority: 66\n  when:\n    any:\n    - keywords:\n      - 路灯",
        "priority: 67\n  when:\n    any:\n    - keywords:\n      - 路灯",
    )
    assert smaller != text
    result = import_catalogue(session, admin, smaller)
    assert result["updated"] == 1 and result["deleted"] == 0
    with pytest.raises(InvalidInput, match="不存在"):
        import_catalogue(session, admin, "rules:\n- {code: Z, name: z, when: {keywords: [z]}, primary: nope}\n")
    session.rollback()


def test_a_key_written_twice_refuses_the_import_instead_of_dropping_conditions(city: Ctx) -> None:
    session, c = city
    admin = c.user(session, "admin")
    before = export_catalogue(session)
    doubled = (
        "rules:\n- code: Z-1\n  name: 双 none\n  priority: 50\n  when:\n    any:\n    - keywords: [油烟]\n"
        "    none:\n    - keywords: [邻居]\n    none:\n    - keywords: [烧烤摊]\n  primary: sthj\n"
    )
    with pytest.raises(InvalidInput, match="键「none」重复"):
        import_catalogue(session, admin, doubled, replace=False)
    session.rollback()
    assert export_catalogue(session) == before
    with pytest.raises(InvalidInput, match="重复"):
        load_gazetteer(session, "places:\n  dc.hp: {road: [和平路]}\n  dc.hp: {road: [解放路]}\n")
    session.rollback()


def test_decisions_are_append_only(city: Ctx) -> None:
    session, c = city
    t = register(session, c, "路灯不亮", "桃山路路灯不亮。", "东城区东湖街道桃山路")
    decision = latest(session, t)
    decision.outcome = "changed"
    with pytest.raises(PermissionError):
        session.flush()
    session.rollback()
    assert session.scalar(select(DispatchCoordination.id)) is None


def _stored(department: list[tuple[str, float]]) -> dict[str, object]:
    """A prediction as registration stores it on the ticket (``Prediction.to_dict()``)."""
    return {
        "model_version": "center-history-1",
        "category": {"top": [{"label": "其他", "score": 0.9}], "abstained": False},
        "department": {"top": [{"label": d, "score": s} for d, s in department], "abstained": False},
    }


def test_a_model_trained_on_our_history_stops_a_rule_it_disagrees_with(city: Ctx) -> None:
    session, _c = city
    set_setting(session, "use_classifier", True)
    title, content, address = "小区停水", "家里从早上开始停水了。", "东城区和平街道新苑小区5栋"
    plain = propose(session, Appeal(title, content, address))
    assert plain.auto and plain.proposals[0].primary.code == "swjt"
    # Our own codes (a model trained on this center's dispatch history), sure of another department:
    doubted = propose(session, Appeal(title, content, address, classification=_stored([("gaj", 0.8), ("swjt", 0.1)])))
    assert not doubted.auto and doubted.proposals[0].primary.code == "swjt"
    assert any("与派单目录不一致" in r for r in doubted.proposals[0].reasons)
    assert "gaj" in [p.primary.code for p in doubted.proposals[:3]]
    # Not sure enough, or agreeing: the rule's 直派 stands.
    for opinion in ([("gaj", 0.55)], [("swjt", 0.9)]):
        kept = propose(session, Appeal(title, content, address, classification=_stored(opinion)))
        assert kept.auto, opinion
    # Our exact department names count too; a generic model's names ("公安局") only propose.
    by_name = propose(session, Appeal(title, content, address, classification=_stored([("市公安局", 0.8)])))
    assert not by_name.auto
    generic = propose(session, Appeal(title, content, address, classification=_stored([("公安局", 0.95)])))
    assert generic.auto and generic.proposals[0].primary.code == "swjt"
    # The setting turns it off.
    set_setting(session, "classifier_veto", 0)
    assert propose(session, Appeal(title, content, address, classification=_stored([("gaj", 0.8)]))).auto


def test_the_fallback_is_not_dispatched_blindly_against_a_sure_history_model(city: Ctx) -> None:
    session, _c = city
    set_setting(session, "use_classifier", True)
    title, content, address = "想问一件事", "这个事情不知道该找谁。", "西城区"
    unsure = propose(session, Appeal(title, content, address, classification=_stored([("mzj", 0.4)])))
    assert unsure.auto and unsure.proposals[0].source == "fallback"  # below classifier_veto (0.6): no doubt
    doubted = propose(session, Appeal(title, content, address, classification=_stored([("mzj", 0.62)])))
    assert not doubted.auto
    assert [p.primary.code for p in doubted.proposals[:2]] == ["xc", "mzj"]
