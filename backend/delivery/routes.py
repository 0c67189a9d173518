"""HTTP for the county hub's hand-overs, the county's 48-hour figures and the villagers' lookup."""

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.accounts.guards import (
    LoggedIn,
    requires_county_hub_or_staff,
    requires_county_scope,
    requires_staff,
)
from backend.delivery import reach, service
from backend.delivery.schemas import (
    CountyDelivery,
    CourierReach,
    DispatchOut,
    HubDispatch,
    TrackOut,
)
from backend.delivery.throttle import TrackThrottle, track_throttle
from backend.params import CountyId
from backend.registry import service as registry
from backend.security import client_address

MonthText = Annotated[
    str | None,
    QueryParameter(description="Month, YYYY-MM; the county's current month when omitted"),
]
TrackingNo = Annotated[
    str | None,
    QueryParameter(
        description="The tracking number as printed or scanned (a JD package as JD…-1-3-)"
    ),
]
PhoneLast4 = Annotated[
    str | None,
    QueryParameter(description="The last four digits of the recipient's phone"),
]


class HubDispatchController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/hub-dispatches"
    tags = ["delivery"]
    guards = [requires_county_hub_or_staff]

    @post(
        operation_id="dispatchFromHub",
        summary="The county hub hands parcels to a station's route now (a leg each)",
        description="1–500 numbers, normalised as the ledger does. A parcel already on this "
        "station's route (its leg still open) is answered again with `new: false`.",
        status_code=HTTP_201_CREATED,
    )
    async def dispatch(
        self, user: LoggedIn, data: JSONBody[HubDispatch], county_id: CountyId
    ) -> DispatchOut:
        return await service.dispatch(user, county_id, data)


class DeliveryController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/delivery"
    tags = ["delivery"]
    guards = [requires_staff, requires_county_scope]

    @get(
        operation_id="countyDelivery",
        summary="A month's county-to-village legs per station: within 48 h, rate, late, median",
    )
    async def delivery(self, county_id: CountyId, month: MonthText = None) -> CountyDelivery:
        month = month or (await registry.county_today(county_id)).strftime("%Y-%m")
        return await service.county_delivery(county_id, month)

    @get(
        "/couriers",
        operation_id="courierReach",
        summary="Which carriers reach which stations and townships in a month (快递进村)",
        description="A carrier reaches a station when the station received one of its parcels "
        "on a business day of the month (not reversed); shares are of the stations open at "
        "the month's end and of all townships.",
    )
    async def couriers(self, county_id: CountyId, month: MonthText = None) -> CourierReach:
        month = month or (await registry.county_today(county_id)).strftime("%Y-%m")
        return await reach.courier_reach(county_id, month)


class TrackController(Controller):
    path = "/api/v1/track"
    tags = ["delivery"]
    dependencies = {"throttle": Provide(track_throttle, sync_to_thread=False)}

    @get(
        operation_id="trackParcel",
        summary="Where a parcel is (public): on the route, on a shelf, picked up or returned",
        description="The station and pickup code only when `phone_last4` matches the recipient's "
        "phone; never a phone number. Throttled per address and per number (429).",
        security=[],
    )
    async def track(
        self,
        request: Request,
        throttle: NamedDependency[TrackThrottle],
        tracking_no: TrackingNo = None,
        phone_last4: PhoneLast4 = None,
    ) -> TrackOut:
        return await service.track(
            throttle, client_address(request.scope), tracking_no, phone_last4
        )


ROUTE_HANDLERS = [HubDispatchController, DeliveryController, TrackController]
