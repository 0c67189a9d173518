"""HTTP for the registry. Staff manage their own county; admins create counties; a township's
information officer (乡镇电商信息员) lists and edits the households of the township's villages and
its stations' files and opening and closing days."""

import uuid
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from backend.accounts.guards import (
    LoggedIn,
    requires_admin,
    requires_county_scope,
    requires_county_scope_or_officer,
    requires_login,
    requires_row_in_county,
    requires_row_in_scope,
    requires_staff,
    requires_station_scope,
)
from backend.errors import DomainError, request_language
from backend.params import (
    CountyId,
    HouseholdId,
    PhotoId,
    PhotoName,
    StationId,
    TownshipId,
    VillageId,
)
from backend.registry import list_file, photos, roster, service, standards, station_file
from backend.registry.marks import FailedBatchesOf, with_failed_batches
from backend.registry.schemas import (
    CountyCreate,
    CountyOut,
    CountySettings,
    HouseholdCreate,
    HouseholdOut,
    HouseholdUpdate,
    ImportReport,
    StationClose,
    StationCreate,
    StationFileIn,
    StationFileOut,
    StationOut,
    StationPhotoOut,
    StationUpdate,
    TownshipCreate,
    TownshipOut,
    TownshipUpdate,
    VillageCreate,
    VillageOut,
    VillageUpdate,
)
from backend.registry.tables import Household, Station, Township, Village

DEFAULT_PAGE = 100
MAX_PAGE = 500


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

    @get("/stations", operation_id="listStations", summary="Service stations of the county")
    async def list_stations(self, county_id: CountyId) -> list[StationOut]:
        return await service.list_stations(county_id)

    @get(
        "/stations.xlsx",
        operation_id="stationRoster",
        summary="The station roster (网点花名册) as a workbook: every station and its file",
    )
    async def station_roster(self, request: Request, county_id: CountyId) -> Response[bytes]:
        data, filename = await roster.workbook(county_id, request_language(request))
        return Response(
            data,
            media_type=list_file.XLSX_MEDIA_TYPE,
            headers={
                "content-disposition": roster.content_disposition(filename),
                "cache-control": "no-store",
            },
        )

    @get(
        "/station-standards",
        operation_id="stationStandards",
        summary="Station standards (六统一): the open stations' equipment, sign, photos, keepers",
    )
    async def station_standards(self, county_id: CountyId) -> standards.StationStandards:
        return await standards.county_standards(county_id)

    @post("/stations", operation_id="createStation", summary="Open a station", status_code=201)
    async def create_station(
        self, user: LoggedIn, data: JSONBody[StationCreate], county_id: CountyId
    ) -> StationOut:
        return await service.create_station(user, county_id, data)

    @post(
        "/imports",
        operation_id="importRegistry",
        summary="Import townships, villages and households from an xlsx or csv file (raw body)",
        description=(
            "The file is the request body (Content-Type: the xlsx type or text/csv). dry_run "
            "(default true) only reports; an import with any error row writes nothing (422, "
            "the same report)."
        ),
        status_code=HTTP_200_OK,
        request_max_body_size=None,  # bounded by the handler itself: 413 with the import's text
        opt={"raw_body": True},
    )
    async def import_registry(
        self,
        request: Request,
        user: LoggedIn,
        county_id: CountyId,
        dry_run: Annotated[
            bool, Parameter(description="true (default): only report; false: import")
        ] = True,
    ) -> Response[ImportReport]:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > list_file.MAX_BYTES:
                raise list_file.too_large()
        report = await service.import_file(
            user, county_id, bytes(body), dry_run=dry_run, language=request_language(request)
        )
        status = 422 if not dry_run and not report.written else HTTP_200_OK
        return Response(report, status_code=status, headers={"cache-control": "no-store"})

    @get(
        "/imports/template.xlsx",
        operation_id="importTemplate",
        summary="The import template workbook (headers, and what each column takes)",
    )
    async def import_template(self, request: Request, county_id: CountyId) -> Response[bytes]:
        return Response(
            service.import_template(request_language(request)),
            media_type=list_file.XLSX_MEDIA_TYPE,
            headers={"content-disposition": 'attachment; filename="registry-import.xlsx"'},
        )


