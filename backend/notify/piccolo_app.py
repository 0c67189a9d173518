import os

from piccolo.conf.apps import AppConfig

from backend.notify.tables import (
    Delivery,
    InboxItem,
    Notice,
    PushSubscription,
    VapidKey,
    VillagerSms,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="notify",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[VapidKey, PushSubscription, Notice, InboxItem, Delivery, VillagerSms],
    migration_dependencies=["backend.ledger.piccolo_app", "backend.accounts.piccolo_app"],
    commands=[],
)
