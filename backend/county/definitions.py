"""One definition per figure: what a rollup line of each kind adds to the county's figures.

Pure arithmetic over rollup lines (no reads), shared by the read model (figures.py), the trends
and the workbook, so a figure is defined in exactly one place.

FIGURE_KEYS: retail_fen (网络零售额: 代购 + 代销), farm_retail_fen (农产品网络零售额: 代销 of
farm produce — all but those of a catalogue product of category `other`), upward_sales_fen
(农产品上行: the same 代销, as the seeds name it), downward_sales_fen (工业品下行: 代购),
parcels_in (代收), parcels_out (代发), farm_parcels_out, parcels_picked_up, parcels_returned,
parcels_overdue, purchases, sales, services, services_fen, income_fen (站点收入: what the
station keeps, its fees and commissions; not the 代发 postage), postage_fen (代发 postage the
villagers paid, passed on to the couriers), poverty_entries, poverty_amount_fen (惠及脱贫户
交易额: what stations sold, bought or sent for 脱贫户), poverty_sales_fen (its 代销),
poverty_purchases_fen (its 代购), poverty_payout_fen (what the 脱贫户 were paid out for their
produce: their 代销 less the commission), checkins, reversals.

PROVINCE_FIGURE_KEYS: the figures the province's day body carries (cunzhan.county-day.v1; the
poverty split came later and is left out, so that no day sent before is owed again for it).

POOR_VILLAGE_KEYS: the figures also summed over the stations in 贫困村 (rows 19/20 of
docs/programme.md): retail_fen, upward_sales_fen and poverty_amount_fen (what those stations sold,
bought or paid for 脱贫户) (`poor_village_figures`).
"""

from __future__ import annotations

import datetime
import uuid
from collections import defaultdict
from collections.abc import Iterable

from backend.county.store.rollup_rows import (
    FIGURES,
    OVERDUE_KIND,
    REVERSED_KIND,
    KindLine,
    StationSumLine,
)

FIGURE_KEYS = (
    "retail_fen",
    "farm_retail_fen",
    "upward_sales_fen",
    "downward_sales_fen",
    "parcels_in",
    "parcels_out",
    "farm_parcels_out",
    "parcels_picked_up",
    "parcels_returned",
    "parcels_overdue",
    "purchases",
    "sales",
    "services",
    "services_fen",
    "income_fen",
    "postage_fen",
    "poverty_entries",
    "poverty_amount_fen",
    "poverty_sales_fen",
    "poverty_purchases_fen",
    "poverty_payout_fen",
    "checkins",
    "reversals",
)
POVERTY_SPLIT = ("poverty_sales_fen", "poverty_purchases_fen", "poverty_payout_fen")
PROVINCE_FIGURE_KEYS = tuple(key for key in FIGURE_KEYS if key not in POVERTY_SPLIT)
PROVINCE_KIND_FIGURES = tuple(key for key in FIGURES if key != "poverty_fee_fen")
CHECKIN_KIND = "checkin_recorded"
# Kinds the rollups keep beside the keeper's cashbook: what the pages' per-kind tables leave out.
NOT_IN_CASHBOOK = (OVERDUE_KIND, REVERSED_KIND, "parcel_moved", "cash_counted", "training_attended")


# One definition per figure ---------------------------------------------------------------------

# A dispatch's fee is the postage, passed on to the courier: not the station's income.
POSTAGE_KIND = "parcel_dispatched"


def income_of(kind: str, fee_fen: int) -> int:
    """What a line's fees add to the station's income (站点收入)."""
    return 0 if kind == POSTAGE_KIND else fee_fen


def empty_figures() -> dict[str, int]:
    return dict.fromkeys(FIGURE_KEYS, 0)


def add_to_figures(figures: dict[str, int], line: KindLine) -> None:
    """What one rollup line adds to the county's headline figures."""
    kind, count, amount = line.kind, line.count, line.amount_fen
    figures["income_fen"] += income_of(kind, line.fee_fen)
    if kind == POSTAGE_KIND:
        figures["postage_fen"] += line.fee_fen
    figures["poverty_entries"] += line.poverty_count
    figures["poverty_amount_fen"] += line.poverty_amount_fen
    if kind == "purchase_ordered":
        figures["purchases"] += count
        figures["retail_fen"] += amount
        figures["downward_sales_fen"] += amount
        figures["poverty_purchases_fen"] += line.poverty_amount_fen
    elif kind == "sale_recorded":
        figures["sales"] += count
        figures["poverty_sales_fen"] += line.poverty_amount_fen
        # The 脱贫户 are paid their sales less the station's commission (sale.recorded).
        figures["poverty_payout_fen"] += line.poverty_amount_fen - line.poverty_fee_fen
        figures["retail_fen"] += amount
        # A 代销 of a catalogue product that is not farm produce is retail, not 上行.
        figures["farm_retail_fen"] += line.farm_amount_fen
        figures["upward_sales_fen"] += line.farm_amount_fen
    elif kind == "parcel_received":
        figures["parcels_in"] += count
    elif kind == "parcel_dispatched":
        figures["parcels_out"] += count
        figures["farm_parcels_out"] += line.farm_count
    elif kind == "parcel_picked_up":
        figures["parcels_picked_up"] += count
    elif kind == "parcel_returned":
        figures["parcels_returned"] += count
    elif kind == OVERDUE_KIND:
        figures["parcels_overdue"] += count
    elif kind.startswith("service_"):
        figures["services"] += count
        figures["services_fen"] += amount
    elif kind == CHECKIN_KIND:
        figures["checkins"] += count
    elif kind == REVERSED_KIND:
        figures["reversals"] += count


