"""Read the Asterisk configuration we ship (``telephony/asterisk/``) the way Asterisk reads it.

Only what the product relies on: sections of ``pjsip.conf`` with their ``type``, queue
members of ``queues.conf``, and the dialplan of ``extensions.conf`` (globals, contexts,
extensions with their application calls). Used to check the dial strings against Asterisk
22's documented syntax and that the seats, prompts and contexts the code names exist.

Dial string forms (docs.asterisk.org, "Dialing PJSIP Channels" and the Local channel page):

* ``PJSIP/<endpoint>`` — the endpoint's AOR contacts;
* ``PJSIP/<endpoint>/<sip-uri>`` — an explicit ``sip:``/``sips:`` URI via the endpoint;
* ``PJSIP/<user>@<endpoint>`` — a number (user part) through the endpoint's contact: how a
  trunk is dialled. ``PJSIP/<endpoint>/<number>`` is *not* valid: Asterisk takes the number
  for an AOR or URI and fails ("Could not create dialog to invalid URI");
* ``Local/<exten>@<context>[/<options>]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent / "asterisk"

_SECTION = re.compile(r"^\[([^\]]+)\](?:\(([^)]*)\))?\s*$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _lines(path: Path) -> Iterator[str]:
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].rstrip()
        if line.strip():
            yield line.strip()


@dataclass
class Section:
    name: str
    templates: tuple[str, ...]
    is_template: bool
    options: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        values = self.options.get(key)
        return values[-1] if values else None


def read_sections(path: Path) -> list[Section]:
    """Sections in file order; a section may appear several times (pjsip endpoint/aor/auth)."""
    sections: list[Section] = []
    by_name: dict[str, Section] = {}
    for line in _lines(path):
        m = _SECTION.match(line)
        if m:
            flags = [f.strip() for f in (m.group(2) or "").split(",") if f.strip()]
            section = Section(m.group(1), tuple(f for f in flags if f != "!"), "!" in flags)
            for parent in section.templates:
                base = by_name.get(parent)
                if base is not None:
                    for key, values in base.options.items():
                        section.options.setdefault(key, []).extend(values)
            sections.append(section)
            if section.is_template:
                by_name[section.name] = section
            continue
        if not sections:
            continue
        key, sep, value = line.partition("=>") if "=>" in line else line.partition("=")
        if sep:
            sections[-1].options.setdefault(key.strip(), []).append(value.strip())
    return sections


def pjsip_objects(config_dir: Path = CONFIG_DIR) -> dict[str, set[str]]:
    """``type`` → names of the pjsip.conf objects of that type (templates excluded)."""
    out: dict[str, set[str]] = {}
    for section in read_sections(config_dir / "pjsip.conf"):
        kind = section.get("type")
        if kind and not section.is_template:
            out.setdefault(kind, set()).add(section.name)
    return out


def queue_members(config_dir: Path = CONFIG_DIR) -> dict[str, list[str]]:
    """Queue → the interfaces of its static ``member =>`` lines."""
    out: dict[str, list[str]] = {}
    for section in read_sections(config_dir / "queues.conf"):
        if section.name == "general":
            continue
        out[section.name] = [value.split(",", 1)[0].strip() for value in section.options.get("member", [])]
    return out


@dataclass(frozen=True)
class Step:
    context: str
    exten: str
    app: str
    args: str


@dataclass
class Dialplan:
    globals: dict[str, str]
    contexts: dict[str, list[Step]]

    def extensions(self, context: str) -> set[str]:
        return {step.exten for step in self.contexts.get(context, [])}

    def matches(self, context: str, exten: str) -> bool:
        """Does ``exten`` reach an extension of ``context`` (literal or ``_`` pattern)?"""
        return any(_pattern_matches(pattern, exten) for pattern in self.extensions(context))

    def expand(self, text: str, local: dict[str, str] | None = None) -> str:
        """Replace ``${GLOBAL}`` (and the given channel variables); others stay as they are."""
        values = {**self.globals, **(local or {})}
        return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def applications(self, name: str) -> list[Step]:
        return [s for steps in self.contexts.values() for s in steps if s.app.lower() == name.lower()]


def _pattern_matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    regex = ""
    body = pattern[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "X":
            regex += "[0-9]"
        elif ch == "Z":
            regex += "[1-9]"
        elif ch == "N":
            regex += "[2-9]"
        elif ch == ".":
            regex += ".+"
        elif ch == "!":
            regex += ".*"
        elif ch == "[":
            end = body.index("]", i)
            regex += "[" + body[i + 1 : end] + "]"
            i = end
        else:
            regex += re.escape(ch)
        i += 1
    return re.fullmatch(regex, exten) is not None


def _app_call(text: str) -> tuple[str, str]:
    """``Dial(PJSIP/x@y,60)`` → (``Dial``, ``PJSIP/x@y,60``); ``label(Playback(x))`` handled by caller."""
    name, _, rest = text.partition("(")
    return name.strip(), rest[:-1] if rest.endswith(")") else rest


def read_dialplan(config_dir: Path = CONFIG_DIR) -> Dialplan:
    globals_: dict[str, str] = {}
    contexts: dict[str, list[Step]] = {}
    context = ""
    exten = ""
    for line in _lines(config_dir / "extensions.conf"):
        m = _SECTION.match(line)
        if m:
            context = m.group(1)
            if context not in ("general", "globals"):
                contexts.setdefault(context, [])
            continue
        if context == "globals":
            key, _, value = line.partition("=")
            globals_[key.strip()] = value.strip()
            continue
        if context == "general":
            continue
        key, sep, value = line.partition("=>")
        if not sep:
            continue
        key = key.strip()
        if key == "exten":
            exten, _priority, command = (part.strip() for part in value.split(",", 2))
        elif key == "same":
            _priority, command = (part.strip() for part in value.split(",", 1))
        else:
            continue
        # "n(label),App(args)" keeps its label in the priority part; ExecIf/GotoIf wrap others.
        app, args = _app_call(command)
        contexts[context].append(Step(context, exten, app, args))
        for inner in re.findall(r"[?:]([A-Za-z]+\([^()]*\))", args):
            inner_app, inner_args = _app_call(inner)
            contexts[context].append(Step(context, exten, inner_app, inner_args))
    return Dialplan(globals_, contexts)


def dial_targets(plan: Dialplan) -> list[tuple[Step, str]]:
    """Every channel a ``Dial()`` of the dialplan calls, with globals expanded (``&`` splits)."""
    out = []
    for step in plan.applications("Dial"):
        first = step.args.split(",", 1)[0]
        for target in plan.expand(first).split("&"):
            out.append((step, target.strip()))
    return out


def pattern_numbers(pattern: str, limit: int = 1000) -> list[str] | None:
    """Every number a finite extension pattern matches (``_12[02]`` → 120, 122); None if unbounded."""
    if not pattern.startswith("_"):
        return [pattern]
    if any(ch in pattern for ch in ".!"):
        return None
    choices: list[str] = []
    body, i = pattern[1:], 0
    while i < len(body):
        ch = body[i]
        if ch == "[":
            end = body.index("]", i)
            inner, i = body[i + 1 : end], end
            expanded = ""
            j = 0
            while j < len(inner):
                if j + 2 < len(inner) and inner[j + 1] == "-":
                    expanded += "".join(chr(c) for c in range(ord(inner[j]), ord(inner[j + 2]) + 1))
                    j += 3
                else:
                    expanded += inner[j]
                    j += 1
            choices.append(expanded)
        else:
            choices.append({"X": "0123456789", "Z": "123456789", "N": "23456789"}.get(ch, ch))
        i += 1
    out = [""]
    for options in choices:
        out = [prefix + c for prefix in out for c in options]
        if len(out) > limit:
            return None
    return out


PJSIP_NUMBER_AT_ENDPOINT = re.compile(r"^PJSIP/(?P<user>[^@/]+)@(?P<endpoint>[^@/]+)$")
PJSIP_ENDPOINT = re.compile(r"^PJSIP/(?P<endpoint>[^@/]+)(?:/(?P<uri>sips?:\S+))?$")
LOCAL = re.compile(r"^Local/(?P<exten>[^@/]+)@(?P<context>[^@/]+)(?:/(?P<options>[a-zA-Z]+))?$")


def check_channel(channel: str, *, endpoints: set[str], plan: Dialplan, sample: str = "13900000001") -> str | None:
    """Why ``channel`` is not a dial string Asterisk 22 accepts here, or None when it is.

    ``${EXTEN}``/``${TARGET}``-style variables left after expanding the globals stand for a
    dialled number (``sample``).
    """
    concrete = _VARIABLE.sub(sample, channel)
    if concrete.startswith("PJSIP/"):
        m = PJSIP_NUMBER_AT_ENDPOINT.match(concrete)
        if m:
            endpoint = m.group("endpoint")
            return None if endpoint in endpoints else f"{channel}: no PJSIP endpoint [{endpoint}] in pjsip.conf"
        m = PJSIP_ENDPOINT.match(concrete)
        if m:
            endpoint = m.group("endpoint")
            return None if endpoint in endpoints else f"{channel}: no PJSIP endpoint [{endpoint}] in pjsip.conf"
        return f"{channel}: not PJSIP/<endpoint>, PJSIP/<endpoint>/<sip-uri> or PJSIP/<number>@<endpoint>"
    if concrete.startswith("Local/"):
        m = LOCAL.match(concrete)
        if m is None:
            return f"{channel}: not Local/<exten>@<context>[/options]"
        if m.group("context") not in plan.contexts:
            return f"{channel}: no context [{m.group('context')}] in extensions.conf"
        if not plan.matches(m.group("context"), m.group("exten")):
            return f"{channel}: [{m.group('context')}] has no extension for {m.group('exten')}"
        return None
    return f"{channel}: unknown channel technology (we ship PJSIP and Local only)"
