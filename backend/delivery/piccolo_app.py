import os

from piccolo.conf.apps import AppConfig

from backend.delivery.tables import HubLeg

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="delivery",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[HubLeg],
    migration_dependencies=["backend.ledger.piccolo_app"],
    commands=[],
)
