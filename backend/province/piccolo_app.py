import os

from piccolo.conf.apps import AppConfig

from backend.province.tables import StoredLine

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="province",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[StoredLine],
    migration_dependencies=["backend.county.piccolo_app"],
    commands=[],
)
