"""The keepers' screen under /county/registry/keepers: list, create, edit, a new password, a full
number revealed once and audited. Keepers are accounts, but this screen is where they meet the
registry's stations (which station each keeps), so it sits with the registry's screens, above
accounts; accounts itself stays below the registry."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from backend import db
from backend.accounts import schemas as accounts_schemas
from backend.accounts import service as accounts
from backend.accounts.guards import LoggedIn, requires_row_in_county, requires_staff
from backend.accounts.tables import User
from backend.params import UserId
from backend.privacy import mask_phone
from backend.registry.pages import choices
from backend.registry.screens import (
    RegistryScreen,
    apply_change,
    option_texts,
    row_values,
    screen_create,
    screen_edit,
    screen_list,
    screen_update,
)
from backend.web.format import ltr
from backend.web.forms import FormField, form_values
from backend.web.layout import PAGE_ERRORS, render

# The keepers' screen -----------------------------------------------------------------------------


async def _keeper_rows(county_id, fmt, lists):
    stations_by_id = option_texts(lists["stations"])
    async with db.read_transaction():
        rows = await db.fetch(
            "SELECT u.id, u.name, u.phone, u.station, u.active, s.code, s.name AS station_name "
            "FROM accounts_user u LEFT JOIN registry_station s ON s.id = u.station "
            "WHERE u.county = $1 AND u.role = 'keeper' ORDER BY s.code, u.name",
            county_id,
        )
    return [
        {
            "id": db.as_uuid(row["id"]),
            "cells": [
                row["name"],
                ltr(mask_phone(row["phone"])),
                stations_by_id.get(str(db.as_uuid(row["station"])), "")
                or f"{row['code'] or ''} {row['station_name'] or ''}".strip(),
                fmt.t("county_page.open") if row["active"] else fmt.t("county_page.inactive"),
            ],
        }
        for row in rows
    ]


async def _keeper_current(row_id):
    values = await row_values(
        "accounts_user", ["name", "phone", "station", "language", "active", "role"], row_id
    )
    if "station" in values:
        values["station_id"] = values.pop("station")
    values["phone_masked"] = mask_phone(values.pop("phone", ""))
    return values


async def _update_keeper(actor, user_id, data):
    return await accounts.update_user(actor, user_id, data)


class KeeperCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The keeper form: the accounts schema with the role fixed to keeper."""

    phone: str
    name: str
    password: str
    station_id: uuid.UUID | None = None
    language: str = "zh-CN"


async def _create_keeper_checked(actor, county_id, data: KeeperCreate):
    user = msgspec.convert(
        {**msgspec.structs.asdict(data), "role": "keeper"}, accounts_schemas.UserCreate
    )
    return await accounts.create_user(actor, county_id, user)


KEEPER_SCREEN = RegistryScreen(
    name="keepers",
    columns=["field.name", "field.phone", "field.station_id", "county_page.col.state"],
    create_fields=[
        FormField("station_id", "select", "stations", required=True),
        FormField("name", required=True),
        FormField("phone", "tel", required=True),
        FormField("password", "password", required=True),
        FormField("language", "select", "languages"),
    ],
    edit_fields=[
        FormField("name", required=True),
        FormField("station_id", "select", "stations", required=True),
        FormField("language", "select", "languages"),
        FormField("active", "checkbox"),
    ],
    create_schema=KeeperCreate,
    update_schema=accounts_schemas.UserUpdate,
    lists=choices,
    rows=_keeper_rows,
    create=_create_keeper_checked,
    update=_update_keeper,
    current=_keeper_current,
)
PASSWORD_FIELDS = [FormField("password", "password", required=True)]


class KeeperPagesController(Controller):
    """Keepers: list, create, edit, reveal a number, set a new password."""

    path = "/county/registry"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/keepers")
    async def keepers(self, request: Request, user: LoggedIn) -> Template:
        return await screen_list(request, user, KEEPER_SCREEN)

    @post("/keepers", status_code=200)
    async def create_keeper(self, request: Request, user: LoggedIn) -> Response:
        return await screen_create(request, user, KEEPER_SCREEN)

    @get("/keepers/{user_id:uuid}", guards=[requires_row_in_county(User, "user_id")])
    async def keeper(self, request: Request, user: LoggedIn, user_id: UserId) -> Template:
        return await screen_edit(request, user, KEEPER_SCREEN, user_id)

    @post(
        "/keepers/{user_id:uuid}",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def update_keeper(self, request: Request, user: LoggedIn, user_id: UserId) -> Response:
        return await screen_update(request, user, KEEPER_SCREEN, user_id)

    @post(
        "/keepers/{user_id:uuid}/phone",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def reveal_phone(self, request: Request, user: LoggedIn, user_id: UserId) -> Template:
        """One tap shows a keeper's full number to call; the reveal is audited."""
        keeper = await accounts.reveal_keeper_phone(user, user_id)
        back = f"/county/stations/{keeper['station']}" if keeper["station"] else "/county/"
        return render(request, "county/phone.html", nav="stations", keeper=keeper, back=back)

    @post(
        "/keepers/{user_id:uuid}/password",
        guards=[requires_row_in_county(User, "user_id")],
        status_code=200,
    )
    async def reset_password(self, request: Request, user: LoggedIn, user_id: UserId) -> Response:
        """A new password set by staff: the keeper's sessions end (accounts.update_user)."""
        values = form_values(await request.form(), PASSWORD_FIELDS)
        schema = accounts_schemas.UserUpdate
        return await apply_change(
            request, user, KEEPER_SCREEN, user_id, values, schema, None, "password_form"
        )


ROUTE_HANDLERS = [KeeperPagesController]
