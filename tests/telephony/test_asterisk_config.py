"""The Asterisk configuration we ship (telephony/asterisk/) against Asterisk 22's syntax and our code."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from hotline.demo.seed import DEMO_LOGINS
from telephony import asterisk_config as ac
from telephony.callback import originate_channel
from telephony.config import get_telephony_settings
from telephony.service import users_by_interface
from tests.telephony.conftest import add_user, play, wait_play

PLAN = ac.read_dialplan()
ENDPOINTS = ac.pjsip_objects()["endpoint"]


def test_every_dial_string_we_ship_is_pjsip_syntax_of_asterisk_22() -> None:
    targets = ac.dial_targets(PLAN)
    # Agents' outbound dialling (mobile and landline), the 110/119/120/122 transfer, the survey's trunk leg.
    assert {(step.context, step.exten) for step, _ in targets} == {
        ("hotline-agents", "_1XXXXXXXXXX"),
        ("hotline-agents", "_0X."),
        ("emergency-transfer", "transfer"),
        ("outbound-trunk", "_X."),
    }
    for step, channel in targets:
        assert ac.check_channel(channel, endpoints=ENDPOINTS, plan=PLAN) is None, (step, channel)
        assert ac.PJSIP_NUMBER_AT_ENDPOINT.match(channel.replace("${EXTEN}", "1").replace("${TARGET}", "1"))
    # The survey Originate: a Local channel into a context that dials the number, into the IVR.
    cfg = get_telephony_settings()
    for number in ("13900000001", "01062345678", "0085298765432"):
        assert ac.check_channel(originate_channel(number), endpoints=ENDPOINTS, plan=PLAN) is None
    assert PLAN.matches(cfg.survey_context, "s")
    # 一键转接 Redirects into the transfer context: every target the API offers has an extension.
    assert all(PLAN.matches(cfg.transfer_context, target) for target in cfg.transfer_targets)
    # Queue members are dial strings too.
    for members in ac.queue_members().values():
        for member in members:
            assert ac.check_channel(member, endpoints=ENDPOINTS, plan=PLAN) is None, member


def test_every_goto_lands_on_an_extension() -> None:
    """Goto(context,${EXTEN},1) from a pattern: every number the pattern takes exists there."""
    for step in PLAN.applications("Goto"):
        parts = [p.strip() for p in step.args.split(",")]
        if len(parts) < 3:
            continue  # a label or priority in the same context
        context, exten = parts[0], parts[1]
        assert context in PLAN.contexts, step
        numbers = ac.pattern_numbers(step.exten) if exten == "${EXTEN}" else [exten]
        assert numbers is not None, step
        for number in numbers:
            assert PLAN.matches(context, number), (step, number)


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        ("PJSIP/carrier-trunk/13900000011", "not PJSIP/<endpoint>"),  # what we shipped: "invalid URI"
        ("PJSIP/13900000011@no-such-trunk", "no PJSIP endpoint"),
        ("SIP/carrier-trunk/13900000011", "unknown channel technology"),
        ("Local/13900000011@no-such-context/n", "no context"),
        ("Local/abc@outbound-trunk/n", "has no extension"),
    ],
)
def test_the_syntax_check_refuses_what_asterisk_refuses(channel: str, why: str) -> None:
    assert why in (ac.check_channel(channel, endpoints=ENDPOINTS, plan=PLAN) or "")


def test_demo_agents_are_the_seats_of_our_queue_and_of_the_replays() -> None:
    engine = create_engine("sqlite://")
    from hotline.db import Base

    Base.metadata.create_all(engine)
    from hotline.models import User

    with Session(engine) as session:
        for login in DEMO_LOGINS:
            session.add(
                User(
                    username=login.username,
                    display_name=login.display_name,
                    password_hash="x",
                    role=login.role,
                    extension=login.extension,
                )
            )
        session.commit()
        agents = {u.username: u.id for u in session.query(User).filter(User.extension.is_not(None))}
        ours = ac.queue_members()["hotline"]
        replayed = [f"Local/{n}@hotline-agents/n" for n in ("8001", "8002", "8003")]
        mapped = users_by_interface(session, set(ours) | set(replayed))
    assert [mapped[m] for m in ours] == [agents["agent1"], agents["agent2"], agents["agent3"]]
    assert [mapped[m] for m in replayed] == [agents["agent1"], agents["agent2"], agents["agent3"]]


def test_screen_pop_finds_its_agent_with_our_queue(ami: Any, start_bridge: Any, sm: Any) -> None:
    """A real PJSIP agent call (trace 07b) on our queue ``hotline`` with our first seat."""
    login = next(d for d in DEMO_LOGINS if d.extension)
    user_id = add_user(sm, "tel-" + login.username, "agent", login.extension)
    seat = ac.queue_members()["hotline"][0]
    pops: list[dict[str, Any]] = []
    runner = start_bridge(publish=pops.append)
    runner.wait_connected()
    replace = {"PJSIP/agent9001": seat, "hotline-sip": "hotline", "SIP Agent 9001": "Agent 8001"}
    wait_play(ami, play(ami, "07b_sipp_sip_agent", replace=replace))
    runner.drain()
    runner.wait(lambda: bool(pops), timeout=5)
    (pop,) = pops
    assert (pop["user_id"], pop["interface"], pop["queue"]) == (user_id, seat, "hotline")


def test_bridge_waits_for_fully_booted_before_resynchronising(ami: Any, start_bridge: Any, sm: Any) -> None:
    ami.call(ami.server.restart)  # Asterisk restarting: logins work, app_queue not loaded yet
    runner = start_bridge()
    runner.wait(lambda: runner.bridge.stats.connects >= 1)
    runner.drain()
    sent = [m.get("Action") for _u, m in ami.server.actions]
    assert "QueueStatus" not in sent and runner.bridge.stats.resyncs == 0
    ami.call(ami.server.finish_boot)
    runner.wait_connected()
    assert ami.server.unknown_actions == []  # never "QueueStatus: Invalid/unknown command"
    assert runner.bridge.stats.connects == 1 and runner.bridge.stats.login_failures == 0
    # A restart while connected: Shutdown, reconnect while booting, resync once booted.
    ami.call(ami.server.restart)
    runner.wait(lambda: runner.bridge.stats.connects >= 2)
    ami.call(ami.server.finish_boot)
    runner.wait_connected(resyncs=2)
    assert ami.server.unknown_actions == []


def test_asterisk_writes_its_cdr_and_queue_log_into_our_database() -> None:
    """cdr_pgsql and the realtime queue log point at the compose database and at our tables."""
    from pathlib import Path

    import yaml

    from telephony.models import AsteriskCdr, QueueLog

    repo = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text())
    db = compose["services"]["postgres"]["environment"]
    (cdr,) = [s for s in ac.read_sections(ac.CONFIG_DIR / "cdr_pgsql.conf") if s.name == "global"]
    assert (cdr.get("hostname"), cdr.get("dbname"), cdr.get("user")) == (
        "postgres",
        db["POSTGRES_DB"],
        db["POSTGRES_USER"],
    )
    assert cdr.get("table") == AsteriskCdr.__tablename__ and cdr.get("timezone") == "UTC"
    (pg,) = ac.read_sections(ac.CONFIG_DIR / "res_pgsql.conf")
    assert (pg.get("dbhost"), pg.get("dbname"), pg.get("dbuser")) == (
        "postgres",
        db["POSTGRES_DB"],
        db["POSTGRES_USER"],
    )
    (ext,) = ac.read_sections(ac.CONFIG_DIR / "extconfig.conf")
    assert ext.get("queue_log") == f"pgsql,{db['POSTGRES_DB']},{QueueLog.__tablename__}"
    (general,) = [s for s in ac.read_sections(ac.CONFIG_DIR / "logger.conf") if s.name == "general"]
    assert general.get("queue_adaptive_realtime") == general.get("queue_log_realtime_use_gmt") == "yes"
    (cdr_general,) = ac.read_sections(ac.CONFIG_DIR / "cdr.conf")
    assert cdr_general.get("enable") == cdr_general.get("unanswered") == "yes"
    # The password reaches the rendered files from the environment, never from the repository.
    asterisk = compose["services"]["asterisk"]
    assert cdr.get("password") == pg.get("dbpass") == "${POSTGRES_PASSWORD}"
    assert "${POSTGRES_PASSWORD}" in (ac.CONFIG_DIR / "render-config.sh").read_text()
    assert asterisk["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    # cdr_pgsql loads the table's columns at start: the tables must exist before Asterisk does.
    assert asterisk["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Every field cdr_pgsql writes has its column (Asterisk 22's contrib schema).
    fields = {"accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata"}
    fields |= {"start", "answer", "end", "duration", "billsec", "disposition", "amaflags", "userfield"}
    fields |= {"uniqueid", "linkedid", "peeraccount", "sequence"}
    assert fields <= set(AsteriskCdr.__table__.columns.keys())
    assert {"time", "callid", "queuename", "agent", "event", "data1", "data5"} <= set(QueueLog.__table__.columns.keys())


def test_the_reconnect_wait_stays_short_while_asterisk_is_expected_back() -> None:
    """Asterisk 22 restarts in seconds: the issue's bridge waited 16 s and lost a call meanwhile."""
    from telephony.bridge import config_from_settings, next_backoff
    from telephony.client import AMITarget

    cfg = config_from_settings(AMITarget("asterisk", 5038, "hotline", "x"))
    waits, wait, down = [], cfg.backoff_min, 0.0
    while down < cfg.expect_back + 120:
        waits.append(wait)
        down += wait
        wait = next_backoff(cfg, wait, down)
    early = [w for w, d in zip(waits, itertools.accumulate(waits), strict=True) if d < cfg.expect_back]
    assert max(early) <= 2.0  # back within ~2 s of Asterisk (plus jitter), all along
    assert waits[-1] == cfg.backoff_max_long == 30.0  # a long outage does not spin
