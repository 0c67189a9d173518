import os

from piccolo.conf.apps import AppConfig

from backend.trace.tables import TraceBatch, TraceScanDay

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="trace",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[TraceBatch, TraceScanDay],
    migration_dependencies=["backend.registry.piccolo_app"],
    commands=[],
)
