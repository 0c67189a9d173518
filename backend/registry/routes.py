"""HTTP for the registry. Staff manage their own county; admins create counties."""

from litestar import Controller, get, patch, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.accounts.guards import (
    LoggedIn,
    requires_admin,
    requires_county_scope,
    requires_login,
    requires_row_in_county,
    requires_staff,
    requires_station_scope,
)
from backend.params import CountyId, HouseholdId, StationId, TownshipId, VillageId
from backend.registry import service
from backend.registry.schemas import (
    CountyCreate,
    CountyOut,
    CountySettings,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    StationClose,
    StationCreate,
    StationOut,
    StationUpdate,
    TownshipCreate,
    TownshipOut,
    TownshipUpdate,
    VillageCreate,
    VillageOut,
    VillageUpdate,
)
from backend.registry.tables import Household, Station, Township, Village


class CountiesController(Controller):
    path = "/api/v1/counties"
    tags = ["registry"]
    guards = [requires_staff]

    @get(operation_id="listCounties", summary="Counties the caller works for")
    async def list_counties(self, user: LoggedIn) -> list[CountyOut]:
        return await service.list_counties(user)

    @post(
        operation_id="createCounty",
        summary="Create a county (admins)",
        guards=[requires_admin],
        status_code=HTTP_201_CREATED,
    )
    async def create_county(self, user: LoggedIn, data: JSONBody[CountyCreate]) -> CountyOut:
        return await service.create_county(user, data)


class CountyController(Controller):
    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["registry"]
    guards = [requires_staff, requires_county_scope]

    @get(operation_id="getCounty", summary="A county and its settings")
    async def get_county(self, county_id: CountyId) -> CountyOut:
        return await service.get_county(county_id)

    @patch(operation_id="updateCounty", summary="Change the county's settings and targets")
    async def update_county(
        self, user: LoggedIn, data: JSONBody[CountySettings], county_id: CountyId
    ) -> CountyOut:
        return await service.update_county(user, county_id, data)

    @get("/townships", operation_id="listTownships", summary="Townships (乡镇) of the county")
    async def list_townships(self, county_id: CountyId) -> list[TownshipOut]:
        return await service.list_townships(county_id)

    @post(
        "/townships",
        operation_id="createTownship",
        summary="Add a township",
        status_code=HTTP_201_CREATED,
    )
    async def create_township(
        self, user: LoggedIn, data: JSONBody[TownshipCreate], county_id: CountyId
    ) -> TownshipOut:
        return await service.create_township(user, county_id, data)

    @get("/villages", operation_id="listVillages", summary="Villages (行政村) of the county")
    async def list_villages(self, county_id: CountyId) -> list[VillageOut]:
        return await service.list_villages(county_id)

    @post("/villages", operation_id="createVillage", summary="Add a village", status_code=201)
    async def create_village(
        self, user: LoggedIn, data: JSONBody[VillageCreate], county_id: CountyId
    ) -> VillageOut:
        return await service.create_village(user, county_id, data)

    @get("/stations", operation_id="listStations", summary="Service stations of the county")
    async def list_stations(self, county_id: CountyId) -> list[StationOut]:
        return await service.list_stations(county_id)

    @post("/stations", operation_id="createStation", summary="Open a station", status_code=201)
    async def create_station(
        self, user: LoggedIn, data: JSONBody[StationCreate], county_id: CountyId
    ) -> StationOut:
        return await service.create_station(user, county_id, data)

    @get(
        "/households",
        operation_id="listHouseholds",
        summary="Registered households (一户一码), phones masked",
    )
    async def list_households(self, county_id: CountyId) -> list[HouseholdOut]:
        return await service.list_households(county_id)

    @post(
        "/households",
        operation_id="createHousehold",
        summary="Register a household",
        status_code=HTTP_201_CREATED,
    )
    async def create_household(
        self, user: LoggedIn, data: JSONBody[HouseholdCreate], county_id: CountyId
    ) -> HouseholdOut:
        return await service.create_household(user, county_id, data)


class TownshipController(Controller):
    path = "/api/v1/townships/{township_id:uuid}"
    tags = ["registry"]
    guards = [requires_staff, requires_row_in_county(Township, "township_id")]

    @patch(operation_id="updateTownship", summary="Rename a township")
    async def update_township(
        self,
        user: LoggedIn,
        data: JSONBody[TownshipUpdate],
        township_id: TownshipId,
    ) -> TownshipOut:
        return await service.update_township(user, township_id, data)


class VillageController(Controller):
    path = "/api/v1/villages/{village_id:uuid}"
    tags = ["registry"]
    guards = [requires_staff, requires_row_in_county(Village, "village_id")]

    @patch(operation_id="updateVillage", summary="Rename a village or set its 贫困村 flag")
    async def update_village(
        self,
        user: LoggedIn,
        data: JSONBody[VillageUpdate],
        village_id: VillageId,
    ) -> VillageOut:
        return await service.update_village(user, village_id, data)


class StationController(Controller):
    path = "/api/v1/stations/{station_id:uuid}"
    tags = ["registry"]

    @get(
        operation_id="getStation",
        summary="A station",
        guards=[requires_login, requires_station_scope],
    )
    async def get_station(self, station_id: StationId) -> StationOut:
        return await service.get_station(station_id)

    @patch(
        operation_id="updateStation",
        summary="Rename a station, change its shelves",
        guards=[requires_staff, requires_row_in_county(Station, "station_id")],
    )
    async def update_station(
        self, user: LoggedIn, data: JSONBody[StationUpdate], station_id: StationId
    ) -> StationOut:
        return await service.update_station(user, station_id, data)

    @post(
        "/close",
        operation_id="closeStation",
        summary="Close a station (it is kept with its ledger, never deleted)",
        guards=[requires_staff, requires_row_in_county(Station, "station_id")],
        status_code=HTTP_200_OK,
    )
    async def close_station(
        self, user: LoggedIn, data: JSONBody[StationClose], station_id: StationId
    ) -> StationOut:
        return await service.close_station(user, station_id, data.reason)

    @post(
        "/reopen",
        operation_id="reopenStation",
        summary="Reopen a closed station",
        guards=[requires_staff, requires_row_in_county(Station, "station_id")],
        status_code=HTTP_200_OK,
    )
    async def reopen_station(self, user: LoggedIn, station_id: StationId) -> StationOut:
        return await service.reopen_station(user, station_id)


class HouseholdController(Controller):
    path = "/api/v1/households/{household_id:uuid}"
    tags = ["registry"]
    guards = [requires_staff, requires_row_in_county(Household, "household_id")]

    @patch(operation_id="updateHousehold", summary="Change a household's record")
    async def update_household(
        self,
        user: LoggedIn,
        data: JSONBody[HouseholdUpdate],
        household_id: HouseholdId,
    ) -> HouseholdOut:
        return await service.update_household(user, household_id, data)


ROUTE_HANDLERS = [
    CountiesController,
    CountyController,
    TownshipController,
    VillageController,
    StationController,
    HouseholdController,
]
