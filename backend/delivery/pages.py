"""The delivery's two pages.

- `/track`, the villagers' tracking page: a form (GET) and its answer, no script, Chinese by
  default, Uyghur and English; the same lookup and throttle as `GET /api/v1/track`.
- `/county/delivery`, the county's logistics figures for a month (county staff): the 48-hour
  legs per station (`service.county_delivery`, the API's answer), the legs still open past 48 h,
  and courier reach (`reach.courier_reach`, the API's answer).
- `/county/hub`, the county hub worker's page (a `hub` account, or county staff): choose the
  station's route, scan parcels into a list (`/county/static/hub.js`, which keeps the list in the
  browser until the server has answered), hand the list over as one hub dispatch (the API's
  `service.dispatch`, from a form post with the CSRF token), and the legs open past 48 h.
"""

from __future__ import annotations

import datetime
import unicodedata
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Template

from backend.accounts.guards import LoggedIn, requires_hub_or_staff, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.delivery import hub, reach, service
from backend.delivery.routes import PhoneLast4, TrackingNo
from backend.delivery.schemas import MAX_NUMBERS, DispatchOut, HubDispatch, TrackOut
from backend.delivery.throttle import TrackThrottle, track_throttle
from backend.errors import DomainError
from backend.i18n import translate
from backend.ledger.carriers import CARRIERS
from backend.params import parse_month
from backend.registry import service as registry
from backend.registry.staff import page_county, staff_county
from backend.security import client_address
from backend.web.forms import validation_field
from backend.web.layout import HUB_PATH, PAGE_ERRORS, page_language, render, wants_html
from backend.web.public import PUBLIC_STYLE, page_policy

# The page's own form is the one place it may send to.
TRACK_POLICY = page_policy(PUBLIC_STYLE, form_action="'self'")


@get(
    "/track",
    include_in_schema=False,
    dependencies={"throttle": Provide(track_throttle, sync_to_thread=False)},
)
async def track_page(
    request: Request,
    throttle: NamedDependency[TrackThrottle],
    tracking_no: TrackingNo = None,
    phone_last4: PhoneLast4 = None,
) -> Response:
    language = page_language(request)
    answer: TrackOut | None = None
    error = None
    status = 200
    # As typed on a phone: a keyboard in full-width mode types ＳＦ１２… and ４３２１; a box left
    # with spaces is empty (asked for again, not "no parcel with this number").
    if tracking_no is not None:
        tracking_no = unicodedata.normalize("NFKC", tracking_no).strip()
    if phone_last4 is not None:
        phone_last4 = unicodedata.normalize("NFKC", phone_last4).strip()
    if tracking_no is not None or phone_last4 is not None:
        try:
            answer = await service.track(
                throttle, client_address(request.scope), tracking_no, phone_last4
            )
        except DomainError as exc:
            error = exc.problem(language)["detail"]
            status = exc.status
    page = render(
        request,
        "delivery/track.html",
        status_code=status,
        lang=language,
        answer=answer,
        error=error,
        tracking_no=(tracking_no or "")[:64],
        phone_last4=(phone_last4 or "")[:4],
        style=PUBLIC_STYLE,
    )
    # A pickup code is for the villager alone: no browser or proxy keeps the answer.
    page.headers["cache-control"] = "no-store"
    page.headers["content-security-policy"] = TRACK_POLICY
    return page


StationChoice = Annotated[
    str | None, QueryParameter(required=False, description="The station chosen first")
]


class HubPageController(Controller):
    path = HUB_PATH
    include_in_schema = False
    guards = [requires_hub_or_staff]
    exception_handlers = PAGE_ERRORS

    @get("/", name="county_hub")
    async def page(
        self, request: Request, user: LoggedIn, station: StationChoice = None
    ) -> Template:
        return await _hub_page(request, user, station_id=station or "")

    @post("/", status_code=201)
    async def hand_over(self, request: Request, user: LoggedIn) -> Template:
        """The scanned list, one number a line, handed to the station's route as one dispatch:
        201 and what was handed over; a refusal (422) changes nothing and keeps the list."""
        county_id = await staff_county(user)
        form = await request.form()
        station_id = str(form.get("station_id") or "").strip()
        lines = str(form.get("tracking_nos") or "").splitlines()
        # As a scan is read on the page: a full-width read (an input method's ＳＦ１２…) is SF12….
        numbers = [unicodedata.normalize("NFKC", line).strip() for line in lines]
        numbers = [number for number in numbers if number]
        try:
            result = await _dispatch_list(user, county_id, station_id, numbers)
        except DomainError as exc:
            if exc.status in (401, 403) or not wants_html(request):
                raise  # a script gets the problem document; a refusal of the caller, its page
            language = page_language(request)
            return await _hub_page(
                request,
                user,
                status_code=exc.status,
                station_id=station_id,
                numbers=numbers,
                error=exc.problem(language)["detail"],
            )
        return await _hub_page(
            request, user, status_code=201, station_id=station_id, result=result, posted=numbers
        )


