"""The registry's staff pages under /county/registry/: townships, villages, stations and
households — list, create, edit; a station closed and reopened. Forms are validated by the
registry's own schemas and services (screens.py shows their refusals next to the fields).
A township's information officer uses two of them for their township: its households (list,
create, edit) and a station's page (its opening and closing days, its file)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template

from backend import db
from backend.accounts.guards import (
    LoggedIn,
    requires_officer_or_staff,
    requires_row_in_county,
    requires_row_in_scope,
    requires_staff,
)
from backend.errors import DomainError
from backend.i18n import translate
from backend.params import HouseholdId, StationId, TownshipId, VillageId
from backend.privacy import mask_phone
from backend.registry import list_file
from backend.registry import schemas as registry_schemas
from backend.registry import service as registry
from backend.registry.file_form import file_context
from backend.registry.marks import FailedBatchesOf, with_failed_batches
from backend.registry.screens import (
    SCREEN_NAMES,
    Paging,
    RegistryScreen,
    apply_change,
    option_texts,
    row_values,
    screen_create,
    screen_edit,
    screen_list,
    screen_update,
)
from backend.registry.staff import page_county, staff_county
from backend.registry.tables import Household, Station, Township, Village
from backend.web.format import Formatter, ltr
from backend.web.forms import FormField, form_values
from backend.web.layout import LANGUAGE_NAMES, PAGE_ERRORS, page_language, render

IMPORT_ROWS_SHOWN = 500  # the page shows errors first, then the rest, up to this many rows
IMPORT_ACTIONS = ("create", "update", "unchanged", "error")


async def choices(
    county_id: uuid.UUID, township_id: uuid.UUID | None = None
) -> dict[str, list[dict[str, str]]]:
    """The choice lists of the registry forms (townships, villages, open stations); a township
    officer's villages are their township's only."""
    async with db.read_transaction():
        townships = await db.fetch(
            "SELECT id, name FROM registry_township WHERE county = $1 ORDER BY name", county_id
        )
        in_township = "" if township_id is None else "AND v.township = $2 "
        villages = await db.fetch(
            "SELECT v.id, v.name, t.name AS township FROM registry_village v "
            f"JOIN registry_township t ON t.id = v.township WHERE v.county = $1 {in_township}"
            "ORDER BY t.name, v.name",
            county_id,
            *([] if township_id is None else [township_id]),
        )
        open_stations = await db.fetch(
            "SELECT id, code, name FROM registry_station WHERE county = $1 AND closed_at IS NULL "
            "ORDER BY code",
            county_id,
        )
    return {
        "townships": [{"value": str(db.as_uuid(r["id"])), "text": r["name"]} for r in townships],
        "villages": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['township']} · {r['name']}"}
            for r in villages
        ],
        "stations": [
            {"value": str(db.as_uuid(r["id"])), "text": f"{r['code']} {r['name']}"}
            for r in open_stations
        ],
        "languages": [{"value": code, "text": name} for code, name in LANGUAGE_NAMES.items()],
        "levels": [
            {"value": level, "text": level, "key": f"county_page.level.{level}"}
            for level in registry_schemas.STATION_LEVELS
        ],
    }


def _yes(fmt: Formatter, value: bool) -> str:
    return fmt.t("county_page.yes") if value else ""


async def _township_rows(county_id, fmt, lists):
    rows = await registry.list_townships(county_id)
    return [{"id": row.id, "cells": [row.name, row.code, _yes(fmt, row.poor)]} for row in rows]


async def _village_rows(county_id, fmt, lists):
    townships = option_texts(lists["townships"])
    rows = await registry.list_villages(county_id)
    return [
        {
            "id": row.id,
            "cells": [townships.get(str(row.township_id), ""), row.name, _yes(fmt, row.poor)],
        }
        for row in sorted(rows, key=lambda r: (townships.get(str(r.township_id), ""), r.name))
    ]


async def _station_rows(county_id, fmt, lists):
    villages = option_texts(lists["villages"])
    rows = await registry.list_stations(county_id)
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.name,
                fmt.t(f"county_page.level.{row.level}"),
                villages.get(str(row.village_id), ""),
                fmt.date(row.opened_on),
                fmt.date(row.closed_on) if row.closed_at else "",
                fmt.t("county_page.closed") if row.closed_at else fmt.t("county_page.open"),
            ],
        }
        for row in rows
    ]


async def _household_rows(county_id, fmt, lists, paging: Paging):
    """A page of households: the search (code, head's name, a phone's last four) and offset."""
    villages = option_texts(lists["villages"])
    rows, total = await registry.search_households(
        county_id, paging.q, paging.size, paging.offset, paging.township_id
    )
    return [
        {
            "id": row.id,
            "cells": [
                row.code,
                row.head_name,
                ltr(row.phone),  # masked by the registry service
                villages.get(str(row.village_id), ""),
                _yes(fmt, row.poverty),
            ],
        }
        for row in rows
    ], total


async def _township_current(row_id):
    return await row_values("registry_township", ["name", "code", "poor"], row_id)


async def _village_current(row_id):
    return await row_values("registry_village", ["name", "poor"], row_id)


async def _station_current(row_id):
    values = await row_values(
        "registry_station",
        [
            "code",
            "name",
            "address",
            "level",
            "opened_on",
            "closed_on",
            "shelves",
            "layers",
            "closed_at",
            "closed_reason",
        ],
        row_id,
    )
    values["closed"] = values.pop("closed_at", None) is not None
    for day in ("opened_on", "closed_on"):  # as the date input takes it
        if day in values:
            values[day] = db.as_date(values[day]).isoformat()
    return values


async def _household_current(row_id):
    values = await row_values(
        "registry_household",
        ["code", "head_name", "phone", "poverty", "sms_opt_out", "village", "county"],
        row_id,
    )
    values["village_id"] = str(db.as_uuid(values.pop("village")))
    # The household card (一户一码): its QR, printable from the edit page.
    county_id = db.as_uuid(values.pop("county"))
    values["card_url"] = f"/api/v1/counties/{county_id}/households/{row_id}/card.svg"
    # The number is not put back into the form (it would be shown in full): empty keeps it.
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _update_household(actor, row_id, data):
    return await registry.update_household(actor, row_id, data)


class Nothing(msgspec.Struct, forbid_unknown_fields=True):
    """A form with no fields (reopening a station)."""


REGISTRY_SCREENS: dict[str, RegistryScreen] = {
    "townships": RegistryScreen(
        name="townships",
        columns=["field.name", "field.code", "field.poor_township"],
        create_fields=[
            FormField("name", required=True),
            FormField("code"),
            FormField("poor", "checkbox", label="field.poor_township"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("code"),
            FormField("poor", "checkbox", label="field.poor_township"),
        ],
        create_schema=registry_schemas.TownshipCreate,
        update_schema=registry_schemas.TownshipUpdate,
        lists=choices,
        rows=_township_rows,
        create=registry.create_township,
        update=registry.update_township,
        current=_township_current,
    ),
    "villages": RegistryScreen(
        name="villages",
        columns=["field.township_id", "field.name", "county_page.poor_village"],
        create_fields=[
            FormField("township_id", "select", "townships", required=True),
            FormField("name", required=True),
            FormField("poor", "checkbox"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("poor", "checkbox"),
            FormField("poor_from", "date"),
        ],
        create_schema=registry_schemas.VillageCreate,
        update_schema=registry_schemas.VillageUpdate,
        lists=choices,
        rows=_village_rows,
        create=registry.create_village,
        update=registry.update_village,
        current=_village_current,
    ),
    "stations": RegistryScreen(
        name="stations",
        columns=[
            "field.code",
            "field.name",
            "field.level",
            "field.village_id",
            "field.opened_on",
            "field.closed_on",
            "county_page.col.state",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("name", required=True),
            FormField("code", required=True),
            FormField("level", "select", "levels"),  # none chosen: a 村级服务点
            FormField("address"),
            FormField("opened_on", "date"),
            FormField("shelves", "number"),
            FormField("layers", "number"),
        ],
        edit_fields=[
            FormField("name", required=True),
            FormField("level", "select", "levels", required=True),
            FormField("opened_on", "date", required=True),
            FormField("closed_on", "date", label="field.closed_on_edit"),
            FormField("shelves", "number", required=True),
            FormField("layers", "number", required=True),
        ],
        create_schema=registry_schemas.StationCreate,
        update_schema=registry_schemas.StationUpdate,
        lists=choices,
        rows=_station_rows,
        create=registry.create_station,
        update=registry.update_station,
        current=_station_current,
        create_defaults={"shelves": 6, "layers": 4, "level": "village"},
        sections=file_context,  # the station file (网点台帐) and its photos
        officer_fields=[
            FormField("opened_on", "date", required=True),
            FormField("closed_on", "date", label="field.closed_on_edit"),
        ],
    ),
    "households": RegistryScreen(
        name="households",
        columns=[
            "field.code",
            "field.head_name",
            "field.phone",
            "field.village_id",
            "field.poverty",
        ],
        create_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("code", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        edit_fields=[
            FormField("village_id", "select", "villages", required=True),
            FormField("head_name"),
            FormField("phone", "tel"),
            FormField("poverty", "checkbox"),
            FormField("sms_opt_out", "checkbox"),
        ],
        create_schema=registry_schemas.HouseholdCreate,
        update_schema=registry_schemas.HouseholdUpdate,
        lists=choices,
        rows=_household_rows,
        create=registry.create_household,
        update=_update_household,
        current=_household_current,
        # The 脱贫户 box starts unticked: a new household is not poor unless marked.
        paged=True,
    ),
}

SCREENS = REGISTRY_SCREENS
CLOSE_FIELDS = [FormField("reason", required=True), FormField("closed_on", "date")]


async def _close(actor, station_id, data):
    return await registry.close_station(actor, station_id, data.reason, data.closed_on)


async def _reopen(actor, station_id, data):
    return await registry.reopen_station(actor, station_id)


class RegistryPagesController(Controller):
    """Townships, villages, stations, households and keepers: list, create, edit."""

    path = "/county/registry"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/townships")
    async def townships(self, request: Request, user: LoggedIn) -> Template:
        return await screen_list(request, user, SCREENS["townships"])

    @post("/townships", status_code=200)
    async def create_township(self, request: Request, user: LoggedIn) -> Response:
        return await screen_create(request, user, SCREENS["townships"])

    @get("/townships/{township_id:uuid}", guards=[requires_row_in_county(Township, "township_id")])
    async def township(self, request: Request, user: LoggedIn, township_id: TownshipId) -> Template:
        return await screen_edit(request, user, SCREENS["townships"], township_id)

    @post(
        "/townships/{township_id:uuid}",
        guards=[requires_row_in_county(Township, "township_id")],
        status_code=200,
    )
    async def update_township(
        self, request: Request, user: LoggedIn, township_id: TownshipId
    ) -> Response:
        return await screen_update(request, user, SCREENS["townships"], township_id)

    @get("/villages")
    async def villages(self, request: Request, user: LoggedIn) -> Template:
        return await screen_list(request, user, SCREENS["villages"])

    @post("/villages", status_code=200)
    async def create_village(self, request: Request, user: LoggedIn) -> Response:
        return await screen_create(request, user, SCREENS["villages"])

    @get("/villages/{village_id:uuid}", guards=[requires_row_in_county(Village, "village_id")])
    async def village(self, request: Request, user: LoggedIn, village_id: VillageId) -> Template:
        return await screen_edit(request, user, SCREENS["villages"], village_id)

    @post(
        "/villages/{village_id:uuid}",
        guards=[requires_row_in_county(Village, "village_id")],
        status_code=200,
    )
    async def update_village(
        self, request: Request, user: LoggedIn, village_id: VillageId
    ) -> Response:
        return await screen_update(request, user, SCREENS["villages"], village_id)

    @get("/stations")
    async def stations(self, request: Request, user: LoggedIn) -> Template:
        return await screen_list(request, user, SCREENS["stations"])

    @post("/stations", status_code=200)
    async def create_station(self, request: Request, user: LoggedIn) -> Response:
        return await screen_create(request, user, SCREENS["stations"])


class StationPagesController(Controller):
    """A station's page: county staff of its county change it all and close or reopen it; the
    information officer of its township changes its opening and closing days (and its file,
    file_pages.py)."""

    path = "/county/registry/stations/{station_id:uuid}"
    include_in_schema = False
    guards = [requires_row_in_scope(Station, "station_id")]
    exception_handlers = PAGE_ERRORS

    @get()
    async def station(self, request: Request, user: LoggedIn, station_id: StationId) -> Template:
        return await screen_edit(request, user, SCREENS["stations"], station_id)

    @post(status_code=200)
    async def update_station(
        self, request: Request, user: LoggedIn, station_id: StationId
    ) -> Response:
        return await screen_update(request, user, SCREENS["stations"], station_id)

    @post("/close", guards=[requires_staff], status_code=200)
    async def close_station(
        self, request: Request, user: LoggedIn, station_id: StationId
    ) -> Response:
        values = form_values(await request.form(), CLOSE_FIELDS)
        schema = registry_schemas.StationClose
        return await apply_change(
            request, user, SCREENS["stations"], station_id, values, schema, _close, "close_form"
        )

    @post("/reopen", guards=[requires_staff], status_code=200)
    async def reopen_station(
        self, request: Request, user: LoggedIn, station_id: StationId
    ) -> Response:
        return await apply_change(
            request, user, SCREENS["stations"], station_id, {}, Nothing, _reopen
        )


class HouseholdPagesController(Controller):
    """Households (一户一码): county staff for their county, a township officer for the
    township's villages (the list, the village choices and the service hold them to it)."""

    path = "/county/registry/households"
    include_in_schema = False
    guards = [requires_officer_or_staff]
    exception_handlers = PAGE_ERRORS

    @get()
    async def households(
        self, request: Request, user: LoggedIn, failed_batches_of: FailedBatchesOf
    ) -> Template:
        """The list; a household whose produce failed inspection is marked (检测不合格)."""

        async def mark(county_id: uuid.UUID, rows: list[dict], fmt: Formatter) -> None:
            marks = await failed_batches_of(county_id, [row["id"] for row in rows])
            for row in rows:
                if marks.get(row["id"]):
                    row["mark"] = fmt.t(
                        "county_page.household.failed_mark", n=len(marks[row["id"]])
                    )

        return await screen_list(request, user, SCREENS["households"], mark=mark)

    @post(status_code=200)
    async def create_household(self, request: Request, user: LoggedIn) -> Response:
        return await screen_create(request, user, SCREENS["households"])

    @get("/{household_id:uuid}", guards=[requires_row_in_scope(Household, "household_id")])
    async def household(
        self,
        request: Request,
        user: LoggedIn,
        household_id: HouseholdId,
        failed_batches_of: FailedBatchesOf,
    ) -> Template:
        """The household's record and, marked, its batches that failed inspection."""
        household = await registry.get_household(household_id)
        (marked,) = await with_failed_batches(household.county_id, [household], failed_batches_of)
        sections = {"failed_batches": marked.failed_batches}
        return await screen_edit(
            request, user, SCREENS["households"], household_id, sections=sections
        )

    @post(
        "/{household_id:uuid}",
        guards=[requires_row_in_scope(Household, "household_id")],
        status_code=200,
    )
    async def update_household(
        self, request: Request, user: LoggedIn, household_id: HouseholdId
    ) -> Response:
        return await screen_update(request, user, SCREENS["households"], household_id)


