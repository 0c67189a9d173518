"""Month close, the county's side: a closed station-month's figures never change.

The figures of a station-month depend on the log and on the county's values: its 脱贫户 flags,
its villages' 贫困村 flags, which catalogue products are not farm produce, its parcel return days
and its subsidy rule. The log of a closed month never changes (late entries count in the next
open month, undoing one of its entries is refused: ledger/months.py); the county's values may. So
closing a station's month calls `freeze`, in the close's own transaction, with the station's
chain locked (no sync of the station can slip in between):
- the station's rollup rows of the month are recomputed from the log with the county's values of
  that moment, written, and kept in county_frozen_rollup; every later refresh or rebuild writes
  those rows back for those days instead of recomputing them (frozen_rows.keep_frozen);
- its subsidy claim as it stands is kept whole, with the rule it was counted under
  (subsidies.monthly_claims reads it back);
- its village's 贫困村 flag is kept, and the poor-village sums use it for that month
  (`poor_village_sums`).
The county's sums per day are sums of the station rows, so the kpis, the pages, the workbook, the
CSV and the province report (all read through figures.py) show the frozen figures. Reopening
calls `thaw`, in the reopen's transaction: the frozen rows are dropped and the station's month
recomputed with the county's values now; a province day whose figures changed is then owed as its
next revision, as for any change (reporting.py). A month closed before closing froze anything is
frozen by the rollup job's next run (`freeze_missing`), with the county's values of that run.
"""

from __future__ import annotations

import datetime
import uuid

from backend import db
from backend.county import rollups, subsidies
from backend.county.definitions import POOR_VILLAGE_KEYS, poor_village_figures
from backend.county.service import next_month
from backend.county.store import frozen_rows, places, rollup_rows
from backend.county.store.frozen_rows import FrozenMonth
from backend.ledger import months
from backend.params import parse_month


def _days_of(month: str) -> set[datetime.date]:
    first, last = parse_month(month)
    return {first + datetime.timedelta(days=n) for n in range((last - first).days + 1)}


async def freeze(station_id: uuid.UUID, county_id: uuid.UUID, month: str) -> None:
    """Inside the close's write transaction: the station-month as it stands, kept."""
    days = _days_of(month)
    figures = await rollups.station_month(station_id, county_id, days)
    county = await places.county(county_id)
    (station,) = [s for s in await places.stations(county_id) if s.id == station_id]
    claim = await subsidies.station_claim_json(county_id, month, station_id)
    frozen = FrozenMonth(
        station=station_id,
        month=month,
        poor_village=station.poor_village,
        fen_per_parcel=county.subsidy_fen_per_parcel,
        farm_only=county.subsidy_farm_only,
        monthly_cap_fen=county.subsidy_monthly_cap_fen,
        claim=claim,
    )
    await frozen_rows.save(county_id, frozen, figures)
    await rollups.write_station_month(station_id, county_id, days, figures)


async def thaw(station_id: uuid.UUID, county_id: uuid.UUID, month: str) -> None:
    """Inside the reopen's write transaction: the station-month counted again, as of now."""
    await frozen_rows.drop(station_id, month)
    days = _days_of(month)
    figures = await rollups.station_month(station_id, county_id, days)
    await rollups.write_station_month(station_id, county_id, days, figures)


async def freeze_missing(county_id: uuid.UUID) -> int:
    """Months closed without their figures kept (closed before closing froze them): frozen now,
    with the county's values now, each re-checked under the station's chain lock (a reopen may
    have come in between). Run by the rollup job; returns how many it froze."""
    closed = await months.closed_in_county(county_id)
    async with db.read_transaction():
        kept = await frozen_rows.months_of(sorted({station for station, _ in closed}, key=str))
    frozen = 0
    for station_id, month in closed:
        if month in kept.get(station_id, ()):
            continue
        async with db.write_transaction():
            if await months.still_closed(station_id, month) and not await frozen_rows.is_frozen(
                station_id, month
            ):
                await freeze(station_id, county_id, month)
                frozen += 1
    return frozen


async def freeze_missing_everywhere() -> int:
    async with db.read_transaction():
        counties = await places.county_ids()
    return sum([await freeze_missing(county_id) for county_id in counties])


def _months_between(first: datetime.date, last: datetime.date):
    """(month, its first day, its last day) of each month of [first, last], clipped to it. Plain
    calendar arithmetic: the year before the programme's first (2014) is asked for too."""
    start = first
    while start <= last:
        month = months.month_key(start)
        end = min(next_month(start) - datetime.timedelta(days=1), last)
        yield month, start, end
        start = end + datetime.timedelta(days=1)


async def poor_village_sums(
    county_id: uuid.UUID,
    first: datetime.date,
    last: datetime.date,
    poor_now: set[uuid.UUID],
    whole: list[rollup_rows.StationSumLine] | None = None,
) -> dict[str, int]:
    """Inside a read: 网络零售额, 农产品上行 and 惠及脱贫户金额 over [first, last] of the stations
    whose village is a 贫困村: by the registry's flag today, but by the flag frozen with it for a
    station's closed month (one read for the range when nothing in it is frozen; `whole`: the
    range's station sums when the caller has read them already)."""
    segments = list(_months_between(first, last))
    frozen = await frozen_rows.of_county(county_id, [month for month, _, _ in segments])
    if not frozen:
        if whole is None:  # the 贫困村's stations only: the figures are theirs
            whole = await rollup_rows.station_sums(county_id, first, last, poor_now)
        return poor_village_figures(whole, poor_now)
    flags = {(row.station, row.month): row.poor_village for row in frozen}
    sums = dict.fromkeys(POOR_VILLAGE_KEYS, 0)
    for month, start, end in segments:
        lines = await rollup_rows.station_sums(county_id, start, end)
        poor = {
            line.station
            for line in lines
            if flags.get((line.station, month), line.station in poor_now)
        }
        for key, value in poor_village_figures(lines, poor).items():
            sums[key] += value
    return sums
