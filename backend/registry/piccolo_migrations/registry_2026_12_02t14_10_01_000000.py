from backend.migrations import sql_migration

ID = "2026-12-02T14:10:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "township and village codes unique per county when given"

forwards = sql_migration(
    ID,
    "registry",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX registry_township_county_code ON "registry_township" ("county", "code") '
        "WHERE \"code\" <> ''",
        'CREATE UNIQUE INDEX registry_village_county_code ON "registry_village" ("county", "code") '
        "WHERE \"code\" <> ''",
    ],
)
