"""The county's review pages under /county/ (kept out of the OpenAPI schema): the dashboard, the
stations and one station, check-ins week by week, coverage, the scorecard (考核指标), subsidies,
till counts, the province report log and the month review (县级审核: close and reopen a station's
month).

HTTP only: each handler reads its query, calls one builder of `review.py` or `records.py`, and
renders a template; the frame, the language and refusals as pages are web/layout.py's.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_staff, requires_station_scope
from backend.county import dashboard_rows, programme, records, review, scorecard
from backend.db import as_uuid
from backend.errors import DomainError
from backend.ledger import months as ledger_months
from backend.notify import notices
from backend.params import StationId
from backend.registry.staff import staff_county
from backend.settings import AppSettings
from backend.web.format import Formatter
from backend.web.forms import FormField, error_state, form_values
from backend.web.layout import PAGE_ERRORS, page_language, render

Month = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM")]
Day = Annotated[str | None, QueryParameter(required=False, description="YYYY-MM-DD")]
TownshipFilter = Annotated[str | None, QueryParameter(required=False, description="A township")]
Sort = Annotated[str | None, QueryParameter(required=False, description="A column's name")]
Order = Annotated[str | None, QueryParameter(required=False, description="asc or desc")]
Done = Annotated[str | None, QueryParameter(required=False, description="What was just done")]
StationCode = Annotated[str | None, QueryParameter(required=False, description="A station's code")]
StationKey = Annotated[str | None, QueryParameter(required=False, description="A station's id")]


class CountyPagesController(Controller):
    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/", name="county_dashboard")
    async def dashboard(self, request: Request, user: LoggedIn) -> Template:
        county_id = await staff_county(user)
        fmt = Formatter(page_language(request))
        page = await review.dashboard(county_id, fmt)
        # The stations' rows written once in Python (dashboard_rows.py): Jinja took half the
        # page's time on the event loop there.
        page["missing_chips"], page["attention_rows"] = dashboard_rows.station_lists(
            page["missing"], page["attention"], fmt
        )
        return render(request, "county/dashboard.html", nav="dashboard", **page)

    @get("/stations", name="county_stations")
    async def stations(
        self,
        request: Request,
        user: LoggedIn,
        township: TownshipFilter = None,
        month: Month = None,
        sort: Sort = None,
        order: Order = None,
    ) -> Template:
        county_id = await staff_county(user)
        page = await review.station_list(county_id, township, month, sort, order)
        return render(request, "county/stations.html", nav="stations", **page)

    @get("/stations/{station_id:uuid}", guards=[requires_station_scope])
    async def station(
        self, request: Request, user: LoggedIn, station_id: StationId, month: Month = None
    ) -> Template:
        page = await review.station_page(station_id, month)
        language = page_language(request)
        page["reminders"] = await notices.deliveries(
            page["facts"].id, station_id=station_id, limit=20, language=language
        )
        return render(request, "county/station.html", nav="stations", **page)

    @get("/checkins")
    async def checkins(
        self, request: Request, user: LoggedIn, township: TownshipFilter = None
    ) -> Template:
        county_id = await staff_county(user)
        page = await programme.checkin_grid(county_id, township)
        return render(request, "county/checkins.html", nav="dashboard", **page)

    @get("/coverage", name="county_coverage")
    async def coverage(
        self, request: Request, user: LoggedIn, month: Month = None, on: Day = None
    ) -> Template:
        county_id = await staff_county(user)
        page = await programme.coverage(county_id, month, on)
        return render(request, "county/coverage.html", nav="coverage", **page)

    @get("/trends", name="county_trends")
    async def trends(self, request: Request, user: LoggedIn, month: Month = None) -> Template:
        """近12个月: the month asked and the eleven before it, from the kpis' own months."""
        county_id = await staff_county(user)
        page = await programme.trends(county_id, month, Formatter(page_language(request)))
        return render(request, "county/trends.html", nav="trends", **page)

    @get("/scorecard", name="county_scorecard")
    async def scorecard(self, request: Request, user: LoggedIn, month: Month = None) -> Template:
        """考核指标: every programme target judged on the year to date, printable for the
        provincial inspector."""
        county_id = await staff_county(user)
        page = await scorecard.scorecard_page(county_id, month)
        return render(request, "county/scorecard.html", nav="scorecard", **page)


