"""The farm sales' amounts of the rollups already kept: until the catalogue, every 代销 was farm
produce, so a `sale_recorded` line's farm amount is its amount (and its farm count its count).
No county has a catalogue yet, so the rule the rows were computed with is the empty catalogue's
(`products_hash` ""): nothing has to be rebuilt."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T08:01:39:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollups: every 代销 kept so far is farm produce"

STATEMENTS = tuple(
    f"UPDATE {table} SET farm_amount_fen = amount_fen, farm_count = count "
    "WHERE kind = 'sale_recorded'"
    for table in ("county_rollup", "county_rollup_total")
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)

    async def run() -> None:
        from backend.db import engine

        for statement in STATEMENTS:
            await engine().run_ddl(statement)

    manager.add_raw(run)
    return manager
