"""The station file's form on the station screen: its fields, and what the screen shows of the
file (the stored file as the form's values, the photos, the choice lists)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend.registry import photos, station_file
from backend.registry.schemas import (
    EQUIPMENT,
    KEEPER_FLAGS,
    KEEPER_GENDERS,
    PHOTO_KINDS,
    StationFileOut,
)
from backend.web.forms import FormField, FormState

FILE_FIELDS = [
    FormField("address"),
    FormField("company"),
    FormField("lat", "degrees"),
    FormField("lng", "degrees"),
    *(FormField(name, "checkbox") for name in EQUIPMENT),
    FormField("has_signage", "checkbox"),
    FormField("inspected_on", "date"),
    *(FormField(name, "checkbox") for name in KEEPER_FLAGS),
    FormField("keeper_gender", "select"),
]


def _form_values(file: StationFileOut) -> dict[str, Any]:
    """The stored file as the form shows it."""
    values = msgspec.structs.asdict(file)
    values.pop("photos")
    for name in ("lat", "lng"):
        values[name] = f"{values[name]:.6f}" if values[name] is not None else ""
    if file.inspected_on is not None:
        values["inspected_on"] = file.inspected_on.isoformat()
    values["keeper_gender"] = file.keeper_gender or ""
    return values


async def file_context(
    station_id: uuid.UUID, state: FormState | None = None, photo_state: FormState | None = None
) -> dict[str, Any]:
    """What the station screen shows of the file: the file, its form, the photos' form."""
    file = await station_file.get_file(station_id)
    return {
        "station_file": file,
        "file_form": state or FormState(values=_form_values(file)),
        "photo_form": photo_state or FormState(),
        "equipment": EQUIPMENT,
        "equipment_have": sum(1 for name in EQUIPMENT if getattr(file, name)),
        "keeper_flags": KEEPER_FLAGS,
        "genders": KEEPER_GENDERS,
        "photo_kinds": PHOTO_KINDS,
        "photo_max_mib": photos.MAX_BYTES // 2**20,
    }