class CountyRecordsController(Controller):
    """The monthly subsidy claims, the stations' till counts, the upward report log."""

    path = "/county"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/subsidies")
    async def subsidies(
        self, request: Request, user: LoggedIn, month: Month = None, station: StationCode = None
    ) -> Template:
        county_id = await staff_county(user)
        page = await records.subsidy_claims(county_id, month, station)
        return render(request, "county/subsidies.html", nav="subsidies", **page)

    @get("/cash")
    async def cash(
        self, request: Request, user: LoggedIn, month: Month = None, station: StationKey = None
    ) -> Template:
        """日结: one row per station for the month, or one station's days (`station`)."""
        county_id = await staff_county(user)
        page = await records.cash_counts(county_id, month, _cash_station(station))
        return render(request, "county/cash.html", nav="cash", **page)

    @get("/reports")
    async def reports(self, request: Request, user: LoggedIn, settings: AppSettings) -> Template:
        county_id = await staff_county(user)
        page = await records.province_reports(county_id)
        reporting_on = bool(settings.province_url and settings.province_secret)
        return render(
            request, "county/reports.html", nav="reports", reporting_on=reporting_on, **page
        )

    @get("/months")
    async def months(
        self, request: Request, user: LoggedIn, month: Month = None, done: Done = None
    ) -> Template:
        return await _month_page(request, user, month, done=done)

    @post("/months", status_code=200)
    async def review_month(self, request: Request, user: LoggedIn) -> Template | Redirect:
        """One form for the page's buttons: close a station's month, close every station's, or
        reopen one with a reason (refusals shown on the page, the input kept)."""
        county_id = await staff_county(user)
        values = form_values(await request.form(), MONTH_FIELDS)
        month, action = values.get("month", ""), values.get("action", "")
        try:
            station_id = _station_id(values.get("station_id"))
            if action == "close_all":
                await ledger_months.close_county(user, county_id, month)
            elif action == "close" and station_id is not None:
                await _own(county_id, station_id)
                await ledger_months.close(user, station_id, month)
            elif action == "reopen" and station_id is not None:
                await _own(county_id, station_id)
                await ledger_months.reopen(user, station_id, month, values.get("reason", ""))
            else:
                raise DomainError("invalid_input", field="action")
        except DomainError as exc:
            if exc.status == 403:
                raise  # another county's station: a refusal page, not a form error
            state = error_state(exc, values, page_language(request))
            return await _month_page(request, user, month, state=state)
        return Redirect(f"/county/months?month={month}&done={action}", status_code=303)


MONTH_FIELDS = [
    FormField("month"),
    FormField("action"),
    FormField("station_id"),
    FormField("reason"),
]


def _station_id(text: str | None):
    try:
        return as_uuid(text) if text else None
    except ValueError:
        raise DomainError("invalid_input", field="station_id") from None


def _cash_station(text: str | None):
    """The cash page's chosen station: an id that is no station's is no station of the county."""
    try:
        return as_uuid(text) if text else None
    except ValueError:
        raise DomainError("unknown_station", status=404, field="station") from None


async def _own(county_id, station_id) -> None:
    """A station of the staff member's own county: another county's is refused."""
    if not await records.station_in_county(county_id, station_id):
        raise DomainError("forbidden", status=403)


async def _month_page(request: Request, user, month: str | None, done=None, state=None) -> Template:
    county_id = await staff_county(user)
    page = await records.month_review(county_id, month)
    return render(request, "county/months.html", nav="months", done=done, state=state, **page)


ROUTE_HANDLERS = [CountyPagesController, CountyRecordsController]
