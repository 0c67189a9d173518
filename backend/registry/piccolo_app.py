import os

from piccolo.conf.apps import AppConfig

from backend.registry.tables import (
    County,
    Household,
    Station,
    StationFile,
    StationPhoto,
    Township,
    Village,
    VillagePoverty,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="registry",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        County,
        Township,
        Village,
        VillagePoverty,
        Station,
        Household,
        StationFile,
        StationPhoto,
    ],
    migration_dependencies=[],
    commands=[],
)
