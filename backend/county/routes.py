"""HTTP API of the county centre (rollups, exports, subsidies, reporting): staff of the county."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.params import JSONBody, QueryParameter

from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_staff,
    requires_township_scope,
)
from backend.catalogue.schemas import TextMapping
from backend.county import (
    baseline,
    export,
    figures,
    milestones,
    product_sales,
    reporting,
    rollups,
    service,
    subsidies,
    targets,
    township,
)
from backend.errors import DomainError
from backend.params import CountyId, TownshipId, parse_month


class RollupAdjustment(msgspec.Struct):
    """An entry of a rollup row dated in a closed month: its own date and that month."""

    own_date: datetime.date  # the day it was dated, county-local
    month: str  # the closed month it was dated in, YYYY-MM
    amount_fen: int
    fee_fen: int


class RollupRow(msgspec.Struct):
    """One station's figures of one county-local day and kind (reversed entries excluded)."""

    station_id: uuid.UUID
    day: datetime.date
    kind: str
    count: int
    amount_fen: int
    fee_fen: int  # fees and commissions
    farm_count: int  # farm-produce dispatches and sales
    poverty_count: int  # entries for a 脱贫户 household
    poverty_amount_fen: int
    farm_amount_fen: int  # the farm-produce sales' amounts (农产品网络零售额)
    poverty_fee_fen: int  # the fees and commissions of the entries for a 脱贫户
    # Of `count`, entries dated in a closed month and counted on this day instead (month close).
    adjustments: int = 0
    # Those entries, each with its own date (oldest first); empty without adjustments.
    adjustment_entries: list[RollupAdjustment] = msgspec.field(default_factory=list)


class RollupOut(msgspec.Struct):
    county_id: uuid.UUID
    start: datetime.date = msgspec.field(name="from")
    end: datetime.date = msgspec.field(name="to")
    rows: list[RollupRow] = msgspec.field(default_factory=list)


class ProvinceAttemptOut(msgspec.Struct):
    at: datetime.datetime
    status: int | None
    error: str
    duration_ms: int


class ProvinceReportOut(msgspec.Struct):
    id: uuid.UUID
    day: datetime.date
    revision: int  # 1, then one higher each time the day's figures changed after it was sent
    figures_sent: dict[str, int] | None  # the figures of this revision's body, once built
    state: str  # pending | sending | sent | failed (waiting for its retry)
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: datetime.datetime
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    log: list[ProvinceAttemptOut]


class RefreshOut(msgspec.Struct):
    refreshed_days: int


TargetName = Annotated[str, msgspec.Meta(max_length=40)]


class TargetIn(msgspec.Struct, forbid_unknown_fields=True):
    name: TargetName  # one of `names` (docs/api.md)
    target: float  # fen, a count or percent, as the name says


class TargetOut(msgspec.Struct):
    name: str
    target: float | int


class ProgrammeIn(msgspec.Struct, forbid_unknown_fields=True):
    """The programme start and/or the county's targets (given: they replace the ones before)."""

    programme_start: datetime.date | None = None
    targets: Annotated[list[TargetIn], msgspec.Meta(max_length=50)] | None = None


class MilestoneIn(msgspec.Struct, forbid_unknown_fields=True):
    figure: Annotated[str, msgspec.Meta(max_length=24)]  # one of `figures` (docs/api.md)
    target: int  # the figure to reach, from 1
    due: Annotated[str, msgspec.Meta(max_length=7)]  # YYYY-MM: reached by that month's end


class MilestoneOut(msgspec.Struct):
    figure: str
    target: int
    due: str  # YYYY-MM


class MilestonesIn(msgspec.Struct, forbid_unknown_fields=True):
    """The county's milestones: they replace the ones before (an empty list clears them)."""

    milestones: Annotated[list[MilestoneIn], msgspec.Meta(max_length=50)]


class MilestonesOut(msgspec.Struct):
    milestones: list[MilestoneOut]  # soonest due first
    figures: list[str]  # the since-start training figures a milestone may be set on


