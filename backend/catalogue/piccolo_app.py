import os

from piccolo.conf.apps import AppConfig

from backend.catalogue.tables import CatalogueProduct, CatalogueText

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="catalogue",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[CatalogueProduct, CatalogueText],
    migration_dependencies=["backend.registry.piccolo_app"],
    commands=[],
)
