"""Configuration read once from the environment; every knob has a working default."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeAlias

from litestar import Request
from litestar.di import NamedDependency
from litestar.types import Scope

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _read_or_create_secret(path: Path) -> str:
    """The secret is generated once and kept, so sessions and CSRF tokens survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    database_read_url: str = ""  # a PostgreSQL read replica for pages and exports (replica.py)
    host: str = "127.0.0.1"
    port: int = 8000
    scheduler_enabled: bool = True
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    keeper_session_days: int = 60
    staff_session_idle_hours: int = 12
    login_max_failures_per_phone: int = 5  # per (phone, address)
    login_max_failures_per_phone_global: int = 20  # per phone from all addresses
    login_max_failures_per_address: int = 30
    login_window_minutes: int = 15
    api_rate_limit_per_minute: int = 1200
    redis_url: str = ""
    metrics_token: str = ""
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:ops@cunzhan.invalid"
    sms_url: str = ""
    sms_key: str = ""
    sms_template: str = ""
    wechat_url: str = ""
    wechat_key: str = ""
    wechat_template: str = ""
    province_url: str = ""
    province_secret: str = ""
    # Where villagers reach this server (https://…, no trailing slash): the pickup SMS links to
    # its tracking page. Empty: the SMS has no link.
    public_url: str = ""
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))


def _read_url(database_url: str) -> str:
    read_url = os.environ.get("CUNZHAN_DATABASE_READ_URL", "")
    if read_url.startswith("postgres://"):
        read_url = "postgresql://" + read_url.removeprefix("postgres://")
    if read_url and not (
        read_url.startswith("postgresql://") and database_url.startswith("postgresql://")
    ):
        raise SystemExit(
            "CUNZHAN_DATABASE_READ_URL is a PostgreSQL read replica of a PostgreSQL "
            "CUNZHAN_DATABASE_URL (postgresql://user@host:port/db); SQLite has none"
        )
    return read_url


def _public_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        raise SystemExit(
            "CUNZHAN_PUBLIC_URL must be http(s)://host[/path], the address villagers reach"
        )
    return url


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("CUNZHAN_DATA_DIR") or REPO_ROOT / "data").resolve()
    database_url = os.environ.get("CUNZHAN_DATABASE_URL") or f"sqlite:///{data_dir / 'cunzhan.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if not (database_url.startswith("sqlite:///") or database_url.startswith("postgresql://")):
        raise SystemExit(
            "CUNZHAN_DATABASE_URL must be sqlite:///path or postgresql://user@host:port/db"
        )
    database_read_url = _read_url(database_url)
    secret_key = os.environ.get("CUNZHAN_SECRET_KEY") or _read_or_create_secret(
        data_dir / "secret_key"
    )
    proxies = os.environ.get("CUNZHAN_TRUSTED_PROXIES", "")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        database_read_url=database_read_url,
        secret_key=secret_key,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=_env_int("PORT", 8000),
        scheduler_enabled=_env_bool("CUNZHAN_SCHEDULER", True),
        secure_cookies=_env_bool("CUNZHAN_SECURE_COOKIES", False),
        trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip()),
        keeper_session_days=_env_int("CUNZHAN_KEEPER_SESSION_DAYS", 60),
        staff_session_idle_hours=_env_int("CUNZHAN_STAFF_SESSION_IDLE_HOURS", 12),
        login_max_failures_per_phone=_env_int("CUNZHAN_LOGIN_MAX_FAILURES_PER_PHONE", 5),
        login_max_failures_per_phone_global=_env_int(
            "CUNZHAN_LOGIN_MAX_FAILURES_PER_PHONE_GLOBAL", 20
        ),
        login_max_failures_per_address=_env_int("CUNZHAN_LOGIN_MAX_FAILURES_PER_ADDRESS", 30),
        login_window_minutes=_env_int("CUNZHAN_LOGIN_WINDOW_MINUTES", 15),
        api_rate_limit_per_minute=_env_int("CUNZHAN_API_RATE_LIMIT_PER_MINUTE", 1200),
        redis_url=os.environ.get("CUNZHAN_REDIS_URL", ""),
        metrics_token=os.environ.get("CUNZHAN_METRICS_TOKEN", ""),
        vapid_private_key=os.environ.get("CUNZHAN_VAPID_PRIVATE_KEY", ""),
        vapid_subject=os.environ.get("CUNZHAN_VAPID_SUBJECT", "mailto:ops@cunzhan.invalid"),
        sms_url=os.environ.get("CUNZHAN_SMS_URL", ""),
        sms_key=os.environ.get("CUNZHAN_SMS_KEY", ""),
        sms_template=os.environ.get("CUNZHAN_SMS_TEMPLATE", ""),
        wechat_url=os.environ.get("CUNZHAN_WECHAT_URL", ""),
        wechat_key=os.environ.get("CUNZHAN_WECHAT_KEY", ""),
        wechat_template=os.environ.get("CUNZHAN_WECHAT_TEMPLATE", ""),
        province_url=os.environ.get("CUNZHAN_PROVINCE_URL", ""),
        province_secret=os.environ.get("CUNZHAN_PROVINCE_SECRET", ""),
        public_url=_public_url(os.environ.get("CUNZHAN_PUBLIC_URL", "")),
        log_level=os.environ.get("CUNZHAN_LOG_LEVEL", "INFO"),
        log_json=_env_bool("CUNZHAN_LOG_JSON", True),
    )


@cache
def get_settings() -> Settings:
    return load_settings()


# A handler parameter `settings: AppSettings` receives this app's settings.
AppSettings: TypeAlias = NamedDependency[Settings]


def scope_settings(scope: Scope) -> Settings:
    """The settings of the app serving this request, for middleware and guards (which see the
    ASGI scope, not handler dependencies)."""
    return scope["litestar_app"].state.settings


async def provide_settings(request: Request) -> Settings:
    """The `settings` dependency: the settings this app was built with (tests build apps with
    their own), so handlers never read the process-wide ones."""
    return request.app.state.settings
