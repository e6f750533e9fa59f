"""The escalation configuration: escalation/default.yaml, an installation's YAML file, then the
admin's overrides in the ``settings`` table (key ``escalation``), each merged over the last."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from classifier.yamlfile import load_yaml
from hotline.runtime_settings import read_setting, write_setting
from hotline.settings import get_settings

DEFAULT_FILE = Path(__file__).with_name("default.yaml")
SETTING_KEY = "escalation"
LEVELS = (1, 2, 3, 4, 5)
RECIPIENT_KINDS = ("handler", "liaison", "dept_head", "department_head", "authority")
CHANNELS = ("inbox", "sms", "email")
LEVEL_NAMES = {1: "预警/催办", 2: "督办单", 3: "黄牌督办", 4: "红牌督办/约谈", 5: "通报/问责"}


def deep_merge(base: dict[Any, Any], over: dict[Any, Any]) -> dict[Any, Any]:
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        key = int(key) if isinstance(key, str) and key.isdigit() else key
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@lru_cache
def _file_config(extra_file: str) -> dict[str, Any]:
    data = load_yaml(DEFAULT_FILE.read_text(encoding="utf-8"))
    if extra_file:
        data = deep_merge(data, load_yaml(Path(extra_file).read_text(encoding="utf-8")) or {})
    return data


def parse_hours(text: str) -> tuple[time, time]:
    """ "09:00-20:00" -> (09:00, 20:00); "00:00-24:00" is the whole day."""
    start, end = (part.strip() for part in text.split("-", 1))
    return time.fromisoformat(start), time.max if end in {"24:00", "24:00:00"} else time.fromisoformat(end)


@dataclass
class Config:
    raw: dict[str, Any]

    def level(self, level: int) -> dict[str, Any]:
        return dict(self.raw["ladder"].get(level) or self.raw["ladder"].get(str(level)) or {})

    def level_name(self, level: int) -> str:
        return str(self.level(level).get("name") or LEVEL_NAMES.get(level, f"{level}级"))

    @property
    def reminders(self) -> dict[str, Any]:
        return dict(self.raw["reminders"])

    @property
    def causes(self) -> dict[str, Any]:
        return dict(self.raw["causes"])

    @property
    def callback(self) -> dict[str, Any]:
        return dict(self.raw["callback"])

    def callback_value(self, key: str, drill: bool) -> Any:
        cb = self.callback
        if drill and key in (cb.get("drill") or {}):
            return cb["drill"][key]
        return cb[key]

    @property
    def delivery(self) -> dict[str, Any]:
        return dict(self.raw["delivery"])

    def calling_hours(self, urgent: bool = False) -> tuple[time, time]:
        """When citizens may be called (Asia/Shanghai): urgent tickets' window is wider."""
        if urgent:
            return parse_hours(str(self.callback.get("urgent_calling_hours") or "08:00-21:00"))
        return parse_hours(get_settings().calling_hours or str(self.callback["calling_hours"]))


def validate(raw: dict[str, Any]) -> None:
    """Refuse a configuration the sweep could not run with (ValueError says what)."""
    ladder = raw.get("ladder") or {}
    for level in LEVELS:
        spec = ladder.get(level) or ladder.get(str(level))
        if not isinstance(spec, dict):
            raise ValueError(f"ladder.{level} missing")
        for kind in spec.get("recipients", []):
            if kind not in RECIPIENT_KINDS:
                raise ValueError(f"ladder.{level}.recipients: unknown {kind!r}")
        for channel in spec.get("channels", []):
            if channel not in CHANNELS:
                raise ValueError(f"ladder.{level}.channels: unknown {channel!r}")
    previous = -1.0
    for level in (2, 3, 4, 5):
        spec = ladder.get(level) or ladder.get(str(level))
        if not isinstance(spec, dict):  # already refused by the loop above; narrows the type
            raise ValueError(f"ladder.{level} missing")
        days = float(spec.get("after_working_days", 0))
        if days < previous:
            raise ValueError(f"ladder.{level}.after_working_days must not be below the level before")
        previous = days
    for name, level in (raw.get("causes") or {}).items():
        if name != "repeat_threshold" and int(level) not in LEVELS:
            raise ValueError(f"causes.{name}: level {level} is not 1-5")
    parse_hours(str((raw.get("callback") or {}).get("calling_hours", "09:00-20:00")))
    parse_hours(str((raw.get("callback") or {}).get("urgent_calling_hours", "08:00-21:00")))
    if (raw.get("callback") or {}).get("unsatisfied_reasonable") not in {"unresolved", "always", "agent"}:
        raise ValueError("callback.unsatisfied_reasonable must be unresolved, always or agent")


def load_config(session: Session | None = None) -> Config:
    raw = _file_config(get_settings().escalation_config_file)
    if session is not None:
        overrides = read_setting(session, SETTING_KEY)
        if isinstance(overrides, dict):
            raw = deep_merge(raw, overrides)
    return Config(raw)


def save_overrides(session: Session, overrides: dict[str, Any]) -> Config:
    merged = deep_merge(_file_config(get_settings().escalation_config_file), overrides)
    validate(merged)
    write_setting(session, SETTING_KEY, overrides)
    return Config(merged)
