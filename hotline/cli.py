"""The `hotline` command: run the product, its processes, and its admin chores."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from classifier.cli import group as classifier_group
from dashboards.cli import hot_topics_command
from hotline.enums import Role
from hotline.settings import get_settings, reset_settings_cache

log = logging.getLogger("hotline")


def _setup_logging() -> None:
    from hotline import logs

    logs.configure(get_settings().log_level)


@click.group()
def main() -> None:
    """hotline: the backend of a 12345 government service hotline (政务服务便民热线)."""
    _setup_logging()


# ---------------------------------------------------------------- database


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option(
    "--app-login",
    metavar="ROLE",
    default=None,
    help="PostgreSQL: also create (or update) the login ROLE the services use, a member of the restricted "
    "role hotline_app (no UPDATE, DELETE or TRUNCATE on the timeline); password from HOTLINE_DB_APP_PASSWORD.",
)
def db_upgrade(app_login: str | None) -> None:
    """Apply every migration (all packages) and the default time limits (as the schema's owner)."""
    from hotline.migrate import ensure_app_login

    _upgrade_database()
    url = get_settings().effective_database_url
    click.echo(f"database is up to date: {_safe_url(url)}")
    if app_login:
        try:
            ensure_app_login(url, app_login, os.environ.get("HOTLINE_DB_APP_PASSWORD", ""))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"login role {app_login} is a member of hotline_app")


def _upgrade_database() -> None:
    from hotline import wiring
    from hotline.db import session_scope
    from hotline.migrate import upgrade
    from hotline.timelimits import ensure_default_policies

    upgrade()
    with session_scope() as session:
        ensure_default_policies(session)
        wiring.after_upgrade(session)


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]


# ---------------------------------------------------------------- backup and restore


@main.command("backup")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Back up the database and the data dir's files (attachments, models) into TARGET (a new directory)."""
    from hotline.backup import backup

    _echo_backup_step(backup, target)


@main.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(source: Path) -> None:
    """Restore a backup made by `hotline backup` into the configured, empty database and data dir."""
    from hotline.backup import restore

    _echo_backup_step(restore, source)


def _echo_backup_step(step: Callable[[Path], dict[str, Any]], directory: Path) -> None:
    """Run a backup or a restore and print what it returns; its refusal is the command's error."""
    from hotline.backup import BackupError

    try:
        result = step(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, ensure_ascii=False))


# ---------------------------------------------------------------- demo and users


@main.command("seed-demo")
@click.option("--password", envvar="HOTLINE_DEMO_PASSWORD", default=None, help="Password for every demo login.")
def seed_demo_command(password: str | None) -> None:
    """Load the demo city (示范市): departments, one login per role, tickets in every stage."""
    result = _seed(password)
    click.echo(json.dumps({k: v for k, v in result.items() if k not in ("password", "logins")}, ensure_ascii=False))
    _print_logins()


def _logins_file() -> Path:
    return get_settings().resolved_data_dir() / "demo_logins.json"


def _seed(password: str | None) -> dict[str, Any]:
    from hotline import wiring
    from hotline.db import session_scope
    from hotline.demo.seed import seed_demo

    wiring.install()
    path = _logins_file()
    if password is None and path.exists():  # logins added later share the password printed before
        password = json.loads(path.read_text()).get("password")
    with session_scope() as session:
        result = seed_demo(session, password)
        result.update(wiring.seed_demo_extras(session))
    if result["password"]:
        logins = [{"username": d.username, "role": d.role.value, "name": d.display_name} for d in result["logins"]]
        path = _logins_file()
        path.write_text(json.dumps({"password": result["password"], "logins": logins}, ensure_ascii=False, indent=1))
        path.chmod(0o600)
    return result


