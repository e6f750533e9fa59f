"""Dispatch fixtures: the whole demo organisation, the shipped catalogue and gazetteer, per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import User
from tests.conftest import PASSWORD, Org

# Department users the dispatch tests act as (username → department code).
DEPT_USERS = {
    "scjg": "scjg",
    "rsj": "rsj",
    "fgj": "fgj",
    "gaj": "gaj",
    "sthj": "sthj",
    "swjt": "swjt",
    "dc_jf": "dc.jf",
    "xq_kj": "xq.kj",
}
_hash: dict[str, str] = {}


@dataclass
class City:
    """The demo city loaded in the test database: department ids by code, users by name."""

    org: Org
    dept: dict[str, int]
    users: dict[str, int]

    def user(self, session: Session, name: str) -> User:
        found = session.get(User, self.users[name])
        assert found is not None
        return found


def load_city(session: Session, org: Org) -> City:
    from dispatch.config import set_setting
    from dispatch.demo import load_demo_data
    from dispatch.events import subscribe
    from hotline.auth import hash_password
    from hotline.demo.seed import load_org

    subscribe()
    depts = {code: d.id for code, d in load_org(session).items()}
    users = dict(org.users)
    if "h" not in _hash:
        _hash["h"] = hash_password(PASSWORD)
    for username, code in DEPT_USERS.items():
        found = session.scalar(select(User).where(User.username == username))
        if found is None:
            found = User(
                username=username,
                display_name=f"{username} 测试",
                password_hash=_hash["h"],
                role="dept_handler",
                department_id=depts[code],
            )
            session.add(found)
            session.flush()
        users[username] = found.id
    load_demo_data(session)
    # Tests see 直派 at once; the hold of agents' tickets has its own test.
    set_setting(session, "agent_hold_seconds", 0)
    # Rules, gazetteer and 兜底 only: classifier/ is another package's moving model (it has its own test).
    set_setting(session, "use_classifier", False)
    # The catalogue's mechanics (precedence, 属地, 兜底, 退单, coordination, repeats) are tested on the
    # rules' own ranking; the learned combination and its calibrated threshold have their own tests
    # (test_confidence.py, with_combiner) and the labelled appeals measure it (test_benchmark.py).
    set_setting(session, "use_combiner", False)
    session.commit()
    return City(org=org, dept=depts, users=users)


@pytest.fixture
def city(db: tuple[Session, Org]) -> Iterator[tuple[Session, City]]:
    session, org = db
    yield session, load_city(session, org)


@pytest.fixture
def pg_city(pg: tuple[Session, Org]) -> Iterator[tuple[Session, City]]:
    session, org = pg
    yield session, load_city(session, org)


def with_combiner(session: Session) -> None:
    """Rank by the shipped learned combination, as a center does by default."""
    from dispatch.config import set_setting

    set_setting(session, "use_combiner", True)
    session.commit()


def route(ticket_id: int) -> str:
    """What the worker does after a registration commits (``dispatch.route_registered``), done here
    in the test's process; tests/integration checks that a real worker does it."""
    from dispatch.routing import route_registered
    from hotline.classification import classify_registered
    from hotline.db import session_scope

    with session_scope() as session:
        classify_registered(session, [ticket_id])
        return route_registered(session, ticket_id)
