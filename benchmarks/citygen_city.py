"""The generated city (benchmarks/citygen.py): its departments, people, appeals and each ticket's
walk through the lifecycle, and its calls. Words and templates are in citygen.yaml."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class CityShape:
    tickets: int = 1_000_000
    calls: int = 3_000_000
    days: int = 365
    end: datetime = field(default_factory=lambda: datetime.now(UTC))
    districts: int = 12
    streets: int = 10  # per district
    communities: int = 8  # per street
    bureaus: int = 30
    agents: int = 150
    seed: int = 14
    password: str = "citygen-password"
    chunk: int = 50_000
    # Each ticket's full-text search document (hotline/fulltext.py: jieba, ≈1–2 ms a ticket on one
    # core), when the schema has the column; off for benchmarks that do not search.
    search_documents: bool = True


# ---------------------------------------------------------------- the vocabulary of the city

VOCABULARY = yaml.safe_load((Path(__file__).with_name("citygen.yaml")).read_text(encoding="utf-8"))
DISTRICT_NAMES: list[str] = VOCABULARY["districts"]
BUREAUS: list[tuple[str, str, str]] = [tuple(b) for b in VOCABULARY["bureaus"]]
CATEGORIES: list[tuple[str, int]] = [tuple(c) for c in VOCABULARY["categories"]]
ROAD_WORDS: list[str] = VOCABULARY["road_words"]
ROAD_KINDS: list[str] = VOCABULARY["road_kinds"]
COMPOUND_WORDS: list[str] = VOCABULARY["compound_words"]
COMPOUND_KINDS: list[str] = VOCABULARY["compound_kinds"]
SURNAMES: str = VOCABULARY["surnames"]
MATTERS: dict[str, list[tuple[str, str]]] = {k: [tuple(m) for m in v] for k, v in VOCABULARY["matters"].items()}
OPENINGS: list[str] = VOCABULARY["openings"]
CLOSINGS: list[str] = VOCABULARY["closings"]


@dataclass
class Org:
    dept_rows: list[tuple[Any, ...]] = field(default_factory=list)
    bureaus: list[tuple[int, str]] = field(default_factory=list)  # (id, 业务领域)
    districts: list[int] = field(default_factory=list)
    streets: list[int] = field(default_factory=list)
    communities: list[int] = field(default_factory=list)
    district_of: dict[int, int] = field(default_factory=dict)
    district_name: dict[int, str] = field(default_factory=dict)
    places: dict[int, list[str]] = field(default_factory=dict)  # street/community → place names
    roads: dict[int, list[str]] = field(default_factory=dict)  # district → roads
    handler: dict[int, int] = field(default_factory=dict)  # department → handler user id
    parent_of: dict[int, int] = field(default_factory=dict)
    bureaus_by_category: dict[str, list[int]] = field(default_factory=dict)
    hotline_id: int = 1


@dataclass
class People:
    agents: list[tuple[int, str, str]] = field(default_factory=list)  # (user id, name, interface)
    dispatchers: list[tuple[int, str]] = field(default_factory=list)
    callback_agents: list[tuple[int, str]] = field(default_factory=list)
    system: tuple[int, str] = (0, "系统")


# ---------------------------------------------------------------- the generator


class City:
    def __init__(self, shape: CityShape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.org = Org()
        self.people = People()
        self.end = shape.end
        from hotline.workcalendar import WorkCalendar

        self.cal = WorkCalendar(tz="Asia/Shanghai")
        self.ids = {"assignment": 0, "event": 0, "extension": 0, "record": 0, "call": 0}
        self.counters: dict[date, int] = {}
        self.hot: list[tuple[str, str, str, int, datetime, datetime]] = []

    # -- deadlines (the default limits of hotline/timelimits.py)
    @lru_cache(maxsize=100_000)  # noqa: B019 - one City per load
    def _wd(self, day: date, n: int) -> datetime:
        start = datetime.combine(day, datetime.min.time(), tzinfo=TZ) + timedelta(hours=12)
        return self.cal.add_working_days(start, n).astimezone(UTC)

    def working_days(self, at: datetime, n: int) -> datetime:
        return self._wd(at.astimezone(TZ).date(), n)

    def reply_limit(self, at: datetime, appeal_type: str, urgency: str) -> datetime:
        if urgency == "critical":
            return at + timedelta(hours=2)
        if urgency == "urgent":
            return at + timedelta(hours=24)
        days = {"consult": 2, "complaint": 15, "report": 15}.get(appeal_type, 10)
        return self.working_days(at, days)

    # -- organisation and people
    def build_org(self) -> None:
        s, rng = self.shape, self.rng
        rows: list[tuple[Any, ...]] = []
        now = self.end - timedelta(days=s.days + 30)
        next_id = 1

        def add(code: str, name: str, level: str, kind: str, parent: tuple[int, str] | None) -> tuple[int, str]:
            nonlocal next_id
            did = next_id
            next_id += 1
            path = f"{parent[1] if parent else '/'}{did}/"
            phone = f"+86170{did:08d}"
            rows.append(
                (
                    did,
                    code,
                    name,
                    level,
                    kind,
                    parent[0] if parent else None,
                    path,
                    f"{name}联络员",
                    phone,
                    "[]",
                    True,
                    now,
                )
            )
            if parent:
                self.org.parent_of[did] = parent[0]
            return did, path

        hotline = add("hotline", "12345政务服务便民热线", "city", "hotline", None)
        self.org.hotline_id = hotline[0]
        for code, name, category in BUREAUS[: s.bureaus]:
            did, _ = add(code, name, "city", "functional", None)
            self.org.bureaus.append((did, category))
            self.org.bureaus_by_category.setdefault(category, []).append(did)
        for d in range(s.districts):
            dname = DISTRICT_NAMES[d % len(DISTRICT_NAMES)] + ("" if d < len(DISTRICT_NAMES) else str(d))
            district = add(f"d{d}", dname, "district", "territorial", None)
            self.org.districts.append(district[0])
            self.org.district_name[district[0]] = dname
            roads = [rng.choice(ROAD_WORDS) + rng.choice(ROAD_KINDS) for _ in range(s.streets * 3)]
            self.org.roads[district[0]] = list(dict.fromkeys(roads))
            for st in range(s.streets):
                word = rng.choice(ROAD_WORDS)
                street = add(f"d{d}.s{st}", f"{word}街道", "street", "territorial", district)
                self.org.streets.append(street[0])
                self.org.district_of[street[0]] = district[0]
                street_places = []
                for c in range(s.communities):
                    cword = rng.choice(COMPOUND_WORDS)
                    community = add(f"d{d}.s{st}.c{c}", f"{cword}社区", "community", "territorial", street)
                    self.org.communities.append(community[0])
                    self.org.district_of[community[0]] = district[0]
                    compounds = [cword + rng.choice(COMPOUND_KINDS) for _ in range(2)]
                    self.org.places[community[0]] = compounds
                    street_places.extend(compounds)
                self.org.places[street[0]] = street_places
        self.org.dept_rows = rows

    def user_rows(self) -> list[tuple[Any, ...]]:
        from hotline.auth import hash_password

        hashed = hash_password(self.shape.password)
        since = self.end - timedelta(days=self.shape.days + 30)
        rows: list[tuple[Any, ...]] = []
        uid = 0

        def add(username: str, name: str, role: str, dept: int | None, extension: str | None = None) -> int:
            nonlocal uid
            uid += 1
            rows.append((uid, username, name, hashed, role, dept, extension, None, None, True, since))
            return uid

        system = add("system", "系统", "admin", None)
        self.people.system = (system, "系统")
        add("admin", "系统管理员", "admin", None)
        for i in range(5):
            add(f"supervisor{i}", f"督办员{i}", "supervisor", self.org.hotline_id)
        for i in range(10):
            self.people.dispatchers.append(
                (add(f"dispatcher{i}", f"派单员{i}", "dispatcher", self.org.hotline_id), f"派单员{i}")
            )
        for i in range(20):
            self.people.callback_agents.append(
                (add(f"callback{i}", f"回访员{i}", "callback_agent", self.org.hotline_id), f"回访员{i}")
            )
        for i in range(self.shape.agents):
            iface = f"Local/{8001 + i}@hotline-agents/n"
            self.people.agents.append(
                (add(f"agent{i}", f"话务员{i}", "agent", self.org.hotline_id, iface), f"话务员{i}", iface)
            )
        for row in self.org.dept_rows:
            did, code, name, level, kind = row[:5]
            if kind == "hotline":
                continue
            self.org.handler[did] = add(f"h.{code}", f"{name}承办人", "dept_handler", did)
            if level in ("district", "city"):
                add(f"head.{code}", f"{name}负责人", "dept_head", did)
        return rows

    # -- times
    def creation_times(self, n: int) -> list[datetime]:
        """``n`` moments over the period: weekdays busier than weekends, office hours busiest."""
        rng, s = self.rng, self.shape
        hours = [1, 0.5, 0.3, 0.3, 0.4, 0.8, 2, 4, 8, 10, 10, 9, 6, 7, 9, 9, 8, 7, 5, 4, 3.5, 3, 2, 1.5]
        first_day = (self.end - timedelta(days=s.days)).astimezone(TZ).date()
        days = [first_day + timedelta(days=i) for i in range(s.days + 1)]
        weights = [0.7 if d.weekday() >= 5 else 1.0 for d in days]
        picked_days = rng.choices(days, weights=weights, k=n)
        picked_hours = rng.choices(range(24), weights=hours, k=n)
        out = []
        for d, h in zip(picked_days, picked_hours, strict=True):
            moment = datetime(d.year, d.month, d.day, h, tzinfo=TZ) + timedelta(seconds=rng.randrange(3600))
            out.append(min(moment.astimezone(UTC), self.end - timedelta(seconds=30)))
        out.sort()
        return out

    def number(self, at: datetime) -> str:
        day = at.astimezone(TZ).date()
        self.counters[day] = self.counters.get(day, 0) + 1
        return f"{day:%Y%m%d}-{self.counters[day]:06d}"

    # -- text
    def hot_matters(self, times: list[datetime]) -> None:
        """A few matters that many citizens raise about one place within a week or two."""
        rng = self.rng
        n = max(3, self.shape.tickets // 20_000)
        for _ in range(n):
            category = rng.choice(["环境保护", "城乡建设", "住房", "城市管理", "公用事业(水电气热)"])
            title, _text = rng.choice(MATTERS[category])
            community = rng.choice(self.org.communities)
            place = rng.choice(self.org.places[community])
            start = rng.choice(times)
            self.hot.append((category, title, place, community, start, start + timedelta(days=rng.randint(5, 14))))

    def appeal_text(self, at: datetime) -> tuple[str, str, str, str, int | None]:
        """(title, content, category, address, community) for an appeal registered at ``at``."""
        rng = self.rng
        for category, title, place, community, start, stop in self.hot:
            if start <= at <= stop and rng.random() < 0.08:
                text = dict(MATTERS[category])[title]
                return self._fill(title, text, place, community, category)
        category = rng.choices([c for c, _ in CATEGORIES], weights=[w for _, w in CATEGORIES])[0]
        title, text = rng.choice(MATTERS[category])
        community = rng.choice(self.org.communities)
        return self._fill(title, text, rng.choice(self.org.places[community]), community, category)

    def _fill(self, title: str, text: str, place: str, community: int, category: str) -> tuple[str, str, str, str, int]:
        rng = self.rng
        district = self.org.district_of[community]
        roads = self.org.roads[district]
        slots = {
            "p": place,
            "r": rng.choice(roads),
            "r2": rng.choice(roads),
            "d": self.org.district_name[district],
            "n": str(rng.randint(2, 60)),
        }
        content = rng.choice(OPENINGS) + text.format(**slots) + rng.choice(CLOSINGS)
        address = f"{slots['d']}{slots['r']}{rng.randint(1, 300)}号{place}"
        return title.format(**slots), content, category, address, community

    # -- one ticket's life
    def ticket(self, tid: int, at: datetime, citizen_id: int, open_ids: list[int]) -> dict[str, Any]:
        """A ticket and everything it wrote, walked as far as its age allows."""
        rng = self.rng
        title, content, category, address, community = self.appeal_text(at)
        channel = rng.choices(
            ["phone", "web", "wechat", "app", "grid", "transfer_110", "province"], weights=[42, 12, 20, 10, 10, 2, 4]
        )[0]
        appeal_type = rng.choices(
            ["consult", "help", "complaint", "report", "suggestion", "praise", "other"],
            weights=[35, 18, 27, 5, 8, 2, 5],
        )[0]
        urgency = rng.choices(["normal", "urgent", "critical"], weights=[93, 6, 1])[0]
        agent = rng.choice(self.people.agents)
        t: dict[str, Any] = {
            "id": tid,
            "number": self.number(at),
            "channel": channel,
            "status": "registered",
            "citizen_id": citizen_id,
            "contact_name": rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
            "address": address,
            "title": title,
            "content": content,
            "appeal_type": appeal_type,
            "category": category,
            "urgency": urgency,
            "confidential": rng.random() < 0.01,
            "enterprise": rng.random() < 0.03,
            "source_call_id": None,
            "primary_department_id": None,
            "sign_due": None,
            "reply_due": None,
            "return_due": None,
            "callback_due": None,
            "dispatched_at": None,
            "signed_at": None,
            "replied_at": None,
            "closed_at": None,
            "extension_count": 0,
            "repeat_count": 0,
            "reopen_count": 0,
            "return_count": 0,
            "merged_into_id": None,
            "resolution": None,
            "transfer_target": None,
            "answer_text": None,
            "handling_text": None,
            "public_answer": None,
            "resolved": None,
            "satisfaction": None,
            "service_satisfaction": None,
            "callback_resolved": None,
            "escalation_level": 0,
            "classification": {"model_version": "citygen"},
            "created_by_id": agent[0],
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }
        life = Life(self, t, community)
        life.event(at, agent, "register", None, f"{appeal_type}，渠道 {channel}", {"after": {"category": category}})
        life.walk(agent, open_ids)
        return life.out()


class Life:
    """One ticket walking the lifecycle; every step checks the clock has reached it."""

    def __init__(self, city: City, t: dict[str, Any], community: int | None) -> None:
        self.city, self.t, self.community = city, t, community
        self.rng = city.rng
        self.events: list[tuple[Any, ...]] = []
        self.assignments: list[tuple[Any, ...]] = []
        self.extensions: list[tuple[Any, ...]] = []
        self.records: list[tuple[Any, ...]] = []
        self.version = 1
        self.primary: int | None = None
        self.primary_assignment: int | None = None

    def out(self) -> dict[str, Any]:
        self.t["version"] = self.version
        return {
            "ticket": self.t,
            "events": self.events,
            "assignments": self.assignments,
            "extensions": self.extensions,
            "records": self.records,
        }

    def event(
        self, at: datetime, actor: tuple[Any, ...] | None, action: str, before: str | None, note: str | None, data: dict
    ) -> None:
        self.city.ids["event"] += 1
        actor_id, actor_name = (actor[0], actor[1]) if actor else (None, "系统")
        self.events.append(
            (
                self.city.ids["event"],
                self.t["id"],
                at,
                actor_id,
                actor_name,
                action,
                before,
                self.t["status"],
                note,
                data,
            )
        )
        self.t["updated_at"] = at
        self.version += 1

    def deadlines(self) -> dict[str, str | None]:
        t = self.t
        return {
            k: (t[k].isoformat() if t[k] else None) for k in ("sign_due", "reply_due", "return_due", "callback_due")
        }

    def due(self, at: datetime) -> bool:
        return at <= self.city.end

    def assign(self, at: datetime, department: int, dispatcher: tuple[Any, ...]) -> None:
        for i, row in enumerate(self.assignments):
            if row[4] != "withdrawn":
                self.assignments[i] = (*row[:4], "withdrawn", *row[5:])
        self.city.ids["assignment"] += 1
        self.primary_assignment = self.city.ids["assignment"]
        self.assignments.append(
            (
                self.primary_assignment,
                self.t["id"],
                department,
                "primary",
                "dispatched",
                None,
                dispatcher[0],
                at,
                None,
                None,
            )
        )
        self.primary = department

    def set_assignment(self, status: str, signed_at: datetime | None) -> None:
        for i, row in enumerate(self.assignments):
            if row[0] == self.primary_assignment:
                signer = self.city.org.handler.get(row[2]) if signed_at else None
                self.assignments[i] = (*row[:4], status, row[5], row[6], row[7], signed_at, signer)

    def route_to(self, at: datetime, department: int) -> None:
        t = self.t
        t["primary_department_id"] = department
        t["status"] = "dispatched"
        t["dispatched_at"] = at
        t["signed_at"] = None
        t["sign_due"] = at + timedelta(hours=1)
        t["reply_due"] = self.city.reply_limit(at, t["appeal_type"], t["urgency"])
        t["return_due"] = self.city.working_days(at, 2)

    def pick_department(self, not_this: int | None = None) -> int:
        rng, org = self.rng, self.city.org
        while True:
            r = rng.random()
            bureau = org.bureaus_by_category.get(self.t["category"])
            if r < 0.35 and bureau:
                dept = rng.choice(bureau)
            elif r < 0.45:
                dept = rng.choice(org.bureaus)[0]
            elif r < 0.8 and self.community is not None:
                # the street of the place (its parent), or the community itself
                dept = self.community if rng.random() < 0.3 else self._street_of(self.community)
            else:
                dept = org.district_of.get(self.community or 0) or rng.choice(org.districts)
            if dept != not_this:
                return dept

    def _street_of(self, community: int) -> int:
        return self.city.org.parent_of.get(community, community)

    def walk(self, agent: tuple[Any, ...], open_ids: list[int]) -> None:
        rng, t, city = self.rng, self.t, self.city
        at = t["created_at"] + timedelta(seconds=rng.randint(60, 600))
        if not self.due(at):
            return
        route = rng.random()
        direct_share = {"consult": 0.8, "praise": 0.9, "other": 0.5}.get(t["appeal_type"], 0.25)
        if route < direct_share:
            t.update(status="closed", resolution="direct", answer_text="已根据知识库当场答复。", closed_at=at)
            self.event(at, agent, "answer_directly", "registered", t["answer_text"], {})
            return
        route = rng.random()
        if route < 0.03:
            t.update(
                status="not_accepted",
                resolution="not_accepted",
                answer_text="已进入诉讼、仲裁、信访等程序",
                closed_at=at,
            )
            self.event(at, agent, "reject_intake", "registered", t["answer_text"], {"reason": "in_litigation"})
            return
        if route < 0.05:
            t.update(status="transferred", resolution="transferred", transfer_target="110", closed_at=at)
            self.event(at, agent, "transfer_emergency", "registered", None, {"target": "110"})
            return
        dispatcher = rng.choice(city.people.dispatchers)
        if route < 0.09 and open_ids:
            into = rng.choice(open_ids[-200:])
            t.update(status="merged", merged_into_id=into, closed_at=at)
            self.event(at, agent, "merge", "registered", None, {"into_ticket_id": into})
            return
        # 派单
        at += timedelta(seconds=rng.randint(60, 900))
        if not self.due(at):
            return
        department = self.pick_department()
        self.assign(at, department, dispatcher)
        self.route_to(at, department)
        data = {
            "primary_department_id": department,
            "assist_department_ids": [],
            "deadlines": self.deadlines(),
            "reasons": {},
        }
        self.event(at, dispatcher, "dispatch", "registered", None, data)
        open_ids.append(t["id"])
        self.handle(at, dispatcher)
        self.escalate()

    def handle(self, at: datetime, dispatcher: tuple[Any, ...], round_: int = 0) -> None:
        """签收 (or 退单), 延期, 回复, 审核, 回访, 办结 or 重办, from a dispatch at ``at``."""
        rng, t, city = self.rng, self.t, self.city
        handler = (city.org.handler.get(self.primary or 0, 0), "承办人")
        # 签收, or 退单 (3%: 70% 改派, 30% 驳回 then signed)
        if round_ == 0 and rng.random() < 0.03:
            at += timedelta(minutes=rng.randint(10, 120))
            if not self.due(at):
                return
            before = t["status"]
            t.update(status="returned", sign_due=None, return_due=None, return_count=t["return_count"] + 1)
            self.event(
                at,
                handler,
                "return",
                before,
                "非本单位职责",
                {"reason": "not_our_duty", "department_id": self.primary, "return_count": t["return_count"]},
            )
            at += timedelta(minutes=rng.randint(10, 240))
            if not self.due(at):
                return
            if rng.random() < 0.7:
                previous = self.primary
                department = self.pick_department(not_this=previous)
                self.assign(at, department, dispatcher)
                self.route_to(at, department)
                data: dict[str, Any] = {
                    "from_department_id": previous,
                    "primary_department_id": department,
                    "assist_department_ids": [],
                    "deadlines": self.deadlines(),
                    "reasons": {},
                }
                self.event(at, dispatcher, "accept_return", "returned", None, data)
            else:
                t.update(status="dispatched", sign_due=at + timedelta(hours=1), return_due=city.working_days(at, 2))
                self.set_assignment("dispatched", None)
                self.event(
                    at,
                    dispatcher,
                    "reject_return",
                    "returned",
                    "属于本单位职责",
                    {"department_id": self.primary, "deadlines": self.deadlines()},
                )
            handler = (city.org.handler.get(self.primary or 0, 0), "承办人")
        late_sign = rng.random() < 0.06
        at += timedelta(minutes=rng.randint(61, 300) if late_sign else rng.randint(2, 55))
        if not self.due(at):
            return
        t.update(status="in_progress", signed_at=at, sign_due=None)
        self.set_assignment("signed", at)
        self.event(at, handler, "sign", "dispatched", None, {"department_id": self.primary, "role": "primary"})
        # 延期 (4%), granted
        span = t["reply_due"] - t["dispatched_at"]
        if rng.random() < 0.04 and span > timedelta(days=2):
            asked = at + span * rng.uniform(0.3, 0.7)
            if not self.due(asked):
                return
            days = rng.randint(3, 10)
            city.ids["extension"] += 1
            before_due = t["reply_due"]
            t["reply_due"] = city.working_days(max(before_due, asked), days)
            t["extension_count"] += 1
            self.extensions.append(
                (
                    city.ids["extension"],
                    t["id"],
                    handler[0],
                    asked,
                    days,
                    "需协调多个部门",
                    "approved",
                    dispatcher[0],
                    asked + timedelta(hours=2),
                    None,
                    t["reply_due"],
                )
            )
            self.event(
                asked,
                handler,
                "request_extension",
                "in_progress",
                "需协调多个部门",
                {"extension_request_id": city.ids["extension"], "working_days": days},
            )
            self.event(
                asked + timedelta(hours=2),
                dispatcher,
                "approve_extension",
                "in_progress",
                None,
                {
                    "extension_request_id": city.ids["extension"],
                    "before": {"reply_due": before_due.isoformat()},
                    "after": {"reply_due": t["reply_due"].isoformat()},
                },
            )
            at = asked + timedelta(hours=2)
        # 回复: 88% within the limit
        total = t["reply_due"] - t["dispatched_at"]
        share = rng.uniform(0.1, 0.95) if rng.random() < 0.88 else rng.uniform(1.02, 1.6)
        replied = t["dispatched_at"] + total * share
        if replied <= at:
            replied = at + timedelta(hours=1)
        if not self.due(replied):
            return
        resolved = rng.random() < 0.85
        on_time = replied <= t["reply_due"]
        t.update(
            status="replied",
            replied_at=replied,
            handling_text="已联系诉求人并现场处理。",
            public_answer="经核查，已处理。",
            resolved=resolved,
        )
        self.set_assignment("replied", t["signed_at"])
        self.event(
            replied,
            handler,
            "reply",
            "in_progress",
            "已联系诉求人并现场处理。",
            {"resolved": resolved, "on_time": on_time},
        )
        # 审核: 2% 补办
        reviewed = replied + timedelta(hours=rng.uniform(0.5, 20))
        if not self.due(reviewed):
            return
        if rng.random() < 0.02:
            t["status"] = "in_progress"
            self.event(
                reviewed,
                dispatcher,
                "send_back_reply",
                "replied",
                "答复内容不完整，请补充",
                {"deadlines": self.deadlines()},
            )
            replied = reviewed + timedelta(hours=rng.uniform(2, 30))
            if not self.due(replied):
                return
            t.update(status="replied", replied_at=replied)
            self.event(
                replied,
                handler,
                "reply",
                "in_progress",
                "已补充办理情况。",
                {"resolved": resolved, "on_time": replied <= t["reply_due"]},
            )
            reviewed = replied + timedelta(hours=rng.uniform(0.5, 20))
            if not self.due(reviewed):
                return
        t.update(
            status="awaiting_callback", callback_due=city.working_days(reviewed, 1), sign_due=None, return_due=None
        )
        self.event(reviewed, dispatcher, "accept_reply", "replied", None, {"deadlines": self.deadlines()})
        # 回访: 90% answered the working day after
        surveyed = reviewed + timedelta(hours=rng.uniform(16, 40))
        if not self.due(surveyed):
            return
        cb_agent = rng.choice(city.people.callback_agents)
        if rng.random() < 0.1:
            self.close(surveyed + timedelta(days=2), cb_agent, "awaiting_callback", "多次联系不上")
            return
        sat = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], weights=[78, 14, 8])[0]
        if round_ > 0:
            sat = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], weights=[70, 22, 8])[0]
        said_resolved = rng.random() < {"satisfied": 0.95, "basically_satisfied": 0.8, "unsatisfied": 0.3}[sat]
        service = rng.choices(["satisfied", "basically_satisfied", "unsatisfied", None], weights=[60, 9, 2, 29])[0]
        t.update(
            status="callback_done",
            satisfaction=sat,
            callback_resolved=said_resolved,
            service_satisfaction=service,
            callback_due=None,
        )
        self.event(
            surveyed,
            cb_agent,
            "record_callback",
            "awaiting_callback",
            None,
            {
                "satisfaction": sat,
                "resolved": said_resolved,
                "service_satisfaction": service,
                "method": rng.choice(["ivr", "sms", "agent"]),
            },
        )
        # 不满意 and 未解决: 重办 (once), else 办结
        if sat == "unsatisfied" and not said_resolved and round_ == 0 and rng.random() < 0.7:
            reopened = surveyed + timedelta(minutes=rng.randint(5, 120))
            if not self.due(reopened):
                return
            t["reopen_count"] += 1
            t.update(closed_at=None, resolution=None)
            self.route_to(reopened, self.primary or 0)
            self.set_assignment("dispatched", None)
            self.event(
                reopened,
                cb_agent,
                "reopen",
                "callback_done",
                "诉求人不满意，问题未解决",
                {"reopen_count": t["reopen_count"], "satisfaction": sat, "deadlines": self.deadlines()},
            )
            self.handle(reopened, dispatcher, round_ + 1)
            return
        self.close(surveyed + timedelta(minutes=rng.randint(1, 60)), cb_agent, "callback_done", None)

    def close(self, at: datetime, actor: tuple[Any, ...], before: str, note: str | None) -> None:
        """办结 (after the 回访, or without one when the citizen could not be reached)."""
        if not self.due(at):
            return
        self.t.update(
            status="closed",
            resolution="handled",
            closed_at=at,
            sign_due=None,
            reply_due=None,
            return_due=None,
            callback_due=None,
        )
        self.event(at, actor, "close", before, note, {})

    def escalate(self) -> None:
        """The level the escalation ladder would have reached on a late open ticket, with its records."""
        t, city = self.t, self.city
        if t["status"] not in ("dispatched", "in_progress") or t["reply_due"] is None:
            return
        late = city.end - t["reply_due"]
        if late <= timedelta(0):
            return
        days = late.days
        level = 5 if days >= 14 else 4 if days >= 7 else 3 if days >= 3 else 2
        t["escalation_level"] = level
        trigger = {2: "reply_overdue", 3: "overdue_2wd", 4: "overdue_5wd", 5: "overdue_10wd"}
        for lv in range(1, level + 1):
            city.ids["record"] += 1
            when = t["reply_due"] + timedelta(days={1: -2, 2: 0, 3: 3, 4: 7, 5: 14}[lv])
            self.records.append(
                (
                    city.ids["record"],
                    t["id"],
                    "escalation",
                    lv,
                    "deadline",
                    f"reply@{t['reply_due'].isoformat()}",
                    trigger.get(lv, "reply_80pct"),
                    when,
                    self.primary,
                    lv - 1,
                    lv,
                    "[]",
                    "{}",
                    None,
                    None,
                    None,
                    when,
                )
            )


# ---------------------------------------------------------------- calls


def _wait_seconds(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.78:
        return rng.randint(0, 15)
    if r < 0.96:
        return rng.randint(16, 60)
    return rng.randint(61, 300)


def call_row(city: City, started: datetime, phone: str, *, answered: bool, ended: bool = True) -> tuple[Any, ...]:
    rng = city.rng
    city.ids["call"] += 1
    cid = city.ids["call"]
    agent = rng.choice(city.people.agents)
    wait = _wait_seconds(rng) if answered else min(600, int(rng.expovariate(1 / 35)))
    talk = max(20, int(rng.lognormvariate(5.2, 0.6))) if answered else None
    queued = started + timedelta(seconds=rng.randint(1, 4))
    answered_at = queued + timedelta(seconds=wait) if answered else None
    ended_at = (
        (answered_at + timedelta(seconds=talk or 0) if answered_at else queued + timedelta(seconds=wait))
        if ended
        else None
    )
    status = "ended" if ended else ("connected" if answered else "queued")
    return (
        cid, f"gen-{cid}", status, phone[3:], phone, "12345", "hotline", started, queued, queued if answered else None,
        answered_at, ended_at, agent[2] if answered else None, agent[1] if answered else None,
        agent[0] if answered else None, 1 if answered else 0, ("caller" if answered else None) if ended else None,
        wait if ended or answered else None, talk if ended else None, answered, ended and not answered, False,
        started, ended_at or started,
    )  # fmt: skip
