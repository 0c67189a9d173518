"""HTTP for the ledger: the sync protocol and the station's reading endpoints."""

from collections import Counter
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from backend.accounts.guards import (
    LoggedIn,
    requires_county_scope,
    requires_keeper,
    requires_login,
    requires_staff,
    requires_station_scope,
)
from backend.errors import DomainError, request_language
from backend.ledger import ingest, months, reads
from backend.ledger.months import CountyMonth, MonthState, ReopenRequest
from backend.ledger.schemas import (
    Cashbook,
    ParcelOut,
    PullResponse,
    PurchaseOut,
    RecipientSuggestion,
    StationSummary,
    SyncRequest,
    SyncResponse,
)
from backend.notify import villagers
from backend.params import CountyId, Day, Since, StationId, day_in_range
from backend.settings import scope_settings
from backend.system.metrics import SYNC_BATCH_SECONDS, SYNC_EVENTS

ParcelState = Annotated[
    str,
    QueryParameter(
        name="state", required=False, description="on_shelf (default), picked_up, returned, all"
    ),
]
PurchaseState = Annotated[
    str | None,
    QueryParameter(name="state", required=False, description="ordered, delivered, reversed"),
]
PickupCode = Annotated[str | None, QueryParameter(name="code", required=False)]
PhoneLast4 = Annotated[str | None, QueryParameter(name="phone_last4", required=False)]
TrackingNo = Annotated[str | None, QueryParameter(name="tracking_no", required=False)]
RecipientName = Annotated[
    str, QueryParameter(name="name", description="the recipient's name as the label shows it")
]
RequiredLast4 = Annotated[
    str, QueryParameter(name="phone_last4", description="the last four digits on the label")
]
Month = Annotated[str, PathParameter(title="Month", description="YYYY-MM, county-local")]


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]
    guards = [requires_keeper]

    @post(
        operation_id="pushEvents",
        summary="Push a batch of events (exactly once per event id)",
        description="Events are judged in order: `accepted`, `duplicate` (same id and content "
        "as before), `conflict` (same id, other content: the original stays) or `rejected` "
        "(a problem document in `error`). Accepted events commit in one transaction. At most "
        "500 events and 1 MiB per batch (413 beyond).",
        status_code=HTTP_200_OK,
    )
    async def push(
        self, request: Request, user: LoggedIn, data: JSONBody[SyncRequest]
    ) -> Response[SyncResponse]:
        # The app's settings read from the scope, not as a second dependency: Litestar resolves
        # two dependencies in an anyio task group (two tasks per push, the hottest route).
        settings = scope_settings(request.scope)
        language = request_language(request)
        with SYNC_BATCH_SECONDS.time():
            pushed = await ingest.push(settings, user, data.device_id, data.events, language)
        for status, count in Counter(result.status for result in pushed.answer.results).items():
            SYNC_EVENTS.labels(status).inc(count)
        # The pickup SMS go out once the phone has its answer (their rows are committed).
        after = BackgroundTask(villagers.send_after_commit, settings, pushed.pickup_notices)
        return Response(pushed.answer, background=after if pushed.pickup_notices else None)

    @get(
        operation_id="pullEvents",
        summary="The caller's station's events after a cursor",
        description="Each event once, in order, 500 per page (`more` says whether to call "
        "again with the new `cursor`). Phone and account numbers come masked.",
    )
    async def pull(self, user: LoggedIn, since: Since = None) -> PullResponse:
        if user.station_id is None:  # requires_keeper refuses these already
            raise DomainError("keepers_only", status=403)
        return await reads.pull(user.station_id, reads.parse_cursor(since))


