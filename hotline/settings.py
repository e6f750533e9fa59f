"""Settings from the environment (prefix ``HOTLINE_``), with safe embedded defaults.

The embedded default keeps every file under ``HOTLINE_DATA_DIR`` (``./var``): the SQLite
database, the Celery broker database and a generated secret key, so nothing secret lives in
the repository.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""
    redis_url: str = ""
    secret_key: str = ""
    token_ttl_seconds: int = 8 * 3600
    # New passwords: at least this long (and hotline/passwords.py's other rules).
    password_min_length: int = Field(default=10, ge=8, le=64)
    # Open SSE streams re-check their user (disabled, tokens revoked) this often, in seconds.
    stream_auth_recheck_seconds: float = Field(default=10.0, gt=0)
    # Login limiting per (client address, username) pair (hotline.auth.login_wait): this many failures
    # free, then a wait doubling from login_backoff_seconds up to login_backoff_max_seconds; failures
    # count for login_window_seconds. One address: login_client_max_failures over all names.
    login_max_failures: int = Field(default=5, ge=1)
    login_backoff_seconds: float = Field(default=2.0, gt=0)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    login_window_seconds: int = Field(default=3600, ge=1)
    login_client_max_failures: int = Field(default=100, ge=1)
    phone_region: str = "CN"
    timezone: str = "Asia/Shanghai"
    # Seconds between deadline sweeps (Celery beat); down to 1 for drills.
    sweep_interval_seconds: float = 60.0
    # Seconds between rounds of routing new tickets (Celery beat): how soon proposals, 并单 and 直派 follow.
    routing_interval_seconds: float = Field(default=1.0, gt=0)
    ami_host: str = ""
    ami_port: int = 5038
    ami_username: str = ""
    ami_secret: str = ""
    classifier_model_dir: str = ""
    log_level: str = "INFO"
    cors_origins: list[str] = Field(default_factory=list)
    # Reverse proxies (addresses or networks, comma separated) whose X-Forwarded-For is believed;
    # empty: the peer's own address is the client, whatever the request says.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request bodies: larger ones answer 413 before they are read whole (routes may allow more).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_import_bytes: int = Field(16 * 1024 * 1024, ge=1024)  # 派单目录 and 地名库 imports
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1024)  # one attachments upload, all its files
    # escalation: deadlines sweep, 督办 notifications, 回访
    drill: bool = False  # HOTLINE_DRILL=1: sweep every second (limits in seconds: `hotline drill`)
    calling_hours: str = ""  # "09:00-20:00" local time; empty: escalation/default.yaml's
    escalation_config_file: str = ""  # a YAML merged over escalation/default.yaml
    escalation_item_delay: float = 0.0  # fault injection for tests: seconds spent per ticket swept
    sms_gateway_url: str = ""  # HTTP SMS gateway; empty: the notification_sms_outbox table
    sms_gateway_token: str = ""
    smtp_host: str = ""  # empty: no e-mail channel
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "12345-noreply@localhost"
    smtp_starttls: bool = False
    survey_base_url: str = "http://127.0.0.1:8000"  # where citizens open /survey/{token}
    # attachments (hotline/attachments.py): where files live, and what is accepted
    attachment_store: str = "disk"  # disk | s3
    attachment_dir: Path | None = None  # disk store; default $DATA_DIR/attachments
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_max_per_ticket: int = 30
    # empty: hotline/attachments.py's DEFAULT_TYPES (photos, PDF, office documents, voice, video)
    attachment_types: list[str] = Field(default_factory=list)
    s3_endpoint_url: str = ""  # an S3-compatible store (MinIO, Ceph, OBS, OSS); empty: AWS
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_prefix: str = "attachments/"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def resolved_data_dir(self) -> Path:
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'hotline.sqlite3'}"

    @property
    def effective_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        # Embedded broker: kombu's SQLAlchemy transport on a SQLite file, a real broker
        # that needs no server.
        return f"sqla+sqlite:///{self.resolved_data_dir() / 'broker.sqlite3'}"

    @property
    def effective_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        if self.redis_url:
            return self.redis_url
        return f"db+sqlite:///{self.resolved_data_dir() / 'results.sqlite3'}"

    @property
    def effective_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        # Embedded default: a random key generated once and kept in the data dir.
        key_file = self.resolved_data_dir() / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()

    def resolved_attachment_dir(self) -> Path:
        path = (self.attachment_dir or self.resolved_data_dir() / "attachments").expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def effective_sweep_interval(self) -> float:
        return 1.0 if self.drill else self.sweep_interval_seconds

    @property
    def is_embedded(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
