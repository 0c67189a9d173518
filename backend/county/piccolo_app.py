import os

from piccolo.conf.apps import AppConfig

from backend.county.tables import (
    Baseline,
    FrozenMonth,
    FrozenRollup,
    Milestone,
    Programme,
    ProvinceAttempt,
    ProvinceReport,
    Rollup,
    RollupHousehold,
    RollupHouseholdMonth,
    RollupMark,
    RollupMonth,
    RollupState,
    RollupTotal,
    Target,
    TownshipTarget,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="county",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        Rollup,
        RollupTotal,
        RollupMonth,
        RollupHousehold,
        RollupHouseholdMonth,
        RollupMark,
        RollupState,
        ProvinceReport,
        ProvinceAttempt,
        Programme,
        Target,
        Baseline,
        TownshipTarget,
        FrozenMonth,
        FrozenRollup,
        Milestone,
    ],
    migration_dependencies=["backend.ledger.piccolo_app"],
    commands=[],
)