class StationLedgerController(Controller):
    path = "/api/v1/stations/{station_id:uuid}"
    tags = ["ledger"]
    guards = [requires_login, requires_station_scope]

    @get(
        "/parcels",
        operation_id="listParcels",
        summary="Parcels of the station (default: on the shelf, waiting for pickup)",
        description="Find a parcel by `code` (pickup code), `phone_last4` or `tracking_no`. "
        "The keeper's own lookup shows the recipient's full phone; everyone else sees it masked.",
    )
    async def parcels(
        self,
        user: LoggedIn,
        station_id: StationId,
        parcel_state: ParcelState = "on_shelf",
        code: PickupCode = None,
        phone_last4: PhoneLast4 = None,
        tracking_no: TrackingNo = None,
    ) -> list[ParcelOut]:
        return await reads.list_parcels(
            station_id,
            parcel_state,
            unmasked=user.station_id == station_id,
            code=code,
            phone_last4=phone_last4,
            tracking_no=tracking_no,
        )

    @get(
        "/recipients/suggestion",
        operation_id="suggestRecipientPhone",
        summary="The full number behind a privacy label, when exactly one is known",
        description="Households of the station's village and the station's earlier parcels "
        "with a full number, the same last four digits and the same name: the number when "
        "exactly one matches (the keeper confirms it with the villager), else null. Only the "
        "station's keeper sees it unmasked.",
    )
    async def recipient_suggestion(
        self,
        user: LoggedIn,
        station_id: StationId,
        phone_last4: RequiredLast4,
        name: RecipientName,
    ) -> RecipientSuggestion:
        return await reads.suggest_recipient_phone(
            station_id, phone_last4, name, unmasked=user.station_id == station_id
        )

    @get("/purchases", operation_id="listPurchases", summary="代购 orders of the station")
    async def purchases(
        self,
        station_id: StationId,
        purchase_state: PurchaseState = None,
    ) -> list[PurchaseOut]:
        return await reads.list_purchases(station_id, purchase_state)

    @get(
        "/cashbook",
        operation_id="getCashbook",
        summary="A day's totals per kind: count, amount_fen, fee_fen",
        description="`date` is the county-local day (default: today there).",
    )
    async def cashbook(
        self,
        station_id: StationId,
        day: Day = None,
    ) -> Cashbook:
        return await reads.cashbook(station_id, day_in_range(day))

    @get(
        "/summary",
        operation_id="getStationSummary",
        summary="The home screen in one call: check-in due, shelf, overdue, today's cashbook",
    )
    async def summary(self, station_id: StationId) -> StationSummary:
        return await reads.summary(station_id)

    @get(
        "/events",
        operation_id="listStationEvents",
        summary="The station's ledger after a cursor (personal data masked)",
    )
    async def events(self, station_id: StationId, since: Since = None) -> PullResponse:
        return await reads.pull(station_id, reads.parse_cursor(since))


class StationMonthsController(Controller):
    path = "/api/v1/stations/{station_id:uuid}/months"
    tags = ["months"]
    guards = [requires_login, requires_station_scope]

    @get(
        operation_id="listStationMonths",
        summary="The station's last finished months, newest first, each with its state",
    )
    async def recent(
        self,
        station_id: StationId,
        count: Annotated[int, QueryParameter(ge=1, le=24, required=False)] = 6,
    ) -> list[MonthState]:
        return await months.recent_months(station_id, count)


class StationMonthController(Controller):
    """Month close (县级审核): the keeper submits a finished month, the county closes it."""

    path = "/api/v1/stations/{station_id:uuid}/months/{month:str}"
    tags = ["months"]
    guards = [requires_login, requires_station_scope]

    @get(
        operation_id="getStationMonth",
        summary="The station's month: open, submitted or closed (the keeper's app shows it)",
    )
    async def state(self, station_id: StationId, month: Month) -> MonthState:
        return await months.station_month(station_id, month)

    @post(
        "/submit",
        operation_id="submitMonth",
        summary="The station's keeper says a finished month's entries are in",
        description="State `submitted` (a closed month stays closed). The current month and "
        "months to come are refused (409 `month_not_finished`).",
        guards=[requires_keeper],
        status_code=HTTP_200_OK,
    )
    async def submit(self, user: LoggedIn, station_id: StationId, month: Month) -> MonthState:
        return await months.submit(user, station_id, month)

    @post(
        "/close",
        operation_id="closeMonth",
        summary="County staff close a station's finished month: its figures no longer change",
        description="Closing a closed month again changes nothing (200). Entries dated in a "
        "closed month still sync and count on the first day of the next open month "
        "(`adjusts_month`). The current month and months to come are refused (409).",
        guards=[requires_staff],
        status_code=HTTP_200_OK,
    )
    async def close(self, user: LoggedIn, station_id: StationId, month: Month) -> MonthState:
        return await months.close(user, station_id, month)

    @post(
        "/reopen",
        operation_id="reopenMonth",
        summary="County staff reopen a closed month, with a reason (audited)",
        description="Later entries of the month count in it again; adjustments already counted "
        "in a later month stay there. Reopening an open month changes nothing.",
        guards=[requires_staff],
        status_code=HTTP_200_OK,
    )
    async def reopen(
        self,
        user: LoggedIn,
        station_id: StationId,
        month: Month,
        data: JSONBody[ReopenRequest],
    ) -> MonthState:
        return await months.reopen(user, station_id, month, data.reason)


class CountyMonthController(Controller):
    path = "/api/v1/counties/{county_id:uuid}/months/{month:str}"
    tags = ["months"]
    guards = [requires_staff, requires_county_scope]

    @get(
        operation_id="getCountyMonth",
        summary="Every station of the county and the month's state: open, submitted, closed",
    )
    async def county_month(self, county_id: CountyId, month: Month) -> CountyMonth:
        return await months.county_month(county_id, month)

    @post(
        "/close",
        operation_id="closeCountyMonth",
        summary="Close the finished month of every station of the county at once",
        description="Each station as `closeMonth` does (a closed one stays as it was); the "
        "answer is the county's month as `getCountyMonth` gives it.",
        status_code=HTTP_200_OK,
    )
    async def close_all(self, user: LoggedIn, county_id: CountyId, month: Month) -> CountyMonth:
        return await months.close_county(user, county_id, month)


ROUTE_HANDLERS = [
    SyncController,
    StationLedgerController,
    StationMonthsController,
    StationMonthController,
    CountyMonthController,
]
