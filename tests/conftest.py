"""Shared fixtures: real PostgreSQL and SQLite databases migrated with Alembic, the demo-like org.

PostgreSQL: postgresql+psycopg://postgres@127.0.0.1:5432 (trust auth), a database of our own per
test run. Redis: 127.0.0.1:6379, a database number of our own. `.ci/run` starts both if needed.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

PG_ADMIN_DSN = os.environ.get("HOTLINE_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS", "redis://127.0.0.1:6379/11")
REPO = Path(__file__).resolve().parent.parent
MODEL_REGISTRY_DIR = tempfile.mkdtemp(prefix="hotline-test-models-")


def create_pg_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def use_database(url: str, data_dir: Path, **extra: str) -> None:
    """Point the settings (and every cached engine) at ``url``."""
    from hotline.db import reset_engine_cache
    from hotline.settings import reset_settings_cache

    os.environ["HOTLINE_DATABASE_URL"] = url
    os.environ["HOTLINE_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("HOTLINE_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
    # One model registry for the whole run: loading the model once is what takes time.
    os.environ.setdefault("HOTLINE_CLASSIFIER_MODEL_DIR", MODEL_REGISTRY_DIR)
    for key, value in extra.items():
        os.environ[key] = value
    reset_settings_cache()
    reset_engine_cache()


@dataclass
class Org:
    """The test organisation: ids of departments and the users acting in them."""

    dept: dict[str, int]
    users: dict[str, int]
    password: str


PASSWORD = "correct-horse-battery"


def build_org(session: Session) -> Org:
    from hotline.auth import hash_password
    from hotline.enums import DepartmentKind as K
    from hotline.enums import DepartmentLevel as L
    from hotline.models import User
    from hotline.orgs import create_department, get_system_user
    from hotline.timelimits import ensure_default_policies

    ensure_default_policies(session)
    d: dict[str, int] = {}
    for code, name, level, kind, parent in [
        ("hotline", "12345中心", L.city, K.hotline, None),
        ("zjj", "市住建局", L.city, K.functional, None),
        ("cgj", "市城管局", L.city, K.functional, None),
        ("dc", "东城区", L.district, K.territorial, None),
        ("dc.hp", "和平街道", L.street, K.territorial, "dc"),
        ("dc.hp.xy", "新苑社区", L.community, K.territorial, "dc.hp"),
        ("xc", "西城区", L.district, K.territorial, None),
        ("xc.jk", "建康街道", L.street, K.territorial, "xc"),
    ]:
        d[code] = create_department(
            session, code=code, name=name, level=level, kind=kind, parent_id=d[parent] if parent else None
        ).id
    hashed = hash_password(PASSWORD)  # one argon2 hash for all: keeps the fixture fast
    users: dict[str, int] = {}
    for username, role, dept in [
        ("agent", "agent", "hotline"),
        ("dispatcher", "dispatcher", "hotline"),
        ("callback", "callback_agent", "hotline"),
        ("supervisor", "supervisor", "hotline"),
        ("admin", "admin", None),
        ("zjj", "dept_handler", "zjj"),
        ("cgj", "dept_handler", "cgj"),
        ("dc_head", "dept_head", "dc"),
        ("hp", "dept_handler", "dc.hp"),
        ("xy", "dept_handler", "dc.hp.xy"),
        ("jk", "dept_handler", "xc.jk"),
    ]:
        user = User(
            username=username,
            display_name=f"{username} 测试",
            password_hash=hashed,
            role=role,
            department_id=d[dept] if dept else None,
        )
        session.add(user)
        session.flush()
        users[username] = user.id
    get_system_user(session)
    session.commit()
    return Org(dept=d, users=users, password=PASSWORD)


# Tables emptied between tests; the organisation stays.
PER_TEST_TABLES = [
    "timeline_events",
    "extension_requests",
    "ticket_callers",
    "ticket_assignments",
    "tickets",
    "citizens",
    "ticket_counters",
    "login_failures",
    "calendar_overrides",
    "settings",
]


def clean_tables(session: Session) -> None:
    from hotline.timelimits import ensure_default_policies

    existing = set(
        session.execute(
            text(
                # FTS5 tables (and their shadow tables) follow their content table through triggers
                "SELECT name FROM sqlite_master WHERE type='table' AND NOT EXISTS (SELECT 1 FROM sqlite_master v "
                "WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%' AND sqlite_master.name LIKE v.name || '%')"
                if session.get_bind().dialect.name == "sqlite"
                else "SELECT tablename FROM pg_tables WHERE schemaname='public'"
            )
        ).scalars()
    )
    # Tables other packages add and that point at tickets go first.
    extra = [
        t
        for t in existing
        if t not in PER_TEST_TABLES and t not in {"alembic_version", "departments", "users", "time_limit_policies"}
    ]
    tables = [t for t in PER_TEST_TABLES if t in existing]
    if session.get_bind().dialect.name == "postgresql":
        # timeline_events refuses TRUNCATE (0011_timeline_append_only) unless a superuser lets no
        # ordinary trigger fire, for this transaction only.
        session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(f"TRUNCATE {', '.join(extra + tables)} RESTART IDENTITY CASCADE"))
        session.execute(text("SET LOCAL session_replication_role = origin"))
        session.execute(text("TRUNCATE time_limit_policies RESTART IDENTITY"))
    else:
        # timeline_events refuses DELETE (0017_timeline_append_only_sqlite): its triggers are set
        # aside for this transaction and put back as they were.
        guards = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'timeline_events'")
        ).all()
        for name, _sql in guards:
            session.execute(text(f"DROP TRIGGER {name}"))
        for table in extra + tables + ["time_limit_policies"]:
            session.execute(text(f"DELETE FROM {table}"))
        for _name, sql in guards:
            session.execute(text(sql))
    # Channel clients' own users go with their clients (the test organisation's users stay).
    session.execute(text("DELETE FROM users WHERE role = 'channel'"))
    ensure_default_policies(session)
    session.commit()


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = create_pg_database("hotline_test")
    url = pg_url(name)
    from hotline.migrate import upgrade

    upgrade(url)
    yield url
    from hotline.db import reset_engine_cache

    reset_engine_cache()
    drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'hotline.sqlite3'}"
    from hotline.migrate import upgrade

    upgrade(url)
    return url


_orgs: dict[str, Org] = {}


def _prepare(url: str, data_dir: Path) -> Org:
    from hotline.db import get_sessionmaker

    use_database(url, data_dir)
    session = get_sessionmaker()()
    try:
        if url not in _orgs:
            _orgs[url] = build_org(session)
        clean_tables(session)
    finally:
        session.close()
    return _orgs[url]


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Session, Org]]:
    """A session on each real backend, the org loaded, tickets emptied."""
    from hotline.db import get_sessionmaker

    url = request.getfixturevalue("pg_database" if request.param == "postgresql" else "sqlite_database")
    org = _prepare(url, tmp_path)
    session = get_sessionmaker()()
    yield session, org
    session.close()


@pytest.fixture
def pg(pg_database: str, tmp_path: Path) -> Iterator[tuple[Session, Org]]:
    """PostgreSQL only (HTTP and concurrency tests)."""
    from hotline.db import get_sessionmaker

    org = _prepare(pg_database, tmp_path)
    session = get_sessionmaker()()
    yield session, org
    session.close()


@pytest.fixture
def fresh_passwords(pg: tuple[Session, Org]) -> Iterator[None]:
    """After the test: the organisation's users back to the shared password, active, their tokens
    as issued (version 0), no password change pending."""
    yield
    from sqlalchemy import update

    from hotline.auth import hash_password
    from hotline.models import User

    session, org = pg
    session.rollback()
    session.execute(
        update(User)
        .where(User.id.in_(list(org.users.values())))
        .values(password_hash=hash_password(PASSWORD), active=True, token_version=0, must_change_password=False)
    )
    session.commit()


@pytest.fixture
def web(pg: tuple[Session, Org]) -> Iterator[str]:
    """The app served over HTTP on a free local port (PostgreSQL), for a browser; yields its URL."""
    from tests.browser import serve_app

    with serve_app() as url:
        yield url


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set HOTLINE_* settings for one test: ``env(max_body_bytes="2048")`` (the settings are cached:
    reset around it)."""
    from hotline.settings import reset_settings_cache

    def setenv(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"HOTLINE_{key.upper()}", value)
        reset_settings_cache()

    yield setenv
    monkeypatch.undo()
    reset_settings_cache()


@pytest.fixture
def urgency_rules(pg: tuple[Session, Org]) -> Iterator[Path]:
    """The urgency safety rules file a test may replace (PUT /api/v1/urgency-rules): the run shares
    it (beside its one model registry), and it is not a table the next test's clean-up empties, so
    what it held is put back and reloaded after the test."""
    from hotline import classification

    path = classification.urgency_rules_path()
    kept = path.read_bytes()
    try:
        yield path
    finally:
        path.write_bytes(kept)
        classification.registry().rules.reload()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The run's one headless Chromium (Playwright's sync API runs one event loop per thread: the
    browser tests share it and each opens a context of its own)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def wired() -> None:
    """Every package reacts to ticket events in tests as it does in production."""
    from hotline import wiring

    wiring.install()


def login(client: Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Bearer headers for a user of the test organisation (``client``: a TestClient)."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
