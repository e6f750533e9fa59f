"""The survey IVR's voice: Mandarin prompts built from the texts we keep (``asterisk/prompts.yaml``).

Each prompt is spoken by Debian's ``espeak-ng`` (voice ``cmn``) or taken from a center's own
recording (``asterisk/recorded/<name>.wav``, any rate and format ``sox`` reads), then converted
by ``sox`` into the formats Asterisk plays without resampling: ``.wav`` (8 kHz, mono, 16-bit PCM),
``.ulaw`` and ``.alaw`` (raw G.711 at 8 kHz, what the trunk speaks, so no transcoding at all).
The files land in ``asterisk/sounds/hotline/`` (not committed), which Asterisk finds as
``hotline/<name>`` in its sounds directory. ``hotline prompts build`` runs this; ``scripts/install``
and the image build run it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from classifier.yamlfile import load_yaml

ASTERISK_DIR = Path(__file__).resolve().parent / "asterisk"
TEXTS = ASTERISK_DIR / "prompts.yaml"
RECORDED = ASTERISK_DIR / "recorded"
SOUNDS = ASTERISK_DIR / "sounds"
SOUND_DIR = "hotline"  # Playback(hotline/<name>)
RATE = 8000
FORMATS = {"wav": ["-t", "wav", "-e", "signed-integer", "-b", "16"], "ulaw": ["-t", "ul"], "alaw": ["-t", "al"]}
VOICE = "cmn"


class PromptToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class BuiltPrompt:
    name: str
    source: str  # "tts" | "recorded"
    seconds: float


def texts(path: Path = TEXTS) -> dict[str, str]:
    data = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
        raise ValueError(f"{path}: expected name: text pairs")
    return {str(k): str(v).strip() for k, v in data.items()}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PromptToolMissing(f"{name} is not installed (Debian package {name}; scripts/install installs it)")
    return path


def _recording(recorded: Path, name: str) -> Path | None:
    candidates = sorted(recorded.glob(f"{name}.*")) if recorded.is_dir() else []
    return candidates[0] if candidates else None


def build_prompts(out: Path = SOUNDS, *, recorded: Path = RECORDED, source: Path = TEXTS) -> list[BuiltPrompt]:
    """Build every prompt into ``out/hotline/`` in each Asterisk format; returns what was built."""
    sox = _tool("sox")
    target = out / SOUND_DIR
    target.mkdir(parents=True, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in texts(source).items():
            own = _recording(recorded, name)
            if own is None:
                spoken = Path(tmp) / f"{name}.wav"
                subprocess.run([_tool("espeak-ng"), "-v", VOICE, "-s", "210", "-w", str(spoken), text], check=True)
            else:
                spoken = own
            for ext, args in FORMATS.items():
                # Telephone band and a level that is neither faint nor clipped (-3 dBFS peak).
                # Silence trimmed at both ends (a caller should not wait for the prompt to start).
                trim = ["silence", "1", "0.05", "0.5%", "reverse", "silence", "1", "0.05", "0.5%", "reverse"]
                effects = [*trim, "gain", "-6", "highpass", "300", "lowpass", "3400", "gain", "-n", "-3"]
                subprocess.run(
                    [sox, str(spoken), "-r", str(RATE), "-c", "1", *args, str(target / f"{name}.{ext}"), *effects],
                    check=True,
                )
            built.append(BuiltPrompt(name, "recorded" if own else "tts", playable_seconds(target / f"{name}.wav")))
    return built


def playable_seconds(path: Path) -> float:
    """Length of a prompt in the ``.wav`` form Asterisk plays; ValueError if it is not that form."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getcomptype()) != (RATE, 1, 2, "NONE"):
            raise ValueError(f"{path}: not 8 kHz mono 16-bit PCM")
        return w.getnframes() / RATE
