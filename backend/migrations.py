"""Applying Piccolo's migrations programmatically (the app never creates tables itself)."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder


async def migrate(quiet: bool = True) -> None:
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{sink.getvalue()}")


async def pending_migrations() -> list[str]:
    """Migration ids that exist in the code but have not been applied to this database."""
    if not await Migration.table_exists():
        return ["(none applied yet)"]
    applied = {row["name"] for row in await Migration.select(Migration.name)}
    manager = BaseMigrationManager()
    pending = []
    finder = Finder()
    for app_name in finder.get_sorted_app_names():
        app_config = finder.get_app_config(app_name)
        for migration_id in manager.get_migration_ids(
            manager.get_migration_modules(str(app_config.migrations_folder_path))
        ):
            if migration_id not in applied:
                pending.append(f"{app_config.app_name}:{migration_id}")
    return pending


def sql_migration(migration_id: str, app_name: str, description: str, statements: list[str]):
    """A hand-written migration of plain SQL that runs the same on SQLite and PostgreSQL.

    Used for what Piccolo's auto migrations cannot express portably: composite unique indexes.
    """
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name=app_name, description=description
        )

        async def run() -> None:
            from backend.db import engine

            for statement in statements:
                await engine().run_ddl(statement)

        manager.add_raw(run)
        return manager

    return forwards
