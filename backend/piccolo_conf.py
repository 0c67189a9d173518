"""Piccolo's configuration: the engine comes from CUNZHAN_DATABASE_URL (see settings.py)."""

from piccolo.conf.apps import AppRegistry

from backend.db import engine_from_url
from backend.settings import get_settings

DB = engine_from_url(get_settings().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.registry.piccolo_app",
        "backend.accounts.piccolo_app",
        "backend.ledger.piccolo_app",
        "backend.notify.piccolo_app",
        "backend.jobs.piccolo_app",
        "backend.county.piccolo_app",
        "backend.training.piccolo_app",
        "backend.delivery.piccolo_app",
        "backend.trace.piccolo_app",
        "backend.catalogue.piccolo_app",
        "backend.province.piccolo_app",
    ]
)
