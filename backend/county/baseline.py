"""The county's baseline (基数): its 网络零售额, 农产品上行 and 工业品下行 of a year before the
ledger began (or of its first year), as the county reported them. Growth compares the year to
date with the same days a year before; the ledger knows nothing of the days before its first
entry, so for those days the baseline of their year stands in, prorated by days (a whole year
in December compares the whole year).

    get(county_id) -> {"year", "retail_fen", "upward_sales_fen", "downward_sales_fen"} | None
    put(user, county_id, year, amounts) -> the same, after the change (audited)
    year_before(ledger_before, baseline, first, last, ledger_begins)
        -> (figures, {key: "ledger" | "baseline"})
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

from backend import clock, db
from backend.accounts.schemas import CurrentUser
from backend.accounts.service import audit
from backend.county.definitions import unmeasured_days
from backend.county.store import places, programme_rows
from backend.county.store.programme_rows import BaselineRow
from backend.errors import DomainError

# The figures a baseline holds (FIGURE_KEYS of definitions.py).
KEYS = ("retail_fen", "upward_sales_fen", "downward_sales_fen")
MAX_FEN = 10**15
FIRST_YEAR = 2000


async def get(county_id: uuid.UUID) -> dict[str, Any] | None:
    async with db.read_transaction():
        row = await programme_rows.baseline(county_id)
    return msgspec.structs.asdict(row) if row else None


async def put(
    user: CurrentUser, county_id: uuid.UUID, year: int, amounts: dict[str, int]
) -> dict[str, Any]:
    """Set the baseline (the three figures, in fen, of one year before today's)."""
    async with db.read_transaction():
        county = await places.county(county_id)
    last = county.today().year - 1
    if not FIRST_YEAR <= year <= last:
        raise DomainError("county_invalid_baseline_year", field="year", first=FIRST_YEAR, last=last)
    for key in KEYS:
        if not 0 <= amounts.get(key, 0) <= MAX_FEN:
            raise DomainError("county_invalid_baseline_amount", field=key)
    row = BaselineRow(year=year, **{key: amounts.get(key, 0) for key in KEYS})
    async with db.write_transaction():
        await programme_rows.set_baseline(county_id, row, clock.utcnow())
        await audit(
            user,
            "county.baseline_set",
            "county",
            county_id,
            county_id=county_id,
            **msgspec.structs.asdict(row),
        )
    return msgspec.structs.asdict(row)


def year_before(
    ledger_before: dict[str, int],
    baseline: BaselineRow | None,
    first: datetime.date,
    last: datetime.date,
    ledger_begins: datetime.date,
) -> tuple[dict[str, int], dict[str, str]]:
    """The same days a year before, [first, last]: the ledger's figures of them, and for the days
    before the ledger began, the baseline's share of its year for those days, when the baseline
    is of that year and holds the figure (its source then "baseline")."""
    sources = {key: "ledger" for key in KEYS}
    gap = unmeasured_days(first, last, ledger_begins)
    if gap is None or baseline is None or baseline.year != gap[0].year:
        return ledger_before, sources
    year_days = (datetime.date(baseline.year + 1, 1, 1) - datetime.date(baseline.year, 1, 1)).days
    share = ((gap[1] - gap[0]).days + 1) / year_days
    filled = dict(ledger_before)
    for key in KEYS:
        annual = getattr(baseline, key)
        if annual > 0:
            filled[key] = ledger_before[key] + round(annual * share)
            sources[key] = "baseline"
    return filled, sources