class BaselineIn(msgspec.Struct, forbid_unknown_fields=True):
    """The county's figures of the year before the product, in fen (元 × 100)."""

    year: int
    retail_fen: int = 0  # 网络零售额
    upward_sales_fen: int = 0  # 农产品上行
    downward_sales_fen: int = 0  # 工业品下行


class BaselineOut(msgspec.Struct):
    year: int
    retail_fen: int
    upward_sales_fen: int
    downward_sales_fen: int


class TownshipTargetsIn(msgspec.Struct, forbid_unknown_fields=True):
    """The township's targets: they replace the ones before (an empty list clears them)."""

    targets: Annotated[list[TargetIn], msgspec.Meta(max_length=20)]


class TownshipTargetsOut(msgspec.Struct):
    targets: list[TargetOut]
    names: list[str]  # the names a township's target may have


class ProgrammeOut(msgspec.Struct):
    programme_start: datetime.date
    targets: list[TargetOut]
    names: list[str]  # the names a target may have


DateText = Annotated[
    str | None, QueryParameter(description="County-local day, YYYY-MM-DD", required=False)
]
MonthText = Annotated[str | None, QueryParameter(description="Month, YYYY-MM", required=False)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(value: str | None, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise DomainError("county_invalid_date", status=400, field=field) from None


def _rollup_row(
    line: figures.StationDayLine, adjusted: dict[tuple[uuid.UUID, datetime.date, str], list]
) -> RollupRow:
    entries = adjusted.get((line.station, line.day, line.kind), [])
    return RollupRow(line.station, line.day, line.kind, *line.counts(), len(entries), entries)


def _download(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "content-disposition": export.content_disposition(filename),
            "cache-control": "no-store",
        },
    )


class CountyDataController(Controller):
    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["county"]
    guards = [requires_staff, requires_county_scope]

    @get(
        "/rollup",
        operation_id="getCountyRollup",
        summary="Per station, day and kind: counts and sums (reversed entries excluded)",
    )
    async def rollup(
        self,
        county_id: CountyId,
        start: Annotated[
            str | None,
            QueryParameter(name="from", description="First day, YYYY-MM-DD", required=False),
        ] = None,
        end: Annotated[
            str | None,
            QueryParameter(name="to", description="Last day, YYYY-MM-DD", required=False),
        ] = None,
        station_id: Annotated[
            str | None, QueryParameter(description="Only this station", required=False)
        ] = None,
    ) -> RollupOut:
        today = await service.county_today(county_id)
        last = _day(end, "to") or today
        first = _day(start, "from") or last.replace(day=1)
        station = None
        if station_id:
            try:
                station = uuid.UUID(station_id)
            except ValueError:
                raise DomainError("invalid_input", status=400, field="station_id") from None
        lines = await figures.station_days(county_id, first, last, station)
        adjusted: dict[tuple[uuid.UUID, datetime.date, str], list[RollupAdjustment]] = {}
        for entry in await figures.adjustments(county_id, first, last):
            adjusted.setdefault((entry.station_id, entry.counted_on, entry.kind), []).append(
                RollupAdjustment(
                    own_date=entry.own_date,
                    month=entry.month,
                    amount_fen=entry.amount_fen,
                    fee_fen=entry.fee_fen,
                )
            )
        for entries in adjusted.values():
            entries.sort(key=lambda entry: entry.own_date)
        return RollupOut(
            county_id=county_id,
            start=first,
            end=last,
            rows=[_rollup_row(line, adjusted) for line in lines],
        )

    @post(
        "/rollup/refresh",
        operation_id="refreshCountyRollup",
        summary="Bring the county's rollups up to date now (the rollup job does it every 5 min)",
        status_code=200,
    )
    async def refresh(self, county_id: CountyId) -> RefreshOut:
        return RefreshOut(refreshed_days=await rollups.refresh_county(county_id))

    @get(
        "/kpis",
        operation_id="getCountyKpis",
        summary="A month's KPIs and the same month a year ago",
    )
    async def kpis(self, county_id: CountyId, month: MonthText = None) -> dict[str, Any]:
        month = month or (await service.county_today(county_id)).strftime("%Y-%m")
        return await figures.month_kpis(county_id, month)

    @get(
        "/coverage",
        operation_id="getCountyCoverage",
        summary="Coverage by level (乡级服务站, 村级服务点) as of a day: built and active",
    )
    async def coverage(
        self,
        county_id: CountyId,
        on: Annotated[
            str | None,
            QueryParameter(
                description="County-local day, YYYY-MM-DD (default: today)", required=False
            ),
        ] = None,
    ) -> dict[str, Any]:
        today = await service.county_today(county_id)
        day = _day(on, "on") or today
        if not datetime.date(2015, 1, 1) <= day <= today:
            raise DomainError("county_coverage_day_invalid", status=400, field="on")
        return {"county_id": county_id, **await figures.coverage(county_id, day)}

    @get(
        "/export.xlsx",
        operation_id="exportCountyWorkbook",
        summary="The monthly 台帐 workbook (Excel)",
        media_type=XLSX,
    )
    async def export_xlsx(self, county_id: CountyId, month: MonthText = None) -> Response[bytes]:
        parse_month(month)
        content, filename = await export.workbook_bytes(county_id, month or "")
        return _download(content, XLSX, filename)

    @get(
        "/export.csv",
        operation_id="exportCountyCsv",
        summary="One table of the monthly workbook as CSV (UTF-8 with BOM)",
        media_type="text/csv",
    )
    async def export_csv(
        self,
        county_id: CountyId,
        month: MonthText = None,
        table: Annotated[
            str,
            QueryParameter(
                description=(
                    "summary, scorecard, checkins, subsidies, subsidy_parcels, adjustments, "
                    "training, trace, trends or a kind"
                ),
                required=False,
            ),
        ] = "summary",
    ) -> Response[bytes]:
        parse_month(month)
        content, filename = await export.csv_bytes(county_id, month or "", table)
        return _download(content, "text/csv; charset=utf-8", filename)

    @get(
        "/subsidies",
        operation_id="getCountySubsidies",
        summary="The month's subsidy claim per station, parcels listed, duplicates flagged",
    )
    async def subsidies(self, county_id: CountyId, month: MonthText = None) -> dict[str, Any]:
        return await subsidies.monthly_claims(county_id, month or "")

    @get(
        "/targets",
        operation_id="getCountyTargets",
        summary="The programme's start and the targets the county has set",
    )
    async def targets(self, county_id: CountyId) -> ProgrammeOut:
        return msgspec.convert(await targets.programme(county_id), ProgrammeOut)

    @put(
        "/targets",
        operation_id="setCountyTargets",
        summary="Set the programme's start and/or the county's targets (they replace the set)",
    )
    async def set_targets(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[ProgrammeIn]
    ) -> ProgrammeOut:
        chosen = None if data.targets is None else [(t.name, t.target) for t in data.targets]
        answer = await targets.set_programme(user, county_id, data.programme_start, chosen)
        return msgspec.convert(answer, ProgrammeOut)

    @get(
        "/milestones",
        operation_id="getCountyMilestones",
        summary="The milestones the county has set (中期目标): a training figure by a due month",
    )
    async def milestones(self, county_id: CountyId) -> MilestonesOut:
        chosen = await milestones.milestones(county_id)
        return MilestonesOut(msgspec.convert(chosen, list[MilestoneOut]), list(milestones.FIGURES))

    @put(
        "/milestones",
        operation_id="setCountyMilestones",
        summary="Set the county's milestones (they replace the set); judged on the scorecard",
    )
    async def set_milestones(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[MilestonesIn]
    ) -> MilestonesOut:
        chosen = [(m.figure, m.target, m.due) for m in data.milestones]
        answer = await milestones.set_milestones(user, county_id, chosen)
        return MilestonesOut(msgspec.convert(answer, list[MilestoneOut]), list(milestones.FIGURES))

    @get(
        "/baseline",
        operation_id="getCountyBaseline",
        summary="The county's figures of the year before the product (null when not entered)",
    )
    async def get_baseline(self, county_id: CountyId) -> BaselineOut | None:
        found = await baseline.get(county_id)
        return msgspec.convert(found, BaselineOut) if found else None

    @put(
        "/baseline",
        operation_id="setCountyBaseline",
        summary="Enter the county's figures of the year before the product (基数)",
    )
    async def set_baseline(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[BaselineIn]
    ) -> BaselineOut:
        amounts = {key: getattr(data, key) for key in baseline.KEYS}
        return msgspec.convert(await baseline.put(user, county_id, data.year, amounts), BaselineOut)

    @get(
        "/province-reports",
        operation_id="listProvinceReports",
        summary="Daily reports to the provincial platform and every delivery attempt",
    )
    async def province_reports(
        self,
        county_id: CountyId,
        limit: Annotated[int, QueryParameter(ge=1, le=500, required=False)] = 100,
    ) -> list[ProvinceReportOut]:
        reports = await reporting.deliveries(county_id, limit)
        return msgspec.convert(reports, list[ProvinceReportOut])

    @get(
        "/product-sales",
        operation_id="countyProductSales",
        summary="The county's 代销 per catalogue product, per trace batch, and per text written",
        description="Standing sales (reversed ones left out), each table per unit: `products` "
        "(by the sale's `product_code`, else its mapped text; `product_id` null: matching no "
        "product), `batches` (sales that carried a `batch_code`), `texts` (sales without a code, "
        "per product text as written, with the product it is mapped to).",
    )
    async def sales_by_product(self, county_id: CountyId) -> product_sales.SalesOut:
        return await product_sales.county_sales(county_id)

    @put(
        "/product-texts",
        operation_id="mapProductText",
        summary="Map a 代销 product text to a catalogue product (null: unmap); audited",
        description="The county's rollups are rebuilt under the new rule before the answer: "
        "the sales of a text mapped to a product of category `other` leave 农产品网络零售额 "
        "and 农产品上行 in every figure at once.",
    )
    async def map_sale_text(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[TextMapping]
    ) -> product_sales.SalesOut:
        await product_sales.map_text(county_id, user, data)
        return await product_sales.county_sales(county_id)


class TownshipController(Controller):
    path = "/api/v1/townships/{township_id:uuid}"
    tags = ["county"]
    guards = [requires_township_scope]

    @get(
        "/overview",
        operation_id="townshipOverview",
        summary="A township as its officer reports it (乡镇电商信息员)",
        description="For the township's officer (role `township`) and the county's staff. The "
        "month's and the year to date's figures of the township's stations, its coverage, each "
        "station's last activity and what needs attention, and the training held in it.",
    )
    async def overview(
        self,
        township_id: TownshipId,
        month: Annotated[str | None, QueryParameter(required=False)] = None,
    ) -> dict[str, Any]:
        county_id = await township.county_of(township_id)
        return await township.township_overview(county_id, township_id, month)

    @put(
        "/targets",
        operation_id="setTownshipTargets",
        summary="Set the township's targets (county staff); the overview judges them",
        guards=[requires_staff],
    )
    async def set_targets(
        self, user: LoggedIn, township_id: TownshipId, data: JSONBody[TownshipTargetsIn]
    ) -> TownshipTargetsOut:
        county_id = await township.county_of(township_id)
        chosen = [(t.name, t.target) for t in data.targets]
        rows = await targets.set_township_targets(user, county_id, township_id, chosen)
        return TownshipTargetsOut(
            targets=[TargetOut(row.name, targets.target_number(row.target)) for row in rows],
            names=list(targets.TOWNSHIP_TARGET_NAMES),
        )


ROUTE_HANDLERS = [CountyDataController, TownshipController]