class CountyHouseholdsController(Controller):
    """The county's villages and households: its staff, and its township officers for their
    own township's (the service holds an officer's lists and new households to it). Adding a
    village stays the staff's."""

    path = "/api/v1/counties/{county_id:uuid}"
    tags = ["registry"]
    guards = [requires_county_scope_or_officer]

    @get(
        "/villages",
        operation_id="listVillages",
        summary="Villages (行政村) of the county (a township officer: of their township)",
    )
    async def list_villages(self, user: LoggedIn, county_id: CountyId) -> list[VillageOut]:
        return await service.list_villages(county_id, user.township_scope)

    @post(
        "/villages",
        operation_id="createVillage",
        summary="Add a village",
        guards=[requires_staff],  # the county's; an officer edits households, not villages
        status_code=201,
    )
    async def create_village(
        self, user: LoggedIn, data: JSONBody[VillageCreate], county_id: CountyId
    ) -> VillageOut:
        return await service.create_village(user, county_id, data)

    @get(
        "/households",
        operation_id="listHouseholds",
        summary="Registered households (一户一码), phones masked (an officer: their township's)",
    )
    async def list_households(
        self,
        user: LoggedIn,
        county_id: CountyId,
        failed_batches_of: FailedBatchesOf,
        q: Annotated[
            str,
            Parameter(
                max_length=40,
                description="A code or head's name (part of it), or a phone's last four digits",
            ),
        ] = "",
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> Response[list[HouseholdOut]]:
        rows, total = await service.search_households(
            county_id, q, limit, offset, user.township_scope
        )
        rows = await with_failed_batches(county_id, rows, failed_batches_of)
        return Response(rows, headers={"X-Total-Count": str(total)})

    @post(
        "/households",
        operation_id="createHousehold",
        summary="Register a household (a township officer: in a village of their township)",
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

    @patch(operation_id="updateTownship", summary="Rename a township or set its 贫困乡镇 flag")
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
        summary="Rename a station; its shelves, level (乡级/村级), opening and closing days",
        description=(
            "A township officer may call it for a station of their township, changing only "
            "opened_on and closed_on (403 `officer_station_days_only` for any other field)."
        ),
        guards=[requires_row_in_scope(Station, "station_id")],
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
        return await service.close_station(user, station_id, data.reason, data.closed_on)

    @post(
        "/reopen",
        operation_id="reopenStation",
        summary="Reopen a closed station",
        guards=[requires_staff, requires_row_in_county(Station, "station_id")],
        status_code=HTTP_200_OK,
    )
    async def reopen_station(self, user: LoggedIn, station_id: StationId) -> StationOut:
        return await service.reopen_station(user, station_id)


class StationFileController(Controller):
    """The station file (网点台帐) and its photos: county staff of the station's county, or the
    information officer of the station's township."""

    path = "/api/v1/stations/{station_id:uuid}"
    tags = ["registry"]
    guards = [requires_row_in_scope(Station, "station_id")]

    @get("/file", operation_id="getStationFile", summary="The station file (网点台帐)")
    async def get_file(self, station_id: StationId) -> Response[StationFileOut]:
        answer = await station_file.get_file(station_id)
        return Response(answer, headers={"cache-control": "no-store"})

    @put(
        "/file",
        operation_id="putStationFile",
        summary="Replace the station file: address, 运营主体, location, equipment, sign, keeper",
    )
    async def put_file(
        self, user: LoggedIn, data: JSONBody[StationFileIn], station_id: StationId
    ) -> StationFileOut:
        return await station_file.put_file(user, station_id, data)

    @post(
        "/photos",
        operation_id="addStationPhoto",
        summary="Add a shop-front (门头) or sign (标识) photo: the picture is the raw body",
        description=(
            "JPEG, PNG or WebP up to 10 MiB as the request body; kept as a JPEG of at most "
            "1600 px on the long side, upright, without EXIF."
        ),
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,  # bounded below: 413 `photo_too_large` past 10 MiB
        opt={"raw_body": True},
    )
    async def add_photo(
        self,
        request: Request,
        user: LoggedIn,
        station_id: StationId,
        kind: Annotated[str, Parameter(max_length=8, description="front (门头) | sign (标识)")],
    ) -> StationPhotoOut:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > photos.MAX_BYTES:
                raise photos.too_large(len(body))
        return await station_file.add_photo(user, station_id, kind, bytes(body))

    @get(
        "/photos/{photo_name:str}",
        operation_id="getStationPhoto",
        summary="A station photo (`{photo_id}.jpg`), as kept",
    )
    async def get_photo(self, station_id: StationId, photo_name: PhotoName) -> Response[bytes]:
        stem, _, suffix = photo_name.rpartition(".")
        try:
            photo_id = uuid.UUID(stem)
        except ValueError:
            raise DomainError("not_found", status=404) from None
        if suffix != "jpg":
            raise DomainError("not_found", status=404)
        content = await station_file.photo_content(station_id, photo_id)
        return Response(
            content,
            media_type="image/jpeg",
            headers={"cache-control": "private, max-age=86400"},
        )

    @delete(
        "/photos/{photo_id:uuid}",
        operation_id="deleteStationPhoto",
        summary="Delete a station photo (audited)",
        status_code=204,
    )
    async def delete_photo(self, user: LoggedIn, station_id: StationId, photo_id: PhotoId) -> None:
        await station_file.delete_photo(user, station_id, photo_id)


class HouseholdController(Controller):
    path = "/api/v1/households/{household_id:uuid}"
    tags = ["registry"]
    guards = [requires_row_in_scope(Household, "household_id")]

    @get(
        operation_id="getHousehold",
        summary="A household's record, phone masked, with its batches that failed inspection",
    )
    async def household(
        self, household_id: HouseholdId, failed_batches_of: FailedBatchesOf
    ) -> HouseholdOut:
        household = await service.get_household(household_id)
        (marked,) = await with_failed_batches(household.county_id, [household], failed_batches_of)
        return marked

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
    CountyHouseholdsController,
    TownshipController,
    VillageController,
    StationController,
    StationFileController,
    HouseholdController,
]
