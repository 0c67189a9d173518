"""The county's rollup tables read whole, for tests that compare a refresh with a rebuild and the
tables with each other and with the log."""

from __future__ import annotations

import datetime

from backend import db
from backend.county.store import rollup_rows

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
FIGURES = ", ".join(rollup_rows.FIGURES)


async def snapshot() -> tuple[list, ...]:
    """Every rollup table, every column but the ids."""
    async with db.read_transaction():
        rows = await db.fetch(
            f"SELECT station, county, day, kind, {FIGURES} FROM county_rollup "
            "ORDER BY station, day, kind"
        )
        totals = await db.fetch(
            f"SELECT county, day, kind, {FIGURES} FROM county_rollup_total "
            "ORDER BY county, day, kind"
        )
        months = await db.fetch(
            f"SELECT station, county, month, kind, {FIGURES} FROM county_rollup_month "
            "ORDER BY station, month, kind"
        )
        served = await db.fetch(
            "SELECT station, county, day, household_code FROM county_rollup_household "
            "ORDER BY station, day, household_code"
        )
        served_months = await db.fetch(
            "SELECT county, month, household_code FROM county_rollup_household_month "
            "ORDER BY county, month, household_code"
        )
    return (
        [tuple(str(v) for v in row.values()) for row in rows],
        [tuple(str(v) for v in row.values()) for row in totals],
        [tuple(str(v) for v in row.values()) for row in months],
        [tuple(str(v) for v in row.values()) for row in served],
        [tuple(str(v) for v in row.values()) for row in served_months],
    )


async def households_agree_with_log(at_least: int = 20) -> None:
    """The households kept per station and day are those the log's standing sales, purchases
    and dispatches name (惠及脱贫户 counts the 脱贫户 among them)."""
    code = (
        "json_extract(e.data, '$.household_code')"
        if db.is_sqlite()
        else "(e.data::jsonb ->> 'household_code')"
    )
    async with db.read_transaction():
        logged = await db.fetch(
            f"SELECT DISTINCT e.station, e.business_date AS day, {code} AS code "
            "FROM ledger_event e LEFT JOIN ledger_reversal r ON r.target = e.id "
            "WHERE e.type IN ('sale.recorded', 'purchase.ordered', 'parcel.dispatched') "
            "AND r.target IS NULL"
        )
        kept = await db.fetch("SELECT station, day, household_code FROM county_rollup_household")
    from_log = {(str(r["station"]), str(r["day"]), r["code"]) for r in logged if r["code"]}
    assert len(from_log) > at_least
    assert {(str(r["station"]), str(r["day"]), r["household_code"]) for r in kept} == from_log
    # The county's households per month are the daily rows' own, each once.
    async with db.read_transaction():
        months = await db.fetch(
            "SELECT county, month, household_code FROM county_rollup_household_month"
        )
        daily = await db.fetch("SELECT county, day, household_code FROM county_rollup_household")
    per_month = [(str(r["county"]), str(r["month"])[:7], r["household_code"]) for r in months]
    assert len(per_month) == len(set(per_month))
    assert set(per_month) == {
        (str(r["county"]), str(r["day"])[:7], r["household_code"]) for r in daily
    }


async def daily_rows() -> list[dict]:
    async with db.read_transaction():
        return await db.fetch(
            "SELECT station, county, day, kind, count, amount_fen, fee_fen, farm_count, "
            "poverty_count, poverty_amount_fen, farm_amount_fen, poverty_fee_fen FROM county_rollup"
        )


def summed(rows: list[dict], key) -> dict[tuple, list[int]]:
    sums: dict[tuple, list[int]] = {}
    for row in rows:
        line = sums.setdefault(key(row), [0] * len(rollup_rows.FIGURES))
        for index, name in enumerate(rollup_rows.FIGURES):
            line[index] += int(row[name])
    return sums


async def month_rows_agree_with_days() -> None:
    """The month rows are the daily rows summed, and a station's sums over any range (whole
    months from the month rows, the ends from the days) equal the daily rows summed over it."""
    daily = await daily_rows()
    async with db.read_transaction():
        months = await db.fetch(f"SELECT station, month, kind, {FIGURES} FROM county_rollup_month")
    by_month = summed(daily, lambda r: (str(r["station"]), str(r["day"])[:7], r["kind"]))
    assert summed(months, lambda r: (str(r["station"]), str(r["month"])[:7], r["kind"])) == {
        key: line for key, line in by_month.items() if any(line)
    }
    today = datetime.datetime.now(SHANGHAI).date()
    county = daily[0]["county"]
    for first, last in [
        (today - datetime.timedelta(days=40), today),
        (today.replace(day=1), today),
        (today - datetime.timedelta(days=16), today - datetime.timedelta(days=3)),
        ((today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1), today),
        (today.replace(month=1, day=1), today + datetime.timedelta(days=40)),
    ]:
        async with db.read_transaction():
            lines = await rollup_rows.station_sums(db.as_uuid(county), first, last)
        got = {(str(line.station), line.kind): list(line.figures().values()) for line in lines}
        inside = [
            r for r in daily
            if r["county"] == county and first <= db.as_date(r["day"]) <= last
        ]  # fmt: skip
        want = summed(inside, lambda r: (str(r["station"]), r["kind"]))
        assert got == want, (first, last)


def same_rows(incremental: tuple, full: tuple) -> None:
    """The refresh's rows (counted in Python) and the rebuild's (counted in SQL), table by
    table."""
    for mine, theirs in zip(incremental, full, strict=True):
        only_incremental = sorted(set(mine) - set(theirs))
        only_full = sorted(set(theirs) - set(mine))
        assert not only_incremental and not only_full, (only_incremental, only_full)