def _print_logins() -> None:
    path = _logins_file()
    if not path.exists():
        click.echo("demo logins were created elsewhere (no demo_logins.json in the data dir)")
        return
    data = json.loads(path.read_text())
    click.echo(f"demo logins (password for all: {data['password']}):")
    staff = [login for login in data["logins"] if login["role"] != "dept_handler"]
    departments = [login for login in data["logins"] if login["role"] == "dept_handler"]
    for login in staff + departments[:6]:
        click.echo(f"  {login['username']:<12} {login['role']:<15} {login['name']}")
    if len(departments) > 6:
        click.echo(
            f"  ... and {len(departments) - 6} more: every department has a login named by its code "
            f"(dots as underscores, e.g. {departments[-1]['username']}); all listed in {path}"
        )


@main.group()
def user() -> None:
    """Users and roles."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Display name (姓名).")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--department", "department_code", default=None, help="Department code (for department users).")
@click.option(
    "--extension", default=None, help="Agent seat: its number (8001) or a queue member interface (PJSIP/8001)."
)
@click.password_option("--password", envvar="HOTLINE_NEW_USER_PASSWORD")
def user_create(
    username: str, display_name: str, role: str, department_code: str | None, extension: str | None, password: str
) -> None:
    """Create a login."""
    from sqlalchemy import select

    from hotline.db import session_scope
    from hotline.errors import HotlineError
    from hotline.models import Department
    from hotline.orgs import create_user
    from hotline.passwords import check_new_password

    try:
        with session_scope() as session:
            dept_id = None
            if department_code:
                dept_id = session.scalar(select(Department.id).where(Department.code == department_code))
                if dept_id is None:
                    raise click.BadParameter(f"no department with code {department_code}", param_hint="--department")
            check_new_password(password, username)
            created = create_user(
                session,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                department_id=dept_id,
                extension=extension,
            )
            click.echo(f"created user {created.username} ({created.role}) id={created.id}")
    except HotlineError as exc:
        raise click.ClickException(exc.message) from exc


# ---------------------------------------------------------------- the calendar


def _days(spec: str) -> list[date]:
    """``2027-01-01,2027-02-05..2027-02-11`` → the days (ranges inclusive)."""
    days: list[date] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        first, _, last = part.partition("..")
        start, end = date.fromisoformat(first), date.fromisoformat(last or first)
        if end < start:
            raise click.BadParameter(f"range {part} ends before it starts")
        days += [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return days


@main.group()
def calendar() -> None:
    """The working-day calendar (国务院节假日安排)."""


@calendar.command("import-notice")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--holidays", "rest", required=True, help="Rest days: 2027-01-01,2027-02-05..2027-02-11,...")
@click.option("--workdays", default="", help="调休 working weekends: 2027-02-14,2027-09-26,...")
def calendar_import_notice(year: int, rest: str, workdays: str) -> None:
    """Import a year's State Council holiday notice; open tickets' deadlines move with it."""
    from hotline import lifecycle
    from hotline.db import session_scope, utcnow
    from hotline.errors import HotlineError
    from hotline.workcalendar import WorkCalendar, import_notice

    try:
        rest_days, work_days = _days(rest), _days(workdays)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    try:
        with session_scope() as session:
            before = WorkCalendar.load(session)
            imported = import_notice(session, year, rest_days, work_days, utcnow())
            moved = lifecycle.recalendar_open_tickets(session, before)
    except HotlineError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"{year}: {imported['holidays']} holidays, {imported['workdays']} working weekends imported; "
        f"deadlines of {moved} open tickets moved"
    )


# ---------------------------------------------------------------- processes


def _free_port(preferred: int) -> int:
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "hotline.celery_app:celery_app", *args]


# The pages the startup banner lists (tests/integration/test_up.py opens every one).
BANNER_PAGES = [
    ("staff console", "/console/"),
    ("API docs (Swagger UI)", "/docs"),
    ("API docs (ReDoc)", "/redoc"),
    ("OpenAPI document", "/openapi.json"),
    ("health", "/healthz"),
    ("citizens' pages", "/citizen"),
    ("Open311 GeoReport v2", "/open311/v2/services.json"),
]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="API processes sharing the port (one per core is the rule; see the README).",
)
def api(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API only (several processes with --workers; several machines behind a proxy)."""
    import uvicorn

    from hotline.requestlog import UVICORN_OPTIONS

    level = get_settings().log_level.lower()
    if workers == 1:
        from hotline.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level=level, **UVICORN_OPTIONS)
    else:
        # Each process builds its own app (its own engine, connection pool and logging).
        uvicorn.run(
            "hotline.cli:api_process_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            # uvicorn kills a process that does not answer its health ping in time and starts
            # another: at the 5 s default, processes still loading the classifier on a busy machine
            # were killed over and over and the API never came up (seen at load 10 on 2 cores)
            timeout_worker_healthcheck=60,
            **UVICORN_OPTIONS,
        )


