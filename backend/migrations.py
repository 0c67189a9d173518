"""Applying Piccolo's migrations programmatically (the app never creates tables itself)."""

from __future__ import annotations

import contextlib
import importlib
import io
import pkgutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

from piccolo.apps.migrations.tables import Migration

if TYPE_CHECKING:  # the manager's module imports `black`: only `cunzhan migrate` loads it
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.columns import Column


async def migrate(quiet: bool = True) -> None:
    # Piccolo's migration commands import its app machinery and `black` (~8 MB): only here, in
    # `cunzhan migrate`, never in a serving process (whose readiness check lists them below).
    from piccolo.apps.migrations.commands.forwards import run_forwards

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
    return [f"{app}:{migration_id}" for app, migration_id in known_migrations()
            if migration_id not in applied]  # fmt: skip


def known_migrations() -> Iterator[tuple[str, str]]:
    """(app, migration id) of every migration in the code, each app's in id order: the modules
    of each capability's piccolo_migrations package, read for their ID as Piccolo reads them (a
    test holds this equal to Piccolo's own listing)."""
    from backend.piccolo_conf import APPS

    for app in APPS:
        package = importlib.import_module(f"backend.{app}.piccolo_migrations")
        found = []
        for module_info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            if migration_id := getattr(module, "ID", None):
                found.append(migration_id)
        yield from ((app, migration_id) for migration_id in sorted(found))


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


def drop_column_indexes(
    manager: MigrationManager,
    table_class_name: str,
    tablename: str,
    columns: list[tuple[str, type[Column]]],
) -> None:
    """Add to a migration the dropping of the indexes `index=True` made on these (column name,
    column class) pairs, as Piccolo's auto migrations write it (`alter_column`), so its record of
    the schema stays the tables'."""
    for column, column_class in columns:
        manager.alter_column(
            table_class_name=table_class_name,
            tablename=tablename,
            column_name=column,
            db_column_name=column,
            params={"index": False},
            old_params={"index": True},
            column_class=column_class,
            old_column_class=column_class,
            schema=None,
        )


def add_table(
    manager: MigrationManager,
    class_name: str,
    tablename: str,
    columns: tuple[tuple[str, type[Column], dict], ...],
) -> None:
    """Add to a hand-written migration a new table and its (name, column class, params) columns
    (`add_column`; Piccolo adds the `id` primary key itself)."""
    manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for name, column_class, params in columns:
        add_column(manager, class_name, tablename, name, column_class, params)


def add_column(
    manager: MigrationManager,
    class_name: str,
    tablename: str,
    name: str,
    column_class: type[Column],
    params: dict,
) -> None:
    """Add to a hand-written migration a column as Piccolo's auto migrations write it: NOT NULL,
    no index, unless `params` say otherwise."""
    from piccolo.columns.indexes import IndexMethod

    manager.add_column(
        table_class_name=class_name,
        tablename=tablename,
        column_name=name,
        db_column_name=name,
        column_class_name=column_class.__name__,
        column_class=column_class,
        params={
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
            **params,
        },
        schema=None,
    )
