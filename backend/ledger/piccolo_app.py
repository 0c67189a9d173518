import os

from piccolo.conf.apps import AppConfig

from backend.ledger.tables import (
    CashbookEntry,
    ChainHead,
    Conflict,
    Dispatch,
    Event,
    Month,
    Parcel,
    Purchase,
    Reversal,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        Event,
        ChainHead,
        Conflict,
        Reversal,
        Parcel,
        Purchase,
        Dispatch,
        CashbookEntry,
        Month,
    ],
    migration_dependencies=["backend.accounts.piccolo_app"],
    commands=[],
)