def api_process_app() -> Any:
    """The app of one of several API processes (``api --workers``): the process's own logging first."""
    from hotline.app import create_app

    _setup_logging()
    return create_app()


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run a Celery worker (the default queue and the routing of new tickets)."""
    from hotline.celery_app import worker_queues

    level = get_settings().log_level
    argv = _celery_argv("worker", "--loglevel", level, "--concurrency", str(concurrency), "-Q", worker_queues())
    os.execv(sys.executable, argv)


@main.command()
def beat() -> None:
    """Run Celery beat (exactly one per installation)."""
    schedule = get_settings().resolved_data_dir() / "celerybeat-schedule"
    level = get_settings().log_level
    os.execv(sys.executable, _celery_argv("beat", "--loglevel", level, "--schedule", str(schedule)))


@main.command()
def bridge() -> None:
    """Run the Asterisk (AMI) bridge: call records, agent states, screen pops, survey results."""
    from hotline import wiring
    from telephony.bridge import run_bridge

    wiring.install()
    run_bridge()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="Preferred port; the next free one if taken.")
@click.option("--no-worker", is_flag=True, help="Do not start the embedded Celery worker and beat.")
@click.option(
    "--call-every",
    default=20.0,
    show_default=True,
    type=float,
    help="Seconds between replayed demo calls when no Asterisk is configured (0: none).",
)
def up(host: str, port: int, no_worker: bool, call_every: float) -> None:
    """Run everything on the embedded default: database, worker + beat, demo data, API."""
    import uvicorn

    from hotline.app import create_app
    from hotline.celery_app import worker_queues
    from hotline.requestlog import UVICORN_OPTIONS

    settings = get_settings()
    data_dir = settings.resolved_data_dir()
    os.environ.setdefault("HOTLINE_DATA_DIR", str(data_dir))
    click.echo(f"data directory: {data_dir}")
    _upgrade_database()
    result = _seed(None)
    click.echo(f"demo data: {result['departments']} departments, {result['tickets_created']} new tickets")

    chosen = _free_port(port)
    base = f"http://{host}:{chosen}"
    if not settings.survey_base_url or "HOTLINE_SURVEY_BASE_URL" not in os.environ:
        # SMS survey links point at this very server.
        os.environ["HOTLINE_SURVEY_BASE_URL"] = base
        reset_settings_cache()
    telephony = None
    worker_env = os.environ.copy()
    if not settings.ami_host and call_every > 0:
        from telephony.demo import start_embedded

        telephony = start_embedded(every=call_every)
        # The worker places survey calls on the same replaying AMI server.
        target = telephony.target
        worker_env.update(
            HOTLINE_AMI_HOST=target.host,
            HOTLINE_AMI_PORT=str(target.port),
            HOTLINE_AMI_USERNAME=target.username,
            HOTLINE_AMI_SECRET=target.secret,
        )
        click.echo(
            f"no Asterisk configured: replaying recorded calls, one every {call_every:.0f}s "
            f"(AMI server on {target.host}:{target.port})"
        )

    worker_proc: subprocess.Popen[bytes] | None = None
    if not no_worker:
        log_file = open(data_dir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
        worker_proc = subprocess.Popen(
            _celery_argv(
                "worker",
                "-B",
                "-Q",
                worker_queues(),
                "--loglevel",
                settings.log_level,
                "--concurrency",
                "1",
                "--schedule",
                str(data_dir / "celerybeat-schedule"),
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=worker_env,  # with the embedded AMI server's address: the worker places the survey calls
        )
        click.echo(f"celery worker + beat started (pid {worker_proc.pid}, log {data_dir / 'worker.log'})")

    click.echo("")
    click.echo(f"hotline is serving on {base} ({base}/ opens the staff console)")
    for label, path in BANNER_PAGES:
        click.echo(f"  {label + ':':<24}{base}{path}")
    _print_logins()
    click.echo("press Ctrl+C to stop", err=False)
    sys.stdout.flush()

    def _stop_worker(*_: Any) -> None:
        if worker_proc and worker_proc.poll() is None:
            worker_proc.send_signal(signal.SIGTERM)
            try:
                worker_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker_proc.kill()

    def _terminated(*_: Any) -> None:
        raise SystemExit(0)

    # uvicorn handles SIGTERM itself, then restores the previous handler and raises the signal
    # again: with the default handler that would end this process before `finally`, leaving the
    # worker running (a `docker stop` or systemd stop sends SIGTERM). Ours turns it into an exit.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # The terminal of the demo shows the banner and what goes wrong, not every request.
            logging.getLogger("hotline.access").setLevel(logging.WARNING)
        uvicorn.run(create_app(), host=host, port=chosen, log_level="warning", **UVICORN_OPTIONS)
    finally:
        _stop_worker()
        if telephony is not None:
            telephony.stop()


# -- escalation: drill command
@main.command()
@click.option("--reset", is_flag=True, help="Back to the default time limits of DOMAIN.md.")
@click.option("--no-ticket", is_flag=True, help="Only set the limits; do not dispatch a drill ticket.")
def drill(reset: bool, no_ticket: bool) -> None:
    """督办演练: time limits in seconds, and a ticket that climbs levels 1-5 in about a minute.

    Run with HOTLINE_DRILL=1 (`HOTLINE_DRILL=1 hotline up`) so that the sweep runs every second.
    """
    from escalation.drill import run_drill
    from hotline import wiring
    from hotline.db import session_scope

    wiring.install()
    with session_scope() as session:
        result = run_drill(session, reset=reset, ticket=not no_ticket)
    click.echo(json.dumps(result, ensure_ascii=False))
    if not get_settings().drill and not reset:
        click.echo(
            "note: HOTLINE_DRILL is not set; the sweep runs every "
            f"{get_settings().sweep_interval_seconds:.0f}s, so levels will come later"
        )


@main.group()
def prompts() -> None:
    """The survey IVR's Mandarin prompts (回访语音)."""


@prompts.command("build")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Sounds directory (default: telephony/asterisk/sounds).",
)
@click.option("--recorded", type=click.Path(path_type=Path), default=None, help="A center's recordings, <name>.wav.")
def prompts_build(out: Path | None, recorded: Path | None) -> None:
    """Speak telephony/asterisk/prompts.yaml (espeak-ng) or take the recordings, in Asterisk's 8 kHz formats."""
    from telephony import prompts as ivr

    try:
        built = ivr.build_prompts(out or ivr.SOUNDS, recorded=recorded or ivr.RECORDED)
    except ivr.PromptToolMissing as exc:
        raise click.ClickException(str(exc)) from exc
    target = (out or ivr.SOUNDS) / ivr.SOUND_DIR
    for p in built:
        click.echo(f"{target / p.name}.{{wav,ulaw,alaw}}  {p.seconds:4.1f} s  ({p.source})")


# The classifier's own commands: hotline classifier train | eval | predict.
main.add_command(classifier_group)
# -- dashboards: hotline hot-topics --data FILE.csv
main.add_command(hot_topics_command)


if __name__ == "__main__":
    main()
