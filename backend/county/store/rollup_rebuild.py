"""A rebuild's rollup rows, counted and written by the database from the log: per station, day
and kind (county_rollup), the parcels fallen overdue, and the households served
(county_rollup_household), each one `INSERT … SELECT … GROUP BY` over the stations' standing
entries. No entry passes through Python: a county's rebuild reads millions.

county_rollup's rows are counted into a temporary table first (`start_recount`), which
county_rollup then takes (`take_recount`): only rows that changed are written. A rebuild after a
new rule changes few rows (the log itself never changes), and writing every row into the table's
three indexes again was a third of such a rebuild's time.

The rule is `rollups.event_figures` (the incremental refresh's, in Python) written in SQL; the
incremental-versus-rebuild test (tests/test_county_rollups.py) holds the two to the same rows for
every kind of entry. Inside the caller's write transaction."""

from __future__ import annotations

import datetime
import functools
import sys
import uuid

from backend import db
from backend.county.store.rollup_households import SERVING_TYPES
from backend.county.store.rollup_months import FIGURES
from backend.county.store.rollup_rows import OVERDUE_KIND, REVERSED_KIND


@functools.cache
def whitespace() -> str:
    """What Python's str.strip() takes off a sale's product text (NotFarm.is_farm), for SQL's
    trim (its own takes only spaces). Found once, when a rebuild first needs it: the walk over
    every code point costs ~50 ms, which every process start paid when it ran at import."""
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


# An entry's fields the figures read, from its JSON (SQLite: `data`; PostgreSQL: `j`, parsed
# once per entry).
_SQLITE_FIELDS = {
    "service": "json_extract(data, '$.service')",
    "farm_product": "json_extract(data, '$.farm_product')",
    "product_code": "json_extract(data, '$.product_code')",
    "product": "json_extract(data, '$.product')",
    "household": "json_extract(data, '$.household_code')",
    "amount": "json_extract(data, '$.amount_fen')",
    "fee": "json_extract(data, '$.fee_fen')",
    "commission": "json_extract(data, '$.commission_fen')",
}
_POSTGRES_FIELDS = {
    "service": "(j ->> 'service')",
    "farm_product": "((j ->> 'farm_product') = 'true')",
    "product_code": "(j ->> 'product_code')",
    "product": "(j ->> 'product')",
    "household": "(j ->> 'household_code')",
    "amount": "(j ->> 'amount_fen')::bigint",
    "fee": "(j ->> 'fee_fen')::bigint",
    "commission": "(j ->> 'commission_fen')::bigint",
}

# The standing entries of the stations (not reversed; a month's adjusting check-in counts for
# nothing), as the refresh reads them (ledger_reads._STANDING).
_STANDING = (
    "SELECT e.station AS station, e.business_date AS day, e.type AS type, {data} "
    "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
    "WHERE e.station IN ({stations}) AND r.target IS NULL "
    "AND NOT (e.type = 'checkin.recorded' AND e.adjusts_month IS NOT NULL)"
)

# Each entry's kind and what it adds (event_figures): a reversal counts once and adds nothing; a
# pickup's fee is its storage fee; a dispatch is farm produce by its flag, a sale unless its
# catalogue product (by code, else its text as mapped) is not; a 脱贫户's entry counts for the
# poverty figures.
# On SQLite `LIMIT -1` (every row) keeps the planner from folding this into the aggregate that
# reads it, where each column was computed again in every SUM naming it (`poor`, its JSON and its
# list lookup, three times): computed once per entry, the statement takes ~10 % less.
_ENTRIES = """
SELECT station, day, type,
  CASE WHEN type = 'entry.reversed' THEN '{reversed}'
       WHEN type = 'service.recorded' THEN 'service_' || {service}
       ELSE replace(type, '.', '_') END AS kind,
  CASE WHEN type = 'entry.reversed' THEN 0 ELSE COALESCE({amount}, 0) END AS amount,
  CASE WHEN type = 'entry.reversed' THEN 0
       WHEN type = 'parcel.picked_up' THEN COALESCE({fee}, 0)
       ELSE COALESCE({fee}, {commission}, 0) END AS fee,
  CASE WHEN type = 'parcel.dispatched' THEN (CASE WHEN {farm_product} THEN 1 ELSE 0 END)
       WHEN type = 'sale.recorded' THEN (CASE WHEN {sale_is_farm} THEN 1 ELSE 0 END)
       ELSE 0 END AS farm,
  CASE WHEN type <> 'entry.reversed' AND {household} IN (
         SELECT code FROM registry_household WHERE county = $1 AND poverty = $2)
       THEN 1 ELSE 0 END AS poor
FROM standing {all_rows}
"""

_COLUMNS = ", ".join(FIGURES)
_RECOUNT = "rollup_recount"  # the connection's own temporary table
_COUNTED = (
    f"INSERT INTO {_RECOUNT} (station, county, day, kind, {_COLUMNS}) "
    + """
SELECT station, {county}, day, kind, COUNT(*), SUM(amount), SUM(fee), SUM(farm), SUM(poor),
  SUM(amount * poor), SUM(CASE WHEN type = 'sale.recorded' THEN amount * farm ELSE 0 END),
  SUM(fee * poor)
FROM entries GROUP BY station, day, kind
"""
)


async def start_recount() -> None:
    """Inside the caller's write: an empty recount, made on the connection's first rebuild."""
    integer = "INTEGER" if db.is_sqlite() else "BIGINT"
    figures = ", ".join(f"{key} {integer} NOT NULL" for key in FIGURES)
    without_rowid = " WITHOUT ROWID" if db.is_sqlite() else ""
    await db.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_RECOUNT} (station UUID NOT NULL, "
        f"county UUID NOT NULL, day DATE NOT NULL, kind VARCHAR(32) NOT NULL, {figures}, "
        f"PRIMARY KEY (station, day, kind)){without_rowid}"
    )
    await db.execute(f"DELETE FROM {_RECOUNT}")


