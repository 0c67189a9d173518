"""What the county centre keeps beside the ledger: the rollups (a projection, rebuilt at will from
the log), their high-water marks, and the upward reports with every delivery attempt.

Composite unique keys are unique indexes created by a raw-SQL migration (Piccolo cannot add them
on SQLite).
"""

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from backend.registry.tables import County


class Rollup(Table, tablename="county_rollup"):
    """Per station, county-local day and kind: what the station did (reversed entries excluded)."""

    station = UUID()
    county = UUID()
    day = Date()
    kind = Varchar(length=32)
    # The schema's column name hides Table.count() on this table (no code counts rows with it).
    count = Integer(default=0)  # type: ignore[assignment]
    amount_fen = BigInt(default=0)
    fee_fen = BigInt(default=0)  # fees and commissions: the station's income
    farm_count = Integer(default=0)  # farm-produce dispatches and sales (农产品上行)
    poverty_count = Integer(default=0)  # entries for a 脱贫户 household
    poverty_amount_fen = BigInt(default=0)
    farm_amount_fen = BigInt(default=0)  # the farm sales' amounts: 农产品网络零售额
    # fees and commissions of the entries for a 脱贫户: a sale's payout is its amount less this
    poverty_fee_fen = BigInt(default=0)


class RollupTotal(Table, tablename="county_rollup_total"):
    """The same per county and day (sums over its stations), for trends and month figures."""

    county = UUID()
    day = Date()
    kind = Varchar(length=32)
    # The schema's column name hides Table.count() on this table (no code counts rows with it).
    count = Integer(default=0)  # type: ignore[assignment]
    amount_fen = BigInt(default=0)
    fee_fen = BigInt(default=0)
    farm_count = Integer(default=0)
    poverty_count = Integer(default=0)
    poverty_amount_fen = BigInt(default=0)
    farm_amount_fen = BigInt(default=0)
    poverty_fee_fen = BigInt(default=0)


class RollupMonth(Table, tablename="county_rollup_month"):
    """The same per station, month (its first day) and kind: the sums of its daily rows,
    recomputed whole with them (store/rollup_months.py), so that a year's read per station adds
    twelve rows a station and kind instead of 365."""

    station = UUID()
    county = UUID()
    month = Date()
    kind = Varchar(length=32)
    # The schema's column name hides Table.count() on this table (no code counts rows with it).
    count = Integer(default=0)  # type: ignore[assignment]
    amount_fen = BigInt(default=0)
    fee_fen = BigInt(default=0)
    farm_count = Integer(default=0)
    poverty_count = Integer(default=0)
    poverty_amount_fen = BigInt(default=0)
    farm_amount_fen = BigInt(default=0)
    poverty_fee_fen = BigInt(default=0)


class RollupHousehold(Table, tablename="county_rollup_household"):
    """The households a station sold for, bought for or sent a parcel for on a county-local day
    (惠及脱贫户 counts the distinct 脱贫户 among them), kept with the daily rows."""

    station = UUID()
    county = UUID()
    day = Date()
    household_code = Varchar(length=64)


class RollupHouseholdMonth(Table, tablename="county_rollup_household_month"):
    """The distinct households the county's stations served in a month (its first day): the
    daily rows' households, recomputed whole with the county's sums (store/rollup_households.py),
    so a year's 惠及脱贫户 reads a few thousand rows, not a year's ~150,000 station-days."""

    county = UUID()
    month = Date()
    household_code = Varchar(length=64)


class SaleMonth(Table, tablename="county_sale_month"):
    """A station's standing 代销 of one month (the first day names it), alike in product text,
    catalogue code, unit and trace batch ("" for none): how many, their quantities and amounts
    (county/sale_months.py keeps it; the product sales page sums it)."""

    station = UUID()
    county = UUID()
    month = Date()
    product = Text()
    product_code = Text()
    unit = Text()
    batch_code = Text()
    sales = Integer(default=0)
    quantity = DoublePrecision(default=0)
    amount_fen = BigInt(default=0)


class SaleMonthMark(Table, tablename="county_sale_month_mark"):
    """How far each station's chain has been counted into county_sale_month."""

    station = UUID(primary_key=True)
    county = UUID(index=True)
    counted_seq = Integer(default=0)


class RollupMark(Table, tablename="county_rollup_mark"):
    """How far each station's chain has been rolled up (its events' seq are gap-free)."""

    station = UUID(primary_key=True)
    county = UUID(index=True)
    rolled_seq = Integer(default=0)


