"""The event log and the projections kept from it.

`Event` rows are written once and never updated or deleted by any code path; each station's events
form a hash chain (`ChainHead` holds its tip and serialises writers per station). Everything else
here is a projection that `cunzhan rebuild` can recompute from the events alone.

Composite and partial unique indexes (one seq per station, one on-shelf parcel per pickup code…)
are created by raw-SQL migrations, as Piccolo cannot add them on SQLite.
"""

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.accounts.tables import User
from backend.registry.tables import County, Station


class Event(Table, tablename="ledger_event"):
    id = UUID(primary_key=True)  # the client's UUID: the key of exactly-once
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=False)
    # Read by county through ledger_event_county_date (county, business_date).
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False)
    seq = Integer()  # 1, 2, 3… per station
    device_id = UUID()
    keeper = ForeignKey(User, on_delete=OnDelete.restrict, null=False)
    type = Varchar(length=32)
    occurred_at = Timestamptz()  # the phone's clock
    received_at = Timestamptz()  # the server's clock
    business_date = Date(index=True)  # the county-local day the entry counts for
    data = Text()  # canonical JSON of the validated data, as hashed
    server_data = Text(default="{}")  # what the server decided (an assigned pickup code)
    content_hash = Varchar(length=64)  # type + occurred_at + data: duplicate vs conflict
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
    # Dated in this closed month ('YYYY-MM'), counted on `business_date` of the next open one.
    adjusts_month = Varchar(length=7, null=True, default=None)


class ChainHead(Table, tablename="ledger_chain"):
    """The tip of a station's chain; locking this row serialises that station's writers."""

    station = ForeignKey(Station, on_delete=OnDelete.restrict, primary_key=True)
    last_seq = Integer(default=0)
    last_hash = Varchar(length=64)


class Conflict(Table, tablename="ledger_conflict"):
    """An audit of refused rewrites: an id sent again with other content (the original stays)."""

    event_id = UUID(index=True)
    station = UUID(index=True)  # the station that tried; may differ from the event's
    device_id = UUID()
    keeper = UUID()
    content_hash = Varchar(length=64)
    received_at = Timestamptz()


class Reversal(Table, tablename="ledger_reversal"):
    """Which entry a reversal undid; the primary key makes a second reversal impossible."""

    target = UUID(primary_key=True)
    reversal = UUID(unique=True)
    station = UUID(index=True)


class Parcel(Table, tablename="ledger_parcel"):
    """代收: a parcel dropped at the station for a villager, from receipt to pickup or return."""

    id = UUID(primary_key=True)  # the parcel.received event
    # Read by station and by county through wider indexes that begin with them (migrations).
    station = UUID()
    county = UUID()
    tracking_no = Varchar(length=40)
    carrier = Varchar(length=8)
    recipient_phone = Varchar(length=11)
    recipient_name = Varchar(length=40, default="")
    pickup_code = Varchar(length=24)
    proposed_code = Varchar(length=24, default="")
    state = Varchar(length=12)  # on_shelf | picked_up | returned | reversed
    received_at = Timestamptz()
    received_date = Date()
    closed_event = UUID(null=True, default=None)  # the pickup or return
    closed_at = Timestamptz(null=True, default=None)
    fee_fen = Integer(default=0)
    return_reason = Varchar(length=200, default="")
    package = Varchar(length=8, default="")  # "1/3": one package of a JD number, its own parcel


class Purchase(Table, tablename="ledger_purchase"):
    """代购: goods ordered online for a villager, from order to hand-over."""

    id = UUID(primary_key=True)  # the purchase.ordered event
    station = UUID(index=True)
    county = UUID(index=True)
    platform = Varchar(length=16)
    item = Varchar(length=100)
    amount_fen = BigInt()
    commission_fen = BigInt()
    customer_phone = Varchar(length=11, default="")
    household_code = Varchar(length=24, default="")
    state = Varchar(length=12)  # ordered | delivered | reversed
    ordered_at = Timestamptz()
    delivered_event = UUID(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)


class Dispatch(Table, tablename="ledger_dispatch"):
    """代发: parcels sent by villagers; the basis of the logistics subsidy."""

    id = UUID(primary_key=True)  # the parcel.dispatched event
    station = UUID(index=True)
    # Read by county (a month's claims, in the order they are paid: ledger_dispatch_claim holds
    # every column the workbook shows) and by number (_tracking_claim).
    county = UUID()
    tracking_no = Varchar(length=40)
    carrier = Varchar(length=8)
    weight_g = Integer()
    fee_fen = BigInt()
    destination = Varchar(length=100)
    farm_product = Boolean()
    household_code = Varchar(length=24, default="")
    business_date = Date(index=True)
    received_at = Timestamptz()
    reversed = Boolean(default=False)


class CashbookEntry(Table, tablename="ledger_cashbook"):
    """Per station, county-local day and kind: how many, the amounts and the fees/commissions."""

    station = UUID()
    day = Date()
    kind = Varchar(length=32)
    # The schema's column name hides Table.count() on this table (no code counts rows with it).
    count = Integer(default=0)  # type: ignore[assignment]
    amount_fen = BigInt(default=0)
    fee_fen = BigInt(default=0)


class Month(Table, tablename="ledger_month"):
    """A station's month under review (县级审核): open, submitted by the keeper, or closed by the
    county (its figures never change; later entries of it count in the next open month).
    One row per station and month ('YYYY-MM'), unique by a raw-SQL index; no row means open."""

    station = UUID(index=True)
    month = Varchar(length=7)
    state = Varchar(length=12)  # open | submitted | closed
    submitted_at = Timestamptz(null=True, default=None)
    submitted_by = UUID(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = UUID(null=True, default=None)
    reopened_at = Timestamptz(null=True, default=None)
    reopened_by = UUID(null=True, default=None)
    reason = Varchar(length=200, default="")
