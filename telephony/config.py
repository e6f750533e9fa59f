"""Telephony settings: the AMI login comes from ``hotline.settings`` (HOTLINE_AMI_*); the
dialplan names and timings the product's Asterisk configuration uses come from
``HOTLINE_TELEPHONY_*`` (defaults match ``telephony/asterisk/``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline.settings import get_settings
from telephony.client import AMITarget


class TelephonySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_TELEPHONY_", extra="ignore")

    # Event classes the bridge asks for at login (the manager.conf user may read no more).
    events: str = "system,call,agent,user"
    inbound_contexts: list[str] = ["hotline-inbound", "from-trunk"]
    outbound_context: str = "outbound-trunk"  # Local/<number>@<this> dials the citizen
    survey_context: str = "callback-survey"
    transfer_context: str = "emergency-transfer"
    transfer_targets: list[str] = ["110", "119", "120", "122"]
    survey_timeout_ms: int = 30000
    ping_interval: float = 20.0  # seconds of silence before a Ping
    ping_timeout: float = 10.0
    backoff_min: float = 0.5
    backoff_max: float = 2.0  # reconnect wait while Asterisk is expected back
    expect_back: float = 300.0  # after this long down, the wait may grow to backoff_max_long
    backoff_max_long: float = 30.0
    boot_timeout: float = 60.0  # longest wait for FullyBooted after login
    reconcile_cdr: bool = True  # after each reconnect, calls we missed from Asterisk's CDR/queue log
    cdr_margin: float = 60.0  # read CDRs that ended this long before we last heard Asterisk
    cdr_lookback: float = 3600.0  # a fresh bridge reads at most this far back


@lru_cache
def get_telephony_settings() -> TelephonySettings:
    return TelephonySettings()


_embedded_target: AMITarget | None = None


def set_embedded_target(target: AMITarget | None) -> None:
    """Used by ``telephony.demo`` when it runs its own AMI server (no Asterisk configured)."""
    global _embedded_target
    _embedded_target = target


def ami_target() -> AMITarget | None:
    """Where Asterisk's AMI is: the configured server, else the embedded demo server, else None."""
    s = get_settings()
    if s.ami_host:
        return AMITarget(s.ami_host, s.ami_port, s.ami_username, s.ami_secret)
    return _embedded_target
