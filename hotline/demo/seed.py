"""Demo data: the 示范市 organisation, one login per role, and tickets in every stage.

Passwords are generated at seed time (or taken from HOTLINE_DEMO_PASSWORD) and written to the
data directory, never to the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.yamlfile import load_yaml
from hotline import lifecycle
from hotline.enums import AppealType, Channel, DepartmentKind, DepartmentLevel, Role, Satisfaction, Urgency
from hotline.models import Department, Ticket, User
from hotline.orgs import create_department, create_user, get_system_user
from hotline.timelimits import ensure_default_policies

ORG_FILE = Path(__file__).with_name("org.yaml")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    department_code: str | None = None
    extension: str | None = None


DEMO_LOGINS = [
    DemoLogin("admin", "系统管理员", Role.admin),
    DemoLogin("agent1", "话务员 李晓", Role.agent, "hotline", "8001"),
    DemoLogin("agent2", "话务员 王敏", Role.agent, "hotline", "8002"),
    DemoLogin("agent3", "话务员 张静", Role.agent, "hotline", "8003"),
    DemoLogin("dispatcher", "派单员 赵强", Role.dispatcher, "hotline"),
    DemoLogin("callback", "回访员 钱丽", Role.callback_agent, "hotline"),
    DemoLogin("supervisor", "督办员 孙伟", Role.supervisor, "hotline"),
    DemoLogin("zjj", "住建局联络员 王建国", Role.dept_handler, "zjj"),
    DemoLogin("cgj", "城管局联络员 朱城", Role.dept_handler, "cgj"),
    DemoLogin("sthj", "生态环境局联络员 赵清", Role.dept_handler, "sthj"),
    DemoLogin("dc", "东城区联络员 陶东", Role.dept_head, "dc"),
    DemoLogin("dc_hp", "和平街道办 刘平", Role.dept_handler, "dc.hp"),
    DemoLogin("dc_hp_xy", "新苑社区 周心", Role.dept_handler, "dc.hp.xy"),
]


def load_org(session: Session, path: Path = ORG_FILE) -> dict[str, Department]:
    """Create the departments of the org file that do not exist yet; return all by code."""
    data: dict[str, Any] = load_yaml(path.read_text(encoding="utf-8"))
    by_code = {d.code: d for d in session.scalars(select(Department))}

    def ensure(
        code: str,
        name: str,
        level: DepartmentLevel,
        kind: DepartmentKind,
        parent: Department | None,
        liaison: str | None = None,
    ) -> Department:
        if code not in by_code:
            by_code[code] = create_department(
                session,
                code=code,
                name=name,
                level=level,
                kind=kind,
                parent_id=parent.id if parent else None,
                liaison_name=liaison,
            )
        return by_code[code]

    for entry in data["city"]:
        ensure(
            entry["code"],
            entry["name"],
            DepartmentLevel.city,
            DepartmentKind(entry["kind"]),
            None,
            entry.get("liaison"),
        )
    for district in data["districts"]:
        d = ensure(
            district["code"],
            district["name"],
            DepartmentLevel.district,
            DepartmentKind.territorial,
            None,
            district.get("liaison"),
        )
        for street in district["streets"]:
            s = ensure(street["code"], street["name"], DepartmentLevel.street, DepartmentKind.territorial, d)
            for community in street["communities"]:
                ensure(community["code"], community["name"], DepartmentLevel.community, DepartmentKind.territorial, s)
    return by_code


def demo_password() -> str:
    # Generated: upper and lower case, a digit and a dash (the rules of hotline/passwords.py).
    return os.environ.get("HOTLINE_DEMO_PASSWORD") or f"Demo-{secrets.token_hex(4)}-{secrets.randbelow(10)}"


def department_login(dept: Department) -> DemoLogin:
    """The login of a department the named logins above do not cover: its code (dots as
    underscores) as the user name, a 承办单位 handler (联络员)."""
    who = f" {dept.liaison_name}" if dept.liaison_name else ""
    return DemoLogin(dept.code.replace(".", "_"), f"{dept.name}联络员{who}", Role.dept_handler, dept.code)


def demo_logins(departments: dict[str, Department]) -> list[DemoLogin]:
    """Every demo login: the named ones, then one for each department that has none (all but
    the 12345 center, whose people are the named logins)."""
    covered = {login.department_code for login in DEMO_LOGINS}
    extra = [
        department_login(dept)
        for code, dept in sorted(departments.items())
        if code not in covered and dept.kind != DepartmentKind.hotline
    ]
    return [*DEMO_LOGINS, *extra]


def seed_users(session: Session, departments: dict[str, Department], password: str) -> list[DemoLogin]:
    created = []
    for login in demo_logins(departments):
        if session.scalar(select(User.id).where(User.username == login.username)) is not None:
            continue
        dept = departments[login.department_code] if login.department_code else None
        create_user(
            session,
            username=login.username,
            display_name=login.display_name,
            password=password,
            role=login.role,
            department_id=dept.id if dept else None,
            extension=login.extension,
        )
        created.append(login)
    get_system_user(session)
    return created


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None, username
    return user


DEMO_APPEALS: list[dict[str, Any]] = [
    dict(
        title="小区楼下烧烤店夜间噪音扰民",
        content="和平路88号新苑小区楼下烧烤店每天营业到凌晨两点，油烟和噪音严重影响休息，多次协商无果。",
        appeal_type=AppealType.complaint,
        category="环境保护",
        address="东城区和平街道和平路88号新苑小区",
        phone="13800000001",
        contact_name="张先生",
        stage="closed",
        dept="sthj",
    ),
    dict(
        title="咨询新生儿医保参保办理流程",
        content="孩子刚出生一个月，想咨询新生儿城乡居民医保在哪里办理、需要什么材料。",
        appeal_type=AppealType.consult,
        category="卫生计生",
        phone="13800000002",
        contact_name="李女士",
        stage="direct",
    ),
    dict(
        title="解放路人行道井盖缺失",
        content="解放路与华兴街交叉口东侧人行道上有一个井盖丢失，晚上很危险，已有老人差点摔倒。",
        appeal_type=AppealType.help,
        category="城市管理",
        urgency=Urgency.urgent,
        address="东城区解放街道解放路与华兴街交叉口",
        phone="13800000003",
        contact_name="王先生",
        stage="in_progress",
        dept="cgj",
    ),
    dict(
        title="拖欠农民工工资三个月",
        content="本人在高新区科技城某工地务工，包工头拖欠我们十几个人三个月工资共计约二十万元。",
        appeal_type=AppealType.complaint,
        category="劳动和社会保障",
        address="高新区科技城街道创新大道工地",
        phone="13800000004",
        contact_name="刘师傅",
        stage="dispatched",
        dept="rsj",
        confidential=True,
    ),
    dict(
        title="建议增设公交线路到高新区",
        content="西城区朝阳街道到高新区上班的人很多，目前没有直达公交，建议增开一条早晚高峰线路。",
        appeal_type=AppealType.suggestion,
        category="交通运输",
        phone="13800000005",
        contact_name="陈女士",
        stage="registered",
    ),
    dict(
        title="老旧小区屋顶漏水",
        content="建康街道悦来小区3栋顶楼屋面防水层老化，下雨天家里天花板漏水，希望纳入老旧小区改造。",
        appeal_type=AppealType.help,
        category="城乡建设",
        address="西城区建康街道悦来小区3栋",
        phone="13800000006",
        contact_name="赵阿姨",
        stage="replied",
        dept="zjj",
    ),
    dict(
        title="小区突然停水无通知",
        content="东湖街道滨湖社区从早上八点开始停水，没有任何通知，家里有老人小孩，请尽快恢复供水。",
        appeal_type=AppealType.help,
        category="公用事业(水电气热)",
        urgency=Urgency.urgent,
        address="东城区东湖街道滨湖社区",
        phone="13800000007",
        contact_name="孙先生",
        stage="awaiting_callback",
        dept="swjt",
    ),
    dict(
        title="超市销售过期食品",
        content="西城区朝阳街道锦绣路一家超市货架上有多款过期酸奶仍在销售，要求查处。",
        appeal_type=AppealType.report,
        category="市场监管",
        address="西城区朝阳街道锦绣路",
        phone="13800000008",
        contact_name="周先生",
        stage="returned",
        dept="swj",
    ),
    dict(
        title="感谢社区工作人员帮助独居老人",
        content="新苑社区网格员小周连续一周上门照顾我生病的母亲，特此表扬。",
        appeal_type=AppealType.praise,
        category="民政",
        phone="13800000009",
        contact_name="吴女士",
        stage="registered",
    ),
    dict(
        title="楼道内燃气味很重",
        content="和平街道光明社区5栋2单元楼道里有很重的燃气味，怀疑燃气泄漏，请马上派人处理。",
        appeal_type=AppealType.help,
        category="公用事业(水电气热)",
        urgency=Urgency.critical,
        address="东城区和平街道光明社区5栋2单元",
        phone="13800000010",
        contact_name="郑先生",
        stage="dispatched",
        dept="rqgs",
    ),
]


def _advance(session: Session, ticket: Ticket, stage: str, dept: Department | None) -> None:
    dispatcher = _user(session, "dispatcher")
    callback = _user(session, "callback")
    if stage == "registered":
        return
    if stage == "direct":
        lifecycle.answer_directly(
            session,
            ticket,
            _user(session, "agent1"),
            version=None,
            answer="新生儿可在出生后三个月内持出生医学证明、户口簿到户籍所在地社区或政务服务中心办理参保。",
        )
        return
    assert dept is not None
    lifecycle.dispatch_ticket(session, ticket, dispatcher, version=None, primary_department_id=dept.id)
    if stage == "dispatched":
        return
    handler = session.scalar(select(User).where(User.department_id == dept.id).order_by(User.id))
    if handler is None:  # every demo department has a login (seed_users ran first)
        raise LookupError(f"no login for department {dept.code}")
    if stage == "returned":
        lifecycle.return_ticket(
            session,
            ticket,
            handler,
            version=None,
            reason="not_our_duty",
            note="食品安全监管属市场监督管理部门职责，请改派。",
        )
        return
    lifecycle.sign_ticket(session, ticket, handler, version=None)
    if stage == "in_progress":
        return
    lifecycle.reply_ticket(
        session,
        ticket,
        handler,
        version=None,
        handling="已安排人员现场查看并制定维修方案，近期施工。",
        resolved=True,
        public_answer="您反映的问题已核实，已安排维修，感谢您的监督。",
    )
    if stage == "replied":
        return
    lifecycle.review_reply(session, ticket, dispatcher, version=None, accept=True)
    if stage == "awaiting_callback":
        return
    lifecycle.record_callback(
        session,
        ticket,
        callback,
        version=None,
        satisfaction=Satisfaction.satisfied,
        resolved=True,
        method="agent",
        service_satisfaction=Satisfaction.satisfied,
    )
    lifecycle.close_ticket(session, ticket, callback, version=None)


def seed_tickets(session: Session, departments: dict[str, Department]) -> int:
    if session.scalar(select(Ticket.id).limit(1)) is not None:
        return 0
    agent = _user(session, "agent1")
    for item in DEMO_APPEALS:
        spec = dict(item)
        stage = spec.pop("stage")
        dept_code = spec.pop("dept", None)
        appeal = lifecycle.NewAppeal(channel=Channel.phone, **spec)
        ticket = lifecycle.register_ticket(session, agent, appeal)
        _advance(session, ticket, stage, departments[dept_code] if dept_code else None)
    return len(DEMO_APPEALS)


def seed_demo(session: Session, password: str | None = None) -> dict[str, Any]:
    """Idempotent: fills what is missing and says what it created."""
    ensure_default_policies(session)
    departments = load_org(session)
    password = password or demo_password()
    created = seed_users(session, departments, password)
    tickets = seed_tickets(session, departments)
    session.commit()
    return {
        "departments": len(departments),
        "logins": demo_logins(departments),
        "users_created": [login.username for login in created],
        "password": password if created else None,
        "tickets_created": tickets,
    }
