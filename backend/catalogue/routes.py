"""HTTP for the county's catalogue: list, add and edit its products (county staff)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_login,
    requires_staff,
    requires_station_scope,
)
from backend.catalogue import service
from backend.catalogue.schemas import ProductCreate, ProductEdit, ProductOut
from backend.params import CountyId, StationId
from backend.registry import service as registry

ProductId = Annotated[uuid.UUID, PathParameter(title="Product id", description="A product")]

_FIELDS = (
    "`name` (≤ 40 characters: what a 代销 says as its product), `category` farm | other (a 代销 "
    "of an `other` product counts in 网络零售额 but not in 农产品网络零售额/上行), `brand`, "
    "`certification` pollution_free | green | organic | geo_indication (or 无公害 绿色 有机 "
    "地理标志), `unit` (≤ 10 characters, what a 代销 says as its unit)."
)


class CatalogueController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/products"
    tags = ["catalogue"]
    guards = [requires_staff, requires_county_scope]

    @get("/", operation_id="listProducts", summary="The county's catalogue, by code")
    async def products(self, county_id: CountyId) -> list[ProductOut]:
        return await service.list_products(county_id)

    @post(
        "/",
        operation_id="createProduct",
        summary="Add a product to the county's catalogue",
        description="`code` (A–Z, 0–9, `-`; ≤ 24; stored upper-case, unique in the county: "
        "else 409 `catalogue_code_taken`; never changes) and " + _FIELDS,
        status_code=HTTP_201_CREATED,
    )
    async def create(
        self, user: LoggedIn, county_id: CountyId, data: JSONBody[ProductCreate]
    ) -> Response[ProductOut]:
        product = await service.add_product(county_id, user, data)
        return Response(product, status_code=HTTP_201_CREATED)

    @put(
        "/{product_id:uuid}",
        operation_id="editProduct",
        summary="Edit a product (all but its code); audited with what changed",
        description=_FIELDS,
    )
    async def edit(
        self,
        user: LoggedIn,
        county_id: CountyId,
        product_id: ProductId,
        data: JSONBody[ProductEdit],
    ) -> ProductOut:
        return await service.edit_product(county_id, product_id, user, data)


class StationCatalogueController(Controller):
    """The catalogue as the keeper's phone keeps it for offline use (the 代销 form's picker)."""

    path = "/api/v1/stations/{station_id:uuid}/products"
    tags = ["catalogue"]
    guards = [requires_login, requires_station_scope]

    @get(
        "/",
        operation_id="listStationProducts",
        summary="The catalogue of the station's county, by code (the keeper's 代销 picker)",
    )
    async def products(self, station_id: StationId) -> list[ProductOut]:
        station = await registry.get_station(station_id)
        return await service.list_products(station.county_id)


ROUTE_HANDLERS = [CatalogueController, StationCatalogueController]
