"""The station file's section on the registry's station screen (/county/registry/stations/{id}):
the file's form, the photos (upload as a multipart form, delete), each refused change shown next
to its field with what was typed kept. The API's schemas and logic decide (station_file.py)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect

from backend.accounts.guards import LoggedIn, requires_row_in_scope
from backend.errors import DomainError
from backend.params import PhotoId, StationId
from backend.registry import photos, station_file
from backend.registry.file_form import FILE_FIELDS, file_context
from backend.registry.pages import SCREENS
from backend.registry.schemas import StationFileIn
from backend.registry.screens import screen_edit
from backend.registry.tables import Station
from backend.web.forms import FormState, error_state, form_values, to_struct
from backend.web.layout import PAGE_ERRORS, page_language


def _back(station_id: uuid.UUID, anchor: str) -> Redirect:
    return Redirect(f"/county/registry/stations/{station_id}?saved=1#{anchor}", status_code=303)


async def _again(request: Request, user, station_id: uuid.UUID, **states: FormState) -> Response:
    """The station screen again, the refused form showing its message and input."""
    context = await file_context(station_id, **states)
    return await screen_edit(request, user, SCREENS["stations"], station_id, sections=context)


class StationFilePagesController(Controller):
    """The station file's form and photos on the station screen."""

    path = "/county/registry/stations/{station_id:uuid}"
    include_in_schema = False
    guards = [requires_row_in_scope(Station, "station_id")]
    exception_handlers = PAGE_ERRORS

    @post("/file", status_code=200)
    async def save_file(self, request: Request, user: LoggedIn, station_id: StationId) -> Response:
        values = form_values(await request.form(), FILE_FIELDS)
        try:
            data = to_struct(values, StationFileIn, FILE_FIELDS)
            await station_file.put_file(user, station_id, data)
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            return await _again(request, user, station_id, state=state)
        return _back(station_id, "station-file")

    @post(
        "/photos",
        status_code=200,
        request_max_body_size=photos.MAX_BYTES + 64 * 1024,  # the form's other fields
    )
    async def add_photo(self, request: Request, user: LoggedIn, station_id: StationId) -> Response:
        form = await request.form()
        upload = form.get("file")
        kind = str(form.get("kind") or "")
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise DomainError("photo_missing", field="file")
            body = await upload.read()
            await station_file.add_photo(user, station_id, kind, body)
        except DomainError as exc:
            state = error_state(exc, {"kind": kind}, page_language(request))
            return await _again(request, user, station_id, photo_state=state)
        return _back(station_id, "station-photos")

    @post("/photos/{photo_id:uuid}/delete", status_code=200)
    async def delete_photo(
        self, request: Request, user: LoggedIn, station_id: StationId, photo_id: PhotoId
    ) -> Response:
        await station_file.delete_photo(user, station_id, photo_id)
        return _back(station_id, "station-photos")


ROUTE_HANDLERS = [StationFilePagesController]