def figures_of(lines: Iterable[KindLine]) -> dict[str, int]:
    figures = empty_figures()
    for line in lines:
        add_to_figures(figures, line)
    return figures


POOR_VILLAGE_KEYS = ("retail_fen", "upward_sales_fen", "poverty_amount_fen")


def poor_village_figures(
    lines: Iterable[StationSumLine], poor_stations: set[uuid.UUID]
) -> dict[str, int]:
    """网络零售额, 农产品上行 and 惠及脱贫户金额 of the stations whose village is a 贫困村
    (`poor_stations`), each defined as for the county."""
    figures = figures_of(line for line in lines if line.station in poor_stations)
    return {key: figures[key] for key in POOR_VILLAGE_KEYS}


def kinds_of(
    lines: Iterable[KindLine], keys: tuple[str, ...] = FIGURES
) -> dict[str, dict[str, int]]:
    """Per kind, the sums of every rollup figure (of `keys`)."""
    kinds: dict[str, dict[str, int]] = {}
    for line in lines:
        into = kinds.setdefault(line.kind, dict.fromkeys(keys, 0))
        for key in keys:
            into[key] += getattr(line, key)
    return kinds


def activity_kind(kind: str) -> str:
    """The pages show one line for all services (service_phone_topup…)."""
    return "service" if kind.startswith("service_") else kind


def activity_of(lines: Iterable[KindLine]) -> dict[str, dict[str, int]]:
    """The pages' per-kind table: count, amount, fee (for 代发: the postage) and the station's
    income per kind of the keeper's cashbook."""
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "amount": 0, "fee": 0, "income": 0}
    )
    for line in lines:
        if line.kind in NOT_IN_CASHBOOK:
            continue
        into = totals[activity_kind(line.kind)]
        into["count"] += line.count
        into["amount"] += line.amount_fen
        into["fee"] += line.fee_fen
        into["income"] += income_of(line.kind, line.fee_fen)
    return totals


def growth_pct(now: int, before: int) -> float | None:
    """Year-on-year growth in percent, one decimal; None when there is nothing to compare with."""
    if before <= 0:
        return None
    return round((now - before) * 100.0 / before, 1)


NO_BASE = "no_base"
# The same days a year before began before the county's ledger did: it holds only the later part
# of them, and a growth against that part would read as the county's growth (a county that began
# in October compared its whole next year with ten weeks).
PARTIAL_BASE = "partial_base"


def growth_reason(name: str, actual: float | None, partial: bool = False) -> str | None:
    """Why a growth (a name ending in `growth_pct`) has no value: nothing in the same days a
    year before to grow from (NO_BASE), or only part of them in the ledger (PARTIAL_BASE); shown
    as "—" with the reason, never as 0 %."""
    if actual is not None or not name.endswith("growth_pct"):
        return None
    return PARTIAL_BASE if partial else NO_BASE


def measured_growth(now: int, before: int, partial: bool) -> tuple[float | None, str | None]:
    """A growth and why it has none: PARTIAL_BASE when the days a year before are only partly in
    the ledger, NO_BASE when nothing was there to grow from."""
    if partial:
        return None, PARTIAL_BASE
    if before <= 0:
        return None, NO_BASE
    return growth_pct(now, before), None


def ledger_begins(
    programme_start: datetime.date, first_entry: datetime.date | None
) -> datetime.date:
    """The first day the county's ledger counts: its programme start (from which the county
    reports every day, a day without entries as an empty one), or its first entry if earlier."""
    return min(programme_start, first_entry) if first_entry else programme_start


def unmeasured_days(
    first: datetime.date, last: datetime.date, begins: datetime.date
) -> tuple[datetime.date, datetime.date] | None:
    """The days of [first, last] before the county's ledger began (`ledger_begins`), if any: the
    ledger knows nothing of them, neither an empty day nor a busy one."""
    if first >= begins or first > last:
        return None
    return first, min(last, begins - datetime.timedelta(days=1))


def partly_measured(first: datetime.date, last: datetime.date, begins: datetime.date) -> bool:
    """[first, last] began before the ledger did and ends after: the ledger holds only part."""
    return first < begins <= last


def share_pct(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal; None when there is no whole to take a share of
    (the poor share of 培训人次, the legs delivered within 48 h)."""
    if whole <= 0:
        return None
    return round(part * 100.0 / whole, 1)
