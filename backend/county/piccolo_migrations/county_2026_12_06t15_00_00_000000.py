"""county_rollup_state.products_rule: the catalogue's rule itself (its non-farm codes and the
texts mapped to them) beside its digest, so that a rule changed since can be followed by
recounting only the months of the sales whose side it changed (rollups.follow_catalogue). An
existing county's rule is not known ("") until its next refresh with entries to count records
it (minutes, where keepers are syncing); a change before that rebuilds the county, as before."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text

from backend.migrations import add_column

ID = "2026-12-06T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollup state: the catalogue rule the rollups were computed with"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)
    add_column(
        manager, "RollupState", "county_rollup_state", "products_rule", Text, {"default": ""}
    )
    return manager