class RollupState(Table, tablename="county_rollup_state"):
    """Per county: the rule and households the rollups were computed with, and the last day whose
    return deadlines are counted (time alone makes a parcel overdue)."""

    county = UUID(primary_key=True)
    counted_through = Date(null=True, default=None)
    return_days = Integer(default=0)
    households_hash = Varchar(length=64, default="")
    # The catalogue's non-farm products and the texts mapped to them: which sales are 上行.
    products_hash = Varchar(length=64, default="")
    products_rule = Text(default="")  # that rule itself (NotFarm.as_text); "": not known
    refreshed_at = Timestamptz(null=True, default=None)


class FrozenMonth(Table, tablename="county_frozen_month"):
    """A station's closed month, frozen in the close's transaction (county/frozen.py): the
    county's values its figures were counted with, and its subsidy claim as it stood."""

    station = UUID(index=True)
    county = UUID(index=True)
    month = Varchar(length=7)  # YYYY-MM
    poor_village = Boolean(default=False)  # the station's village was a 贫困村 at close
    subsidy_fen_per_parcel = Integer(default=0)
    subsidy_farm_only = Boolean(default=True)
    subsidy_monthly_cap_fen = BigInt(default=0)
    claim = Text(default="")  # the station's claim of the month (JSON), "" when it had none
    frozen_at = Timestamptz(default=TimestamptzNow())


class FrozenRollup(Table, tablename="county_frozen_rollup"):
    """A closed station-month's rollup rows as they were at close: what every rebuild or
    refresh writes back for its days instead of recomputing them."""

    station = UUID(index=True)
    month = Varchar(length=7)
    day = Date()
    kind = Varchar(length=32)
    # The schema's column name hides Table.count() on this table (no code counts rows with it).
    count = Integer(default=0)  # type: ignore[assignment]
    amount_fen = BigInt(default=0)
    fee_fen = BigInt(default=0)
    farm_count = Integer(default=0)
    poverty_count = Integer(default=0)
    poverty_amount_fen = BigInt(default=0)
    farm_amount_fen = BigInt(default=0)
    poverty_fee_fen = BigInt(default=0)


class ProvinceReport(Table, tablename="county_province_report"):
    """One county's figures of one day for the provincial platform: each revision sent once
    (state `sent`); a day whose figures change later is sent again as the next revision."""

    id = UUID(primary_key=True)
    county = ForeignKey(County, on_delete=OnDelete.restrict, null=False, index=True)
    day = Date()
    revision = Integer(default=1)
    state = Varchar(length=12, default="pending")  # pending | sending | sent | failed
    attempts = Integer(default=0)
    payload = Text(default="")  # the exact body sent (signed), kept for the log
    last_status = Integer(null=True, default=None)
    last_error = Varchar(length=300, default="")
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class ProvinceAttempt(Table, tablename="county_province_attempt"):
    """Every delivery attempt: when, the answer's status or the error, how long it took."""

    id = UUID(primary_key=True)
    report = ForeignKey(ProvinceReport, on_delete=OnDelete.restrict, null=False, index=True)
    county = UUID(index=True)
    day = Date()
    at = Timestamptz(default=TimestamptzNow())
    status = Integer(null=True, default=None)
    error = Varchar(length=300, default="")
    duration_ms = Integer(default=0)


class Programme(Table, tablename="county_programme"):
    """Per county: the day its programme started (the `since_start` figures count from it)."""

    county = UUID(primary_key=True)
    start = Date()
    updated_at = Timestamptz(default=TimestamptzNow())


class Baseline(Table, tablename="county_baseline"):
    """Per county: its figures for the year before the product (基数), entered by the county, so
    that the first year's growth has something to compare with."""

    county = UUID(primary_key=True)
    year = Integer()
    retail_fen = BigInt(default=0)  # 网络零售额
    upward_sales_fen = BigInt(default=0)  # 农产品上行
    downward_sales_fen = BigInt(default=0)  # 工业品下行
    updated_at = Timestamptz(default=TimestamptzNow())


class Target(Table, tablename="county_target"):
    """A programme target the county has set (name from `programme_targets.TARGET_NAMES`)."""

    id = UUID(primary_key=True)
    county = UUID(index=True)
    name = Varchar(length=40)
    target = DoublePrecision()


class Milestone(Table, tablename="county_milestone"):
    """A milestone the county has set (中期目标, 「2018年10月底前完成50%」): a since-start training
    figure (`milestones.FIGURES`) to reach by the end of its due month (`due`, that month's first
    day), judged on the scorecard (county/milestones.py)."""

    id = UUID(primary_key=True)
    county = UUID(index=True)
    figure = Varchar(length=24)
    target = BigInt()
    due = Date()


class TownshipTarget(Table, tablename="county_township_target"):
    """A target the county has set for one of its townships (name from
    `targets.TOWNSHIP_TARGET_NAMES`), judged on the township's page."""

    id = UUID(primary_key=True)
    county = UUID(index=True)
    township = UUID(index=True)
    name = Varchar(length=40)
    target = DoublePrecision()
