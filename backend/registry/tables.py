"""County → township → village → station, and households. Stations close; nothing is deleted.

Composite unique keys (a township name per county, a station code per county…) are unique
indexes created in this app's migrations: Piccolo's Unique constraint cannot be added on SQLite.
"""

from piccolo.columns import (
    UUID,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class County(Table, tablename="registry_county"):
    id = UUID(primary_key=True)
    name = Varchar(length=80)
    code = Varchar(length=16, unique=True)
    province = Varchar(length=80, default="")
    timezone = Varchar(length=64, default="Asia/Shanghai")
    # Weekly check-in: the reminder goes out on this ISO weekday (1 = Monday) at this local hour,
    # a second nudge a day later.
    checkin_reminder_weekday = Integer(default=1)
    checkin_reminder_hour = Integer(default=9)
    # Parcels on the shelf: free for N days, then a daily fee up to a cap, returned after M days.
    parcel_free_days = Integer(default=3)
    parcel_daily_fee_fen = Integer(default=50)
    parcel_fee_cap_fen = Integer(default=300)
    parcel_return_days = Integer(default=7)
    # Programme targets in percent (乡镇 100%, 行政村 ≥ 60%, 贫困村 ≥ 50%).
    target_township_pct = Integer(default=100)
    target_village_pct = Integer(default=60)
    target_poor_village_pct = Integer(default=50)
    # Logistics subsidy (物流补贴): fen per qualifying dispatched parcel, monthly cap per station.
    subsidy_fen_per_parcel = Integer(default=100)
    subsidy_farm_only = Boolean(default=True)
    subsidy_monthly_cap_fen = Integer(default=50000)
    # Month close (月结): a station's month is on time when submitted and closed by this day of
    # the month after (the 5th by default).
    month_close_day = Integer(default=5)
    # 岳普湖's rule: a household whose last N trace batches in a row failed inspection loses the
    # logistics subsidy from the Nth one's day (trace/inspections.py); 0 = no such rule.
    subsidy_withdraw_after_failures = Integer(default=2)
    # 代发 price table: JSON {carrier: [[up to grams, fee fen], …]}; "" = the built-in table.
    dispatch_prices = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Township(Table, tablename="registry_township"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    name = Varchar(length=80)
    code = Varchar(length=16, default="")
    poor = Boolean(default=False)  # 贫困乡镇


class Village(Table, tablename="registry_village"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    township = ForeignKey(Township, on_delete=OnDelete.restrict, null=False, index=True)
    name = Varchar(length=80)
    # The county's own village code (e.g. the 12-digit 统计用区划代码), "" when none was given;
    # unique per county when given. The bulk import finds villages by it.
    code = Varchar(length=16, default="")
    poor = Boolean(default=False)  # 贫困村


class VillagePoverty(Table, tablename="registry_village_poverty"):
    """A change of a village's 贫困村 flag and the county-local day it holds from: coverage as of a
    past day reads the flag of that day (registry/poverty.py). `Village.poor` stays the flag of
    today; a village whose flag never changed has no row."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    village = ForeignKey(Village, on_delete=OnDelete.restrict, null=False)
    poor = Boolean()
    from_day = Date()
    recorded_at = Timestamptz(default=TimestamptzNow())


class Station(Table, tablename="registry_station"):
    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    township = ForeignKey(Township, on_delete=OnDelete.restrict, null=False)
    village = ForeignKey(Village, on_delete=OnDelete.restrict, null=False, index=True)
    name = Varchar(length=80)
    code = Varchar(length=24)
    address = Varchar(length=200, default="")
    # 乡级服务站 (`township`, in the township's seat) or 村级服务点 (`village`): coverage counts
    # each level apart (STATION_LEVELS in schemas.py).
    level = Varchar(length=16, default="village")
    # The days it was built: counted as built on a day when opened_on <= day < closed_on. Every
    # station has an opening day (the service sets one); `closed_on` is set with `closed_at`
    # (the moment the closing was recorded) and cleared with it when the station reopens.
    opened_on = Date(null=True, default=None)
    closed_on = Date(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closed_reason = Varchar(length=200, default="")
    # The shelf grid used to assign pickup codes (shelf-layer-last4).
    shelves = Integer(default=6)
    layers = Integer(default=4)
    # The names the keeper writes on the shelves ("A,B,C" or "左,中,右"), comma-separated, in
    # shelf order; empty = the numbers 1…shelves.
    shelf_names = Varchar(length=200, default="")
    # Told to villagers in the pickup notice (free text, e.g. "8:00-20:00").
    opening_hours = Varchar(length=60, default="8:00-20:00")
    # The station's own 代发 prices, same form as the county's, per carrier; "" = the county's.
    dispatch_prices = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Household(Table, tablename="registry_household"):
    """一户一码: a registered household; `poverty` marks a 脱贫户/建档立卡贫困户."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    village = ForeignKey(Village, on_delete=OnDelete.restrict, null=False, index=True)
    code = Varchar(length=24)
    head_name = Varchar(length=40, default="")
    phone = Varchar(length=11, default="")
    # Not poor unless marked: a household is 脱贫户 only when staff or the county's list say so.
    poverty = Boolean(default=False)
    # The household asked for no pickup SMS (取件通知): parcels to its phone send nothing.
    sms_opt_out = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class StationFile(Table, tablename="registry_station_file"):
    """网点台帐: what the county records about a station beyond its place in the registry — who
    runs it, where it is, the equipment and the unified sign (六统一) as last inspected, and who
    its keeper is (脱贫户, 残疾人, 党员 are preferred as keepers). One row per station once its file
    is first saved; a station without one has an empty file. The address is the station's own."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=False, unique=True)
    company = Varchar(length=60, default="")  # 运营主体
    # WGS-84 in millionths of a degree (6 decimals, exact): both set or both None.
    lat_e6 = Integer(null=True, default=None)
    lng_e6 = Integer(null=True, default=None)
    has_computer = Boolean(default=False)
    has_printer = Boolean(default=False)
    has_cctv = Boolean(default=False)
    has_shelves = Boolean(default=False)
    has_scanner = Boolean(default=False)
    has_broadband = Boolean(default=False)
    has_signage = Boolean(default=False)  # 统一标识
    inspected_on = Date(null=True, default=None)  # the day the checklist was checked
    keeper_poor = Boolean(default=False)  # 脱贫户
    keeper_disabled = Boolean(default=False)  # 残疾人
    keeper_party_member = Boolean(default=False)  # 党员
    keeper_gender = Varchar(length=8, default="")  # female | male | "" (not recorded)
    updated_at = Timestamptz(default=TimestamptzNow())


class StationPhoto(Table, tablename="registry_station_photo"):
    """A station's shop-front (门头) or sign (标识) photo, as re-encoded on upload (JPEG, at most
    1600 px on the long side, no EXIF): kept in the database so a backup holds it."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    station = ForeignKey(Station, on_delete=OnDelete.restrict, null=False, index=True)
    kind = Varchar(length=8)  # front | sign
    content = Bytea()
    width = Integer()
    height = Integer()
    size = Integer()  # bytes of `content`
    uploaded_at = Timestamptz(default=TimestamptzNow())
