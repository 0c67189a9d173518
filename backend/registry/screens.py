"""The mini-admin kit of the staff pages: a screen lists a capability's rows, creates one from a
form and edits one, with the capability's own schema and service deciding (a refusal comes back
as the form again, the message next to its field). The registry's and accounts' pages describe
their screens with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.response import Redirect, Template

from backend import db
from backend.accounts.schemas import CurrentUser
from backend.errors import DomainError
from backend.registry.staff import page_county, staff_county
from backend.web.format import Formatter
from backend.web.forms import FormField, FormState, error_state, form_values, to_struct
from backend.web.layout import page_language, render

# The registry's subnavigation, in order (the county's settings follow them).
SCREEN_NAMES = ["townships", "villages", "stations", "households", "keepers"]


@dataclass(frozen=True)
class RegistryScreen:
    """One screen: its list, its create form and its edit form."""

    name: str  # townships | villages | stations | households | keepers
    columns: list[str]  # catalog keys of the list's headers
    create_fields: list[FormField]
    edit_fields: list[FormField]
    create_schema: type
    update_schema: type
    lists: Any  # async (county_id, township_id) -> the choice lists of its selects
    rows: Any  # async (county_id, fmt, lists) -> [{"id", "cells"}]
    create: Any  # async (actor, county_id, struct)
    update: Any  # async (actor, row_id, struct)
    current: Any  # async (row_id) -> the edit form's values
    create_defaults: dict[str, Any] = field(default_factory=dict)
    # A long list (households): searched and paged; `rows` then takes a `Paging` and answers
    # (rows, how many match).
    paged: bool = False
    # More for the edit page (the station file's section): async (row_id) -> template context.
    sections: Any = None
    # What a township officer (乡镇电商信息员) edits of a row of their township, when not all of
    # `edit_fields` (a station's opening and closing days).
    officer_fields: list[FormField] | None = None

    def edit_fields_for(self, user: CurrentUser) -> list[FormField]:
        if user.township_scope is not None and self.officer_fields is not None:
            return self.officer_fields
        return self.edit_fields


PAGE_SIZE = 100


@dataclass(frozen=True)
class Paging:
    """A paged list's search (`?q=`) and where the page starts (`?offset=`), and the total; a
    township officer's list holds to their township (`township_id`)."""

    q: str = ""
    offset: int = 0
    size: int = PAGE_SIZE
    total: int = 0
    township_id: uuid.UUID | None = None

    @classmethod
    def of(cls, request: Request, township_id: uuid.UUID | None) -> Paging:
        q = (request.query_params.get("q") or "").strip()[:40]
        offset = request.query_params.get("offset") or "0"
        offset_n = int(offset) if offset.isdigit() and len(offset) < 9 else 0
        return cls(q=q, offset=offset_n, township_id=township_id)


async def screen_list(
    request: Request,
    user: CurrentUser,
    screen: RegistryScreen,
    state: FormState | None = None,
    mark: Any = None,
) -> Template:
    """The list (searched and paged when the screen is) and the create form; `mark`, when given,
    `async (county_id, rows, fmt) -> None`, marks rows (`row["mark"]`, beside the edit link)."""
    county_id = await staff_county(user)
    fmt = Formatter(page_language(request))
    lists = await screen.lists(county_id, user.township_scope)
    paging = None
    if screen.paged:
        paging = Paging.of(request, user.township_scope)
        rows, total = await screen.rows(county_id, fmt, lists, paging)
        paging = Paging(q=paging.q, offset=paging.offset, total=total)
    else:
        rows = await screen.rows(county_id, fmt, lists)
    if mark is not None:
        await mark(county_id, rows, fmt)
    state = state or FormState(values=dict(screen.create_defaults))
    return render(
        request,
        "county/registry.html",
        facts=await page_county(county_id),
        nav="registry",
        screen=screen,
        screens=SCREEN_NAMES,
        rows=rows,
        paging=paging,
        lists=lists,
        form=state,
        saved=request.query_params.get("saved") == "1",
    )


async def screen_create(request: Request, user: CurrentUser, screen: RegistryScreen) -> Response:
    county_id = await staff_county(user)
    values = form_values(await request.form(), screen.create_fields)
    try:
        data = to_struct(values, screen.create_schema, screen.create_fields)
        await screen.create(user, county_id, data)
    except (DomainError, msgspec.ValidationError) as exc:
        state = error_state(exc, values, page_language(request))
        return await screen_list(request, user, screen, state)
    return Redirect(f"/county/registry/{screen.name}?saved=1", status_code=303)


async def screen_edit(
    request: Request,
    user: CurrentUser,
    screen: RegistryScreen,
    row_id: uuid.UUID,
    state: FormState | None = None,
    sections: dict[str, Any] | None = None,
    refused: dict[str, FormState] | None = None,
) -> Template:
    """The edit page; `sections` (with a refused form of the screen's further sections)
    replaces what the screen's `sections` loader would show; `refused`, another form of the
    page sent and refused (`close_form`, `password_form`), as typed with its message."""
    county_id = await staff_county(user)
    lists = await screen.lists(county_id, user.township_scope)
    current = await screen.current(row_id)
    if sections is None:
        sections = await screen.sections(row_id) if screen.sections else {}
    return render(
        request,
        "county/registry_edit.html",
        facts=await page_county(county_id),
        nav="registry",
        screen=screen,
        screens=SCREEN_NAMES,
        row_id=row_id,
        current=current,
        lists=lists,
        edit_fields=screen.edit_fields_for(user),
        form=state or FormState(values=current),
        saved=request.query_params.get("saved") == "1",
        **{**sections, **(refused or {})},
    )


async def screen_update(
    request: Request, user: CurrentUser, screen: RegistryScreen, row_id: uuid.UUID
) -> Response:
    fields = screen.edit_fields_for(user)
    values = form_values(await request.form(), fields)
    return await apply_change(
        request, user, screen, row_id, values, screen.update_schema, None, fields=fields
    )


async def apply_change(
    request, user, screen, row_id, values, schema, action, form: str = "form", fields=None
) -> Response:
    """Run a change (the screen's update unless another action is given); on refusal show the
    edit page again with the message and the input. `form` names the page's form that was sent:
    a refused close or password form comes back in its own box, the edit form as it was (it
    came back blank, holding the close's date, the message twice). Number boxes among `fields`
    are read as numbers first."""
    try:
        await (action or screen.update)(user, row_id, to_struct(values, schema, fields))
    except (DomainError, msgspec.ValidationError) as exc:
        state = error_state(exc, values, page_language(request))
        if form == "form":
            return await screen_edit(request, user, screen, row_id, state)
        return await screen_edit(request, user, screen, row_id, refused={form: state})
    return Redirect(f"/county/registry/{screen.name}/{row_id}?saved=1", status_code=303)


async def row_values(table: str, columns: list[str], row_id: uuid.UUID) -> dict[str, Any]:
    async with db.read_transaction():
        rows = await db.fetch(
            # Table and column names are constants of the calling module, never input.
            f"SELECT {', '.join(columns)} FROM {table} WHERE id = $1",
            row_id,
        )
    if not rows:
        raise DomainError("not_found", status=404)
    return {
        name: (str(db.as_uuid(value)) if name.endswith("_id") or name == "station" else value)
        for name, value in rows[0].items()
        if value is not None
    }


def option_texts(options: list[dict[str, str]]) -> dict[str, str]:
    """A choice list as value → text (a list's cells show the text of an id)."""
    return {option["value"]: option["text"] for option in options}
