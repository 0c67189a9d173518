"""Piccolo's configuration: the engine comes from CUNZHAN_DATABASE_URL (see settings.py).

The app registry is made only when something asks for it (`cunzhan migrate`, the migrations'
listing): Piccolo's app machinery imports `black` (~8 MB) to format the migrations it writes,
which a serving process never does (backend/db.py reads DB directly for the same reason).
"""

from __future__ import annotations

import functools
from typing import Any

from backend.db import engine_from_url
from backend.settings import get_settings

DB = engine_from_url(get_settings().database_url)

# The capabilities owning tables, each with its piccolo_app.py and piccolo_migrations/.
APPS = (
    "registry",
    "accounts",
    "ledger",
    "notify",
    "jobs",
    "county",
    "training",
    "delivery",
    "trace",
    "catalogue",
    "province",
)


@functools.cache
def _app_registry() -> Any:
    from piccolo.conf.apps import AppRegistry

    return AppRegistry(apps=[f"backend.{app}.piccolo_app" for app in APPS])


def __getattr__(name: str) -> Any:
    if name == "APP_REGISTRY":
        return _app_registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
