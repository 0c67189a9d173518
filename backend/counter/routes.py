"""HTTP for the counter: shelf set-up, notify again, per-carrier counts, 代发 prices, household
cards (一户一码) and the county's SMS counts per station and month."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_county_scope_or_officer,
    requires_keeper,
    requires_login,
    requires_staff,
    requires_station_scope,
)
from backend.accounts.schemas import CurrentUser
from backend.counter import service
from backend.errors import DomainError, request_language
from backend.notify import villagers
from backend.params import CountyId, Day, HouseholdId, StationId, day_in_range, parse_month
from backend.registry import service as registry
from backend.settings import AppSettings

ParcelId = Annotated[uuid.UUID, PathParameter(title="Parcel id", description="A parcel")]
MonthText = Annotated[str | None, QueryParameter(description="Month, YYYY-MM", required=False)]
Scanned = Annotated[
    str,
    QueryParameter(
        name="code", description="A household code or the card's QR text", max_length=80
    ),
]
FreeText = Annotated[
    str, msgspec.Meta(max_length=60, pattern=r"^[^\x00-\x1f\u202a-\u202e\u2066-\u2069]*$")
]
ShelfName = Annotated[
    str, msgspec.Meta(max_length=12, pattern=r"^[^,\x00-\x1f\u202a-\u202e\u2066-\u2069]*$")
]
Bands = dict[str, list[Annotated[list[int], msgspec.Meta(min_length=2, max_length=2)]]]


class ShelfIn(msgspec.Struct, forbid_unknown_fields=True):
    shelves: Annotated[int, msgspec.Meta(ge=1, le=26)]
    layers: Annotated[int, msgspec.Meta(ge=1, le=9)]
    shelf_names: Annotated[list[ShelfName], msgspec.Meta(max_length=26)] = []
    opening_hours: FreeText = ""


class PricesIn(msgspec.Struct, forbid_unknown_fields=True):
    prices: Bands


class NoticeOut(msgspec.Struct):
    parcel_id: uuid.UUID
    notice: str
    notices_sent: int


def _own_station(user: CurrentUser, station_id: uuid.UUID) -> None:
    if user.station_id != station_id:
        raise DomainError("forbidden_scope", status=403)


class CounterController(Controller):
    path = "/api/v1/stations/{station_id:uuid}"
    tags = ["counter"]
    guards = [requires_login, requires_station_scope]

    @get("/shelf", operation_id="getShelf", summary="The station's shelves, layers and names")
    async def get_shelf(self, station_id: StationId) -> dict[str, Any]:
        return await service.shelf(station_id)

    @put(
        "/shelf",
        operation_id="setShelf",
        summary="The keeper sets up the shelf: shelves, layers, the names used, opening hours",
        guards=[requires_keeper],
    )
    async def set_shelf(
        self, user: LoggedIn, station_id: StationId, data: JSONBody[ShelfIn]
    ) -> dict[str, Any]:
        _own_station(user, station_id)
        return await service.set_shelf(station_id, data)

    @post(
        "/parcels/{parcel_id:uuid}/notify",
        operation_id="notifyAgain",
        summary="Send the villager a reminder SMS now (at most 3 per parcel)",
        guards=[requires_keeper],
        status_code=200,
    )
    async def notify_again(
        self,
        request: Request,
        user: LoggedIn,
        settings: AppSettings,
        station_id: StationId,
        parcel_id: ParcelId,
    ) -> NoticeOut:
        _own_station(user, station_id)
        await villagers.renotify(settings, station_id, parcel_id, request_language(request))
        state, sent = await villagers.notice_state(parcel_id)
        return NoticeOut(parcel_id=parcel_id, notice=state, notices_sent=sent)

    @get(
        "/carriers",
        operation_id="getCarrierCounts",
        summary="Per carrier for a county-local day: received, handed over, returned, sent",
    )
    async def carriers(self, station_id: StationId, day: Day = None) -> dict[str, Any]:
        return await service.carrier_counts(station_id, day_in_range(day))

    @get(
        "/prices",
        operation_id="getDispatchPrices",
        summary="The 代发 price table: built-in, the county's, the station's own on top",
    )
    async def prices(self, station_id: StationId) -> dict[str, Any]:
        return await service.price_table(station_id)

    @put(
        "/prices",
        operation_id="setStationPrices",
        summary="The station's own 代发 prices per carrier (an empty object: the county's)",
        guards=[requires_keeper],
    )
    async def set_prices(
        self, user: LoggedIn, station_id: StationId, data: JSONBody[PricesIn]
    ) -> dict[str, Any]:
        _own_station(user, station_id)
        return await service.set_station_prices(station_id, data.prices)

    @get(
        "/household",
        operation_id="householdAtCounter",
        summary="The household of a scanned card (一户一码) and its parcels on the shelf",
    )
    async def household(self, station_id: StationId, code: Scanned) -> dict[str, Any]:
        return await service.household_at_counter(station_id, code)


class CountyCounterController(Controller):
    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["counter"]
    guards = [requires_login, requires_staff, requires_county_scope]

    @get(
        "/sms",
        operation_id="getVillagerSmsCounts",
        summary="SMS sent to villagers per station in a month (what the county pays for)",
    )
    async def sms(self, county_id: CountyId, month: MonthText = None) -> dict[str, Any]:
        month = month or (await registry.county_today(county_id)).strftime("%Y-%m")
        parse_month(month)
        stations = await villagers.monthly_counts(county_id, month)
        return {
            "month": month,
            "stations": stations,
            "total": {
                key: sum(s[key] for s in stations)
                for key in ("pickup", "reminder", "sent", "failed")
            },
        }

    @put(
        "/prices",
        operation_id="setCountyPrices",
        summary="The county's 代发 price table per carrier and weight band (fen)",
    )
    async def set_prices(self, county_id: CountyId, data: JSONBody[PricesIn]) -> dict[str, Any]:
        return await service.set_county_prices(county_id, data.prices)


class HouseholdCardController(Controller):
    """The household card: county staff, and a township officer for their township's villages."""

    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["counter"]
    guards = [requires_login, requires_county_scope_or_officer]

    @get(
        "/households/{household_id:uuid}/card.svg",
        operation_id="householdCard",
        summary="The household's QR card (一户一码) as SVG, for printing",
    )
    async def card(
        self, user: LoggedIn, county_id: CountyId, household_id: HouseholdId
    ) -> Response[bytes]:
        payload = await service.card_payload(county_id, household_id, user.township_scope)
        return Response(
            service.qr_svg(payload),
            media_type="image/svg+xml",
            headers={"cache-control": "private, max-age=3600"},
        )


ROUTE_HANDLERS = [CounterController, CountyCounterController, HouseholdCardController]
