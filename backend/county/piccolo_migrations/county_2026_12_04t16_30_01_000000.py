"""The rows the rollups already kept, for their new `poverty_fee_fen` (the previous migration).

The counties' rollup states are dropped, so the next read of a county's figures rebuilds its
rollups from the log (county/rollups.py), the new column included. A closed station-month keeps
its frozen rows through that rebuild: those of a month frozen before this migration get the
commissions in proportion to the 脱贫户's share of the day's 代销 (exact when a day's sales were
all, or none, for 脱贫户); a reopen recounts them from the log."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T16:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollups: rebuilt for the 脱贫户's commissions; frozen months' in proportion"

STATEMENTS = (
    "UPDATE county_frozen_rollup SET poverty_fee_fen = fee_fen * poverty_amount_fen / amount_fen "
    "WHERE kind = 'sale_recorded' AND poverty_amount_fen > 0 AND amount_fen > 0",
    "DELETE FROM county_rollup_state",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="county", description=DESCRIPTION)

    async def run() -> None:
        from backend.db import engine

        for statement in STATEMENTS:
            await engine().run_ddl(statement)

    manager.add_raw(run)
    return manager
