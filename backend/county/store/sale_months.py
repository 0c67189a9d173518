"""county_sale_month: each station's standing 代销 (`sale.recorded` that no reversal took back)
per month, grouped alike in product text, catalogue code, unit and trace batch; and
county_sale_month_mark, how far each station's chain is counted into it.

A station's month is recounted whole from the log (`recount`), never incremented: a month of one
station is ~100 sales, and a recount cannot drift from the log. A year of a county is ~300,000
sales whose JSON the page no longer parses per request; it sums ~20,000 month rows instead."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from backend import db


class SaleGroup(msgspec.Struct, frozen=True):
    """Standing 代销 alike in product text, catalogue code, unit and trace batch ("" for no code
    or batch): how many, and their quantities and amounts summed."""

    product: str
    product_code: str
    unit: str
    batch_code: str
    sales: int
    quantity: float
    amount_fen: int


class Behind(msgspec.Struct, frozen=True):
    """A station whose chain has events not yet counted: (counted_seq, last_seq]."""

    station: uuid.UUID
    counted_seq: int
    last_seq: int


_GROUP = ("product", "product_code", "unit", "batch_code")
_FIELDS = (*_GROUP, "quantity", "amount_fen")


def _recount_sql() -> str:
    """Insert the station's standing sales of [$3, $4) grouped per month ($1 station, $2 county)."""
    field = {name: db.json_field("e.data", name) for name in _FIELDS}
    if db.is_sqlite():
        month, county = "date(e.business_date, 'start of month')", "$2"
    else:
        field["quantity"] += "::float8"
        field["amount_fen"] += "::bigint"
        month, county = "date_trunc('month', e.business_date)::date", "$2::uuid"
    group = ", ".join(f"COALESCE({field[name]}, '')" for name in _GROUP)
    return (
        "INSERT INTO county_sale_month (station, county, month, product, product_code, unit, "
        "batch_code, sales, quantity, amount_fen) "
        f"SELECT $1, {county}, {month}, {group}, COUNT(*), "
        f"SUM({field['quantity']}), SUM({field['amount_fen']}) "
        "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
        "WHERE e.station = $1 AND e.business_date >= $3 AND e.business_date < $4 "
        "AND e.type = 'sale.recorded' AND r.target IS NULL "
        "GROUP BY 3, 4, 5, 6, 7"
    )


async def recount(
    station_id: uuid.UUID, county_id: uuid.UUID, start: datetime.date, end: datetime.date
) -> None:
    """The station's months from `start` (a first day) to before `end` counted again from the
    log."""
    await db.execute(
        "DELETE FROM county_sale_month WHERE station = $1 AND month >= $2 AND month < $3",
        station_id,
        start,
        end,
    )
    await db.execute(_recount_sql(), station_id, county_id, start, end)


async def behind(county_id: uuid.UUID) -> list[Behind]:
    """The county's stations with events not yet counted."""
    rows = await db.fetch(
        "SELECT h.station, COALESCE(m.counted_seq, 0) AS counted_seq, h.last_seq "
        "FROM registry_station s JOIN ledger_chain h ON h.station = s.id "
        "LEFT JOIN county_sale_month_mark m ON m.station = s.id "
        "WHERE s.county = $1 AND h.last_seq > COALESCE(m.counted_seq, 0) ORDER BY h.station",
        county_id,
    )
    return [
        Behind(db.as_uuid(row["station"]), int(row["counted_seq"]), int(row["last_seq"]))
        for row in rows
    ]


async def touched_days(
    station_id: uuid.UUID, after: int, through: int
) -> list[tuple[uuid.UUID, datetime.date]]:
    """The (station, day) of the sales among the station's events (after, through], and of the
    sales its reversals among them took back."""
    rows = await db.fetch(
        "SELECT e.station, e.business_date AS day FROM ledger_event e "
        "WHERE e.station = $1 AND e.seq > $2 AND e.seq <= $3 AND e.type = 'sale.recorded' "
        "UNION SELECT t.station, t.business_date AS day FROM ledger_event e "
        "JOIN ledger_reversal r ON r.reversal = e.id JOIN ledger_event t ON t.id = r.target "
        "WHERE e.station = $1 AND e.seq > $2 AND e.seq <= $3 AND t.type = 'sale.recorded'",
        station_id,
        after,
        through,
    )
    return [(db.as_uuid(row["station"]), db.as_date(row["day"])) for row in rows]


async def set_marks(county_id: uuid.UUID, marks: dict[uuid.UUID, int]) -> None:
    await db.executemany(
        "INSERT INTO county_sale_month_mark (station, county, counted_seq) VALUES ($1, $2, $3) "
        "ON CONFLICT (station) DO UPDATE SET counted_seq = excluded.counted_seq",
        [(station_id, county_id, seq) for station_id, seq in marks.items()],
    )


async def forget(county_id: uuid.UUID) -> None:
    """The county's rows and marks dropped: the next catch-up counts its whole history."""
    await db.execute("DELETE FROM county_sale_month WHERE county = $1", county_id)
    await db.execute("DELETE FROM county_sale_month_mark WHERE county = $1", county_id)


async def serialise(county_id: uuid.UUID) -> None:
    """One catch-up of a county at a time on PostgreSQL (SQLite has a single writer anyway); a
    key of its own, not the rollups' (rollup_rows.serialise)."""
    if not db.is_sqlite():
        key = int.from_bytes(county_id.bytes[8:], "big", signed=True)
        await db.fetch("SELECT pg_advisory_xact_lock($1)", key)


async def county_groups(county_id: uuid.UUID) -> list[SaleGroup]:
    """The county's standing sales, its months summed per group (a few hundred groups)."""
    rows = await db.fetch(
        "SELECT product, product_code, unit, batch_code, SUM(sales) AS n, "
        "SUM(quantity) AS quantity, SUM(amount_fen) AS amount_fen FROM county_sale_month "
        "WHERE county = $1 GROUP BY product, product_code, unit, batch_code",
        county_id,
    )
    return [
        SaleGroup(
            product=row["product"],
            product_code=row["product_code"],
            unit=row["unit"],
            batch_code=row["batch_code"],
            sales=int(row["n"]),
            quantity=float(row["quantity"]),
            amount_fen=int(row["amount_fen"]),
        )
        for row in rows
    ]


async def months_with(
    county_id: uuid.UUID, texts: frozenset[str], codes: frozenset[str]
) -> dict[uuid.UUID, set[datetime.date]]:
    """Per station, the months (their first days) of its standing sales that name one of
    `codes`, or that name no code and whose text, trimmed, is one of `texts`."""
    rows = await db.fetch(
        "SELECT DISTINCT station, month, product, product_code FROM county_sale_month "
        "WHERE county = $1",
        county_id,
    )
    months: dict[uuid.UUID, set[datetime.date]] = {}
    for row in rows:
        code = row["product_code"]
        if (code in codes) if code else (row["product"].strip() in texts):
            months.setdefault(db.as_uuid(row["station"]), set()).add(db.as_date(row["month"]))
    return months
