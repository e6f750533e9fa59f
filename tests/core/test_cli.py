"""The admin commands on a database of their own (PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hotline.cli import main
from hotline.db import session_scope
from hotline.models import Department, Ticket, TimeLimitPolicy, User
from tests.conftest import create_pg_database, drop_pg_database, pg_url, use_database


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[Path]:
    name = create_pg_database("hotline_cli")
    use_database(pg_url(name), tmp_path)
    yield tmp_path
    from hotline.db import reset_engine_cache

    reset_engine_cache()
    drop_pg_database(name)


def test_upgrade_seed_and_user_create(fresh_db: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(TimeLimitPolicy)) >= 10

    result = runner.invoke(main, ["seed-demo"], env={"HOTLINE_DEMO_PASSWORD": "demo-pass-123"})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[0])
    assert summary["departments"] >= 40 and summary["tickets_created"] == 10
    assert "demo-pass-123" in result.output
    again = runner.invoke(main, ["seed-demo"])
    assert again.exit_code == 0 and json.loads(again.output.splitlines()[0])["tickets_created"] == 0
    with session_scope() as s:
        levels = dict(s.execute(select(Department.level, func.count()).group_by(Department.level)).all())
        assert set(levels) == {"city", "district", "street", "community"}
        assert s.scalar(select(func.count()).select_from(Ticket)) == 10

    created = runner.invoke(
        main,
        ["user", "create", "--username", "li", "--name", "李四", "--role", "dept_handler", "--department", "zjj"],
        input="A-long-password1\nA-long-password1\n",
    )
    assert created.exit_code == 0, created.output
    unknown = runner.invoke(
        main,
        ["user", "create", "--username", "wang", "--name", "王五", "--role", "dept_handler", "--department", "nowhere"],
        input="A-long-password1\nA-long-password1\n",
    )
    assert unknown.exit_code != 0 and "nowhere" in unknown.output
    duplicate = runner.invoke(
        main,
        ["user", "create", "--username", "li", "--name", "李四", "--role", "agent"],
        input="A-long-password1\nA-long-password1\n",
    )
    assert duplicate.exit_code != 0 and "已存在" in duplicate.output
    with session_scope() as s:
        assert s.scalar(select(User.role).where(User.username == "li")) == "dept_handler"
        assert s.scalar(select(User.id).where(User.username == "wang")) is None


def test_the_classifier_commands_are_mounted() -> None:
    from classifier import DEFAULT_MODEL_DIR

    result = CliRunner().invoke(
        main, ["classifier", "predict", "--model", str(DEFAULT_MODEL_DIR), "楼道里燃气泄漏，味道很重"]
    )
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.output)
    assert prediction["urgency"]["label"] == "特急" and prediction["urgency_rule"]["name"] == "燃气泄漏"
