"""Phones to their normal form (11 ASCII digits), so the unique index is unique on it.

Rows written before normalisation may hold " 138…", "138…\n", "+86 138…" or full-width digits.
Each is rewritten to its normal form unless another row already holds that form (that row is
the account people log in to; the odd one is left for staff to close and is logged)."""

import logging

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "normal form of account and household phones"

log = logging.getLogger("cunzhan.migrations")


async def normalize_column(table: str) -> None:
    from backend import db
    from backend.phones import is_mobile, normalize_phone

    async with db.write_transaction():
        rows = await db.fetch(f'SELECT id, phone FROM "{table}"')
        taken = {row["phone"] for row in rows}
        for row in rows:
            phone = row["phone"] or ""
            normal = normalize_phone(phone)
            if normal == phone or not is_mobile(normal):
                continue
            if normal in taken:
                log.warning("%s %s: phone of another row once normalised; left", table, row["id"])
                continue
            await db.execute(f'UPDATE "{table}" SET phone = $1 WHERE id = $2', normal, row["id"])
            taken.add(normal)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def run() -> None:
        await normalize_column("accounts_user")
        await normalize_column("registry_household")

    manager.add_raw(run)
    return manager
