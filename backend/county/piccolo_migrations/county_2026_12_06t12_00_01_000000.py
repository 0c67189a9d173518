"""The key of county_rollup_household_month (the previous migration), which covers its reads, and
its rows, made from the households already rolled up (no rebuild needed)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-06T12:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "county_rollup_household_month: its key and its rows"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)

    async def run() -> None:
        from backend.db import engine

        db = engine()
        month = (
            "date(day, 'start of month')"
            if db.engine_type == "sqlite"
            else "CAST(date_trunc('month', day) AS date)"
        )
        await db.run_ddl(
            'CREATE UNIQUE INDEX county_rollup_household_month_key ON '
            '"county_rollup_household_month" ("county", "month", "household_code")'
        )
        await db.run_ddl(
            "INSERT INTO county_rollup_household_month (county, month, household_code) "
            f"SELECT DISTINCT county, {month}, household_code FROM county_rollup_household"
        )

    manager.add_raw(run)
    return manager