async def _dispatch_list(
    user: CurrentUser, county_id: uuid.UUID, station_id: str, numbers: list[str]
) -> DispatchOut:
    """The page's list handed over, however long: a busy day's route may have more parcels
    than one dispatch takes (MAX_NUMBERS), so the list goes in parts, each parcel once. Every
    number is checked first, a refusal naming its place in the whole list: then nothing is
    handed over. Should a part fail after another, the list is kept and handed over again: the
    parcels already on the route are answered as such, not handed over twice."""
    unique: dict[tuple[str, str], str] = {}
    for position, raw in enumerate(numbers, start=1):
        scanned = service.scanned_number(raw, position) if len(raw) <= 64 else None
        key = (scanned.tracking_no, scanned.package or "") if scanned else (raw, "")
        unique.setdefault(key, raw)
    parts = list(unique.values())
    result: DispatchOut | None = None
    for start in range(0, max(len(parts), 1), MAX_NUMBERS):
        try:
            data = msgspec.convert(
                {"station_id": station_id, "tracking_nos": parts[start : start + MAX_NUMBERS]},
                HubDispatch,
                strict=False,
            )
        except msgspec.ValidationError as exc:
            name = validation_field(str(exc)) or None
            raise DomainError("invalid_input", field=name) from None
        part = await service.dispatch(user, county_id, data)
        result = part if result is None else _joined(result, part)
    assert result is not None
    return result


def _joined(first: DispatchOut, then: DispatchOut) -> DispatchOut:
    return DispatchOut(
        station_id=first.station_id,
        dispatched_at=first.dispatched_at,
        created=first.created + then.created,
        already_open=first.already_open + then.already_open,
        parcels=first.parcels + then.parcels,
    )


def _handed_keys(result: DispatchOut) -> list[str]:
    """The parcels handed over (or already on the route), as the page's script keys its list."""
    return [
        f"{parcel.tracking_no}#{parcel.package}" if parcel.package else parcel.tracking_no
        for parcel in result.parcels
    ]


async def _hub_page(
    request: Request,
    user: CurrentUser,
    status_code: int = 200,
    station_id: str = "",
    numbers: list[str] | None = None,
    result: DispatchOut | None = None,
    error: str = "",
    posted: list[str] | None = None,
) -> Template:
    county_id = await staff_county(user)
    stations = await hub.routes(county_id)
    names = {str(station.id): f"{station.code} {station.name}" for station in stations}
    context: dict[str, Any] = {
        "facts": await page_county(county_id),
        "stations": stations,
        "selected": station_id if station_id in names else "",
        "numbers": numbers or [],
        "error": error,
        "result": result,
        "result_station": names.get(str(result.station_id), "") if result else "",
        "handed": _handed_keys(result) if result else [],
        # The lines as posted (all taken): the script drops them from its list as they are,
        # before it has the rules to read them (a bad line may never bring the rules).
        "posted": posted or [],
        "late": await hub.late_legs(county_id),
        "county_key": str(county_id),
        # The carriers' names as the keeper's app shows them, for the script's guess of each scan.
        "carrier_names": {
            code: translate(f"delivery.carrier.{code}", page_language(request)) for code in CARRIERS
        },
    }
    return render(request, "delivery/hub.html", status_code=status_code, nav="hub", **context)


MONTHS_SHOWN = 12
MonthChoice = Annotated[str | None, QueryParameter(description="Month, YYYY-MM", required=False)]


def _months(today: datetime.date) -> list[str]:
    """This month and the eleven before it, newest first (the page's month choices)."""
    months, year, month = [], today.year, today.month
    for _ in range(MONTHS_SHOWN):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


class DeliveryFiguresController(Controller):
    path = "/county/delivery"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/", name="county_delivery")
    async def page(self, request: Request, user: LoggedIn, month: MonthChoice = None) -> Template:
        county_id = await staff_county(user)
        today = await registry.county_today(county_id)
        chosen = month or today.strftime("%Y-%m")
        first, _ = parse_month(chosen)  # a month that is not YYYY-MM is a 400 problem page
        chosen = first.strftime("%Y-%m")
        figures = await service.county_delivery(county_id, chosen)
        names = {r.station_id: f"{r.station_code} {r.station_name}" for r in figures.stations}
        return render(
            request,
            "delivery/figures.html",
            nav="delivery",
            facts=await page_county(county_id),
            month=chosen,
            months=_months(today),
            figures=figures,
            names=names,
            reach=await reach.courier_reach(county_id, chosen),
        )


ROUTE_HANDLERS = [track_page, HubPageController, DeliveryFiguresController]
