"""Authorization, said once: who may call a route, and which station or county it may touch."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from piccolo.table import Table

from backend.accounts import store
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError

# Guards are coroutines even when they do not await: Litestar runs a plain function guard in a
# worker thread, one thread hop per request (4 % of the server's CPU under the sync load).


def current_user(connection: ASGIConnection) -> CurrentUser:
    user = connection.scope.get("user")
    if not isinstance(user, CurrentUser):
        raise DomainError("unauthorized", status=401)
    return user


# A handler parameter `user: LoggedIn` receives the logged-in user from the app's `user` dependency.
LoggedIn: TypeAlias = NamedDependency[CurrentUser]


async def provide_user(request: Request) -> CurrentUser:
    """The `user` dependency of every route: handlers declare `user: LoggedIn` instead of
    reading the connection by hand (401 problem when nobody is logged in)."""
    return current_user(request)


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    current_user(connection)


async def requires_keeper(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    user = current_user(connection)
    if user.role != "keeper" or user.station_id is None:
        raise DomainError("keepers_only", status=403)


async def requires_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if not current_user(connection).is_staff:
        raise DomainError("staff_only", status=403)


async def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if current_user(connection).role != "admin":
        raise DomainError("admins_only", status=403)


async def requires_province(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A province officer, or an admin (who reads every county)."""
    user = current_user(connection)
    if user.role != "province" and not (user.role == "admin" and user.county_id is None):
        raise DomainError("province_only", status=403)


def _path_uuid(connection: ASGIConnection, name: str) -> uuid.UUID:
    value = connection.path_params.get(name)
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise DomainError("not_found", status=404) from exc


def may_see_county(user: CurrentUser, county_id: uuid.UUID | None) -> bool:
    if user.role == "admin" and user.county_id is None:
        return True
    return user.is_staff and county_id is not None and user.county_id == county_id


async def station_county(station_id: uuid.UUID) -> uuid.UUID:
    place = await store.station_place(station_id)
    if place is None:
        raise DomainError("not_found", status=404)
    return place.county


async def may_see_station(user: CurrentUser, station_id: uuid.UUID) -> bool:
    if user.role == "keeper":
        return user.station_id == station_id
    return may_see_county(user, await station_county(station_id))


async def requires_station_scope(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`{station_id}` must be the keeper's own station, or a station of the staff's county."""
    user = current_user(connection)
    if not await may_see_station(user, _path_uuid(connection, "station_id")):
        raise DomainError("forbidden_scope", status=403)


async def requires_county_scope(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`{county_id}` must be the staff member's own county (admins without a county see all)."""
    user = current_user(connection)
    if not may_see_county(user, _path_uuid(connection, "county_id")):
        raise DomainError("forbidden_scope", status=403)


async def requires_county_hub_or_staff(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`{county_id}` is the caller's county, and the caller is its staff or its hub's worker."""
    user = current_user(connection)
    county_id = _path_uuid(connection, "county_id")
    if user.role == "hub":
        if user.county_id != county_id:
            raise DomainError("forbidden_scope", status=403)
        return
    if not user.is_staff:
        raise DomainError("staff_only", status=403)
    if not may_see_county(user, county_id):
        raise DomainError("forbidden_scope", status=403)


async def requires_township_scope(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`{township_id}` is the officer's own township, or a township of the staff's county."""
    user = current_user(connection)
    township_id = _path_uuid(connection, "township_id")
    if user.role == "township":
        if user.township_id != township_id:
            raise DomainError("township_only", status=403)
        return
    if not user.is_staff:
        raise DomainError("staff_only", status=403)
    county_id = await store.township_county(township_id)
    if county_id is None:
        raise DomainError("not_found", status=404)
    if not may_see_county(user, county_id):
        raise DomainError("forbidden_scope", status=403)


def _role_or_staff(role: str, scoped_by: str) -> Any:
    """A guard letting in county staff, and the callers of `role` whose `scoped_by` is set (a
    hub worker's county, an officer's township): the one page of such a role."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user.role == role and getattr(user, scoped_by) is not None:
            return
        if not user.is_staff:
            raise DomainError("staff_only", status=403)

    return guard


# County staff, or a county hub's worker (the hub's page, whose county is the caller's).
requires_hub_or_staff = _role_or_staff("hub", "county_id")
# County staff, or a township's information officer (the township's page).
requires_officer_or_staff = _role_or_staff("township", "township_id")


async def requires_county_scope_or_officer(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`{county_id}` is the staff member's county, or the county of the township officer, whose
    lists and edits the registry then holds to their township (`CurrentUser.township_scope`)."""
    user = current_user(connection)
    county_id = _path_uuid(connection, "county_id")
    if user.township_scope is not None:
        if user.county_id != county_id:
            raise DomainError("township_only", status=403)
        return
    if not user.is_staff:
        raise DomainError("staff_only", status=403)
    if not may_see_county(user, county_id):
        raise DomainError("forbidden_scope", status=403)


def requires_row_in_scope(table: type[Table], param: str) -> Any:
    """A guard for routes addressed by a station's or household's id: county staff of the row's
    county, or the township officer of the row's township (乡镇电商信息员, for the villages they
    serve); everyone else 403, an unknown row 404."""
    tablename = table._meta.tablename
    if tablename not in store.PLACED_TABLES:
        raise ValueError(f"{tablename} has no township to scope an officer by")

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = current_user(connection)
        officer = user.township_scope
        if officer is None and not user.is_staff:
            raise DomainError("staff_only", status=403)
        place = await store.row_place(tablename, _path_uuid(connection, param))
        if place is None:
            raise DomainError("not_found", status=404)
        if officer is not None:
            if place.township != officer:
                raise DomainError("township_only", status=403)
        elif not may_see_county(user, place.county):
            raise DomainError("forbidden_scope", status=403)

    guard.__name__ = f"requires_{tablename}_in_scope"
    return guard


def requires_row_in_county(table: type[Table], param: str) -> Any:
    """A guard for routes addressed by a row's id: the row's county must be the caller's."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = current_user(connection)
        row = (
            await table.select(table.county)  # type: ignore[attr-defined]
            .where(table._meta.primary_key == _path_uuid(connection, param))
            .first()
        )
        if row is None:
            raise DomainError("not_found", status=404)
        if not may_see_county(user, row["county"]):
            raise DomainError("forbidden_scope", status=403)

    guard.__name__ = f"requires_{table._meta.tablename}_in_county"
    return guard
