"""The survey IVR's voice: Mandarin prompts in Asterisk's 8 kHz formats, and a dialplan that names only them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from click.testing import CliRunner

from hotline.cli import main
from telephony import asterisk_config as ac
from telephony import prompts

REPO = Path(__file__).resolve().parents[2]


def survey_sounds() -> set[str]:
    """Every sound file the survey context plays (Playback, Read's prompt, inside ExecIf)."""
    plan = ac.read_dialplan()
    names = set()
    for step in plan.contexts["callback-survey"]:
        if step.app == "Playback":
            names.update(step.args.split(",")[0].split("&"))
        elif step.app == "Read":
            names.add(step.args.split(",")[1])
    return names


def assert_playable(directory: Path, name: str) -> float:
    seconds = prompts.playable_seconds(directory / f"{name}.wav")
    assert 0.5 < seconds < 15, (name, seconds)
    samples = round(seconds * prompts.RATE)
    for raw in ("ulaw", "alaw"):  # one byte per 8 kHz sample: what the trunk's G.711 carries as is
        assert (directory / f"{name}.{raw}").stat().st_size == samples
    return seconds


def test_the_survey_dialplan_names_only_prompts_we_build() -> None:
    names = survey_sounds()
    assert names, "the survey plays nothing"
    texts = prompts.texts()
    for sound in names:
        folder, _, name = sound.partition("/")
        assert folder == prompts.SOUND_DIR and name in texts, f"{sound}: not one of our prompts"
    # Both questions, the retries' explanations and the goodbyes are all there.
    assert {f"hotline/{n}" for n in ("survey-satisfaction", "survey-resolution", "survey-no-input")} <= names


def test_install_built_every_prompt_in_a_format_asterisk_plays() -> None:
    """scripts/install runs `hotline prompts build` into telephony/asterisk/sounds/hotline/."""
    built = prompts.SOUNDS / prompts.SOUND_DIR
    assert built.is_dir(), "no prompts: run scripts/install (it installs espeak-ng and sox and builds them)"
    for sound in survey_sounds():
        assert_playable(built, sound.partition("/")[2])


def test_a_centers_recording_replaces_the_spoken_prompt(tmp_path: Path) -> None:
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    # A studio recording: 44.1 kHz stereo, 2 s, as a center would hand it over.
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(recorded / "survey-thanks.wav"), "synth", "2", "sine", "440"],
        check=True,
    )
    result = CliRunner().invoke(
        main, ["prompts", "build", "--out", str(tmp_path / "sounds"), "--recorded", str(recorded)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "sounds" / "hotline"
    lines = {Path(line.split()[0]).name.split(".")[0]: line for line in result.output.splitlines()}
    assert "(recorded)" in lines["survey-thanks"] and "(tts)" in lines["survey-satisfaction"]
    assert abs(assert_playable(out, "survey-thanks") - 2.0) < 0.05
    for name in prompts.texts():
        assert_playable(out, name)


def test_compose_builds_the_prompts_where_asterisk_plays_them() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["prompts"]
    assert service["command"][:3] == ["hotline", "prompts", "build"]
    out = service["command"][service["command"].index("--out") + 1]
    volume = next(v.split(":")[0] for v in service["volumes"] if v.split(":")[1] == out)
    asterisk = compose["services"]["asterisk"]
    mount = next(v.split(":")[1] for v in asterisk["volumes"] if v.split(":")[0] == volume)
    script = (ac.CONFIG_DIR / "render-config.sh").read_text()
    assert f"{mount}/{prompts.SOUND_DIR} /var/lib/asterisk/sounds/{prompts.SOUND_DIR}" in script
    assert asterisk["depends_on"]["prompts"]["condition"] == "service_completed_successfully"
    assert "espeak-ng sox" in (REPO / "Dockerfile").read_text()