class ImportPagesController(Controller):
    """The bulk import: upload the county's list, see the dry run's rows (errors first), import."""

    path = "/county/registry/import"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    async def _page(self, request: Request, user: LoggedIn, **context) -> Template:
        county_id = await staff_county(user)
        return render(
            request,
            "registry/import.html",
            facts=await page_county(county_id),
            nav="registry",
            screen=None,
            screens=SCREEN_NAMES,
            import_page=True,
            actions=IMPORT_ACTIONS,
            **context,
        )

    @get()
    async def form(self, request: Request, user: LoggedIn) -> Template:
        return await self._page(request, user)

    @post(status_code=200, request_max_body_size=list_file.MAX_BYTES + 64 * 1024)
    async def upload(self, request: Request, user: LoggedIn) -> Template:
        language = page_language(request)
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._page(
                request, user, problem=translate("registry_page.import.no_file", language)
            )
        body = await upload.read()
        try:
            report = await registry.import_file(
                user,
                await staff_county(user),
                body,
                dry_run=form.get("action") != "import",
                language=language,
            )
        except DomainError as exc:
            return await self._page(request, user, problem=exc.problem(language)["detail"])
        errors = [row for row in report.rows if row.action == "error"]
        others = [row for row in report.rows if row.action != "error"]
        return await self._page(
            request,
            user,
            report=report,
            filename=upload.filename,
            shown=(errors + others)[:IMPORT_ROWS_SHOWN],
        )


ROUTE_HANDLERS = [
    RegistryPagesController,
    StationPagesController,
    HouseholdPagesController,
    ImportPagesController,
]
