"""docker-compose.yml cannot run here (no Docker engine): check it against the code it starts."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from hotline.cli import main
from hotline.settings import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def resolve(command: list[str]) -> click.Command:
    assert command[0] == "hotline"
    group: click.Command = main
    ctx = click.Context(main)
    for word in command[1:]:
        if word.startswith("-") or not isinstance(group, click.Group):
            break
        sub = group.get_command(ctx, word)
        assert sub is not None, f"hotline has no command {' '.join(command)}"
        group = sub
    return group


def test_every_service_runs_a_real_hotline_command() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "api", "worker", "beat", "bridge", "asterisk", "migrate"} <= set(services)
    for name in ("api", "worker", "beat", "bridge", "migrate", "prompts"):
        command = services[name]["command"]
        cmd = resolve(command)
        options = {opt for param in cmd.params for opt in getattr(param, "opts", [])}
        for word in command[2:]:
            if word.startswith("--"):
                assert word in options, f"{name}: {word} is not an option of {' '.join(command[:3])}"


def test_every_hotline_setting_in_compose_exists() -> None:
    env = COMPOSE["services"]["api"]["environment"]
    fields = {f"HOTLINE_{name.upper()}" for name in Settings.model_fields}
    unknown = [key for key in env if key.startswith("HOTLINE_") and key not in fields]
    assert not unknown, unknown
    assert {"HOTLINE_DATABASE_URL", "HOTLINE_BROKER_URL", "HOTLINE_REDIS_URL", "HOTLINE_SECRET_KEY"} <= set(env)
    # Secrets are required from the environment, never written in the file.
    assert env["HOTLINE_SECRET_KEY"].startswith("${") and ":?" in env["HOTLINE_SECRET_KEY"]


def test_the_image_carries_every_package_and_the_asterisk_config_is_mounted() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("hotline", "telephony", "classifier", "dispatch", "escalation", "dashboards"):
        assert f"COPY {package} ./{package}" in dockerfile
    volumes = COMPOSE["services"]["asterisk"]["volumes"]
    source = next(v.split(":")[0] for v in volumes if "asterisk" in v.split(":")[1])
    assert (REPO / source).is_dir()


def test_the_bridge_logs_in_as_the_manager_user_we_ship() -> None:
    env = COMPOSE["services"]["bridge"]["environment"]
    manager = (REPO / "telephony" / "asterisk" / "manager.conf").read_text()
    assert f"[{env['HOTLINE_AMI_USERNAME']}]" in manager
    asterisk = COMPOSE["services"]["asterisk"]
    assert asterisk["entrypoint"][-1].startswith("/etc/asterisk-hotline/")
    assert (REPO / "telephony" / "asterisk" / asterisk["entrypoint"][-1].rsplit("/", 1)[1]).exists()
    assert asterisk["environment"]["AMI_SECRET"] == "${HOTLINE_AMI_SECRET:?set HOTLINE_AMI_SECRET}"


def test_the_image_carries_every_package() -> None:
    """The Dockerfile copies each package pyproject installs (channels was once left out)."""
    import re
    import tomllib

    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE))
    assert packages <= copied, f"the Dockerfile does not copy {sorted(packages - copied)}"
