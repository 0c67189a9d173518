"""Trace batches: one harvest or packing of one product, with the code printed on its labels.

The origin household is kept for the county (a failed inspection marks it) and never shown on the
public page. `scans` is the count of the public page's visits, raised by one UPDATE per visit; the
same visit adds one to the batch's county-local day in `trace_scan_day`, in the same transaction,
so a batch's `scans` is always the sum of its days.

Composite unique keys are unique indexes created by a raw-SQL migration (Piccolo cannot add them
on SQLite).
"""

from piccolo.columns import (
    UUID,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County, Household, Station, Village


class TraceBatch(Table, tablename="trace_batch"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=40, unique=True)  # county code + 8 Crockford base32 characters
    product = Varchar(length=60)
    village = ForeignKey(Village, on_delete=OnDelete.restrict, null=True, default=None)
    household = ForeignKey(Household, on_delete=OnDelete.restrict, null=True, default=None)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=True, default=None)
    harvested_on = Date(null=True, default=None)
    # Thousandths of the unit (12.5 kg = 12500): Numeric goes through float on SQLite.
    quantity_milli = BigInt(null=True, default=None)
    unit = Varchar(length=8, default="")  # kg | jin | box | piece | item, "" = none
    inspection = Varchar(length=8, default="")  # passed | failed, "" = not inspected
    brand = Varchar(length=40, default="")
    certification = Varchar(length=16, default="")  # pollution_free | green | organic | geo
    scans = Integer(default=0)
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TraceScanDay(Table, tablename="trace_scan_day"):
    """Per batch and county-local day: how many visits of the batch's public page counted (one
    row per batch and day, unique by index; nothing about the visitor)."""

    batch = ForeignKey(TraceBatch, on_delete=OnDelete.cascade, null=False)
    county = UUID()  # the batch's county, copied: the county's days are read by (county, day)
    day = Date()
    scans = Integer(default=0)