_CHANGED = " OR ".join(f"county_rollup.{key} <> excluded.{key}" for key in ("county", *FIGURES))
_TAKE_RECOUNT = f"""
INSERT INTO county_rollup (station, county, day, kind, {_COLUMNS})
SELECT station, county, day, kind, {_COLUMNS} FROM {_RECOUNT} WHERE true
ON CONFLICT (station, day, kind) DO UPDATE
SET county = excluded.county, {", ".join(f"{key} = excluded.{key}" for key in FIGURES)}
WHERE {_CHANGED}
"""


async def take_recount(stations: list[uuid.UUID]) -> None:
    """county_rollup's rows of the stations become the recount's: those it lacks deleted, those
    that differ updated, new ones inserted, the rest left as they are. The recount is emptied:
    the connection keeps no rows of it between rebuilds."""
    await db.execute(
        f"DELETE FROM county_rollup WHERE station IN ({db.in_list(stations)}) AND NOT EXISTS ("
        f"SELECT 1 FROM {_RECOUNT} r WHERE r.station = county_rollup.station "
        "AND r.day = county_rollup.day AND r.kind = county_rollup.kind)",
        *stations,
    )
    await db.execute(_TAKE_RECOUNT)
    await db.execute(f"DELETE FROM {_RECOUNT}")


def _not_in(value: str, listed: list[str], start: int) -> str:
    """`value` is none of `listed` (parameters from `$start`; PostgreSQL has no empty IN)."""
    if not listed:
        return "1 = 1"
    return f"{value} NOT IN ({db.in_list(listed, start)})"


def _typed(number: int, sql_type: str) -> str:
    """A parameter in a SELECT list (PostgreSQL cannot infer its type there)."""
    return f"${number}" if db.is_sqlite() else f"${number}::{sql_type}"


async def count_entries(
    county_id: uuid.UUID,
    stations: list[uuid.UUID],
    not_farm_codes: frozenset[str],
    not_farm_texts: frozenset[str],
) -> None:
    """The stations' rows of every kind of entry over their whole history, and the households
    they served (on PostgreSQL in the same statement: each entry's JSON parsed once)."""
    sqlite = db.is_sqlite()
    fields = dict(_SQLITE_FIELDS if sqlite else _POSTGRES_FIELDS)
    codes, texts = sorted(not_farm_codes), sorted(not_farm_texts)
    # $1 the county, $2 TRUE, the stations, the codes, then the whitespace and the texts if any.
    args: list = [county_id, True, *stations, *codes]
    code_rule = _not_in(fields["product_code"], codes, 3 + len(stations))
    text_rule = "1 = 1"
    if texts:
        text_rule = _not_in(f"trim({fields['product']}, ${len(args) + 1})", texts, len(args) + 2)
        args += [whitespace(), *texts]
    fields["sale_is_farm"] = (
        f"(CASE WHEN COALESCE({fields['product_code']}, '') <> '' THEN {code_rule} "
        f"ELSE {text_rule} END)"
    )
    standing = _STANDING.format(
        data="e.data AS data" if sqlite else "e.data::jsonb AS j",
        stations=db.in_list(stations, 3),
    )
    entries = _ENTRIES.format(
        reversed=REVERSED_KIND, all_rows="LIMIT -1" if sqlite else "", **fields
    )
    counted = _COUNTED.format(county=_typed(1, "uuid"))
    served = _SERVED.format(county=_typed(1, "uuid"), household=fields["household"])
    if sqlite:
        await db.execute(f"WITH standing AS ({standing}), entries AS ({entries}) {counted}", *args)
        await db.execute(f"WITH standing AS ({standing}) {served}", *args[: 2 + len(stations)])
        return
    await db.execute(
        f"WITH standing AS MATERIALIZED ({standing}), entries AS ({entries}), "
        f"served AS ({served}) {counted}",
        *args,
    )


# The households named by the standing sales, purchases and dispatches, per station and day.
_SERVED = (
    "INSERT INTO county_rollup_household (station, county, day, household_code) "
    "SELECT DISTINCT station, {county}, day, code FROM ("
    "SELECT station, day, {household} AS code FROM standing "
    f"WHERE type IN ({', '.join(repr(kind) for kind in SERVING_TYPES)})"
    ") served WHERE code IS NOT NULL AND code <> ''"
)


_OVERDUE = f"""
INSERT INTO {_RECOUNT} (station, county, day, kind, {_COLUMNS})
SELECT station, {{county}}, due, '{OVERDUE_KIND}', COUNT(*), 0, 0, 0, 0, 0, 0, 0
FROM (SELECT p.station AS station, {{due}} AS due, c.business_date AS closed
      FROM ledger_parcel p LEFT JOIN ledger_event c ON c.id = p.closed_event
      WHERE p.station IN ({{stations}}) AND p.state <> 'reversed') parcels
WHERE due <= $2 AND (closed IS NULL OR closed >= due)
GROUP BY station, due
"""


async def count_overdue(
    county_id: uuid.UUID, stations: list[uuid.UUID], return_days: int, today: datetime.date
) -> None:
    """The stations' parcels fallen overdue: on the day N days after each came, if it was still
    on the shelf that day began (never reversed), through today."""
    shift: str | int
    if db.is_sqlite():
        due, shift = "date(p.received_date, $3)", f"+{return_days} days"
    else:
        due, shift = "(p.received_date + $3::integer)", return_days
    await db.execute(
        _OVERDUE.format(county=_typed(1, "uuid"), due=due, stations=db.in_list(stations, 4)),
        county_id,
        today,
        shift,
        *stations,
    )
