"""A product's code and a mapped text are unique in their county (unique indexes: Piccolo cannot
add composite unique keys on SQLite)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T08:01:42:000000"
VERSION = "1.38.0"
DESCRIPTION = "catalogue: codes and texts unique per county"

INDEXES = (
    'CREATE UNIQUE INDEX catalogue_product_county_code ON "catalogue_product" ("county", "code")',
    'CREATE UNIQUE INDEX catalogue_text_county_text ON "catalogue_text" ("county", "text")',
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="catalogue", description=DESCRIPTION)

    async def run() -> None:
        from backend.db import engine

        for statement in INDEXES:
            await engine().run_ddl(statement)

    manager.add_raw(run)
    return manager
