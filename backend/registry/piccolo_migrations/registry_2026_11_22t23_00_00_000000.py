from backend.migrations import sql_migration

ID = "2026-11-22T23:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys of the registry"

forwards = sql_migration(
    ID,
    "registry",
    DESCRIPTION,
    [
        'CREATE UNIQUE INDEX registry_township_county_name ON "registry_township" ("county", "name")',
        'CREATE UNIQUE INDEX registry_village_township_name ON "registry_village" ("township", "name")',
        'CREATE UNIQUE INDEX registry_station_county_code ON "registry_station" ("county", "code")',
        'CREATE UNIQUE INDEX registry_household_county_code ON "registry_household" ("county", "code")',
    ],
)
