"""The county's settings page under /county/registry/county: the programme's coverage targets,
the parcel and subsidy rules, the reminder's hour (the registry's County row), the programme's
start and the targets the county sets (county/targets.py), and the county's 代发 price table
(carriers × weight bands, fees typed in 元; the counter's prices)."""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from backend.accounts.guards import LoggedIn, requires_staff
from backend.accounts.schemas import CurrentUser
from backend.counter import service as counter_service
from backend.counter.service import CARRIERS, DEFAULT_BANDS, DEFAULT_PRICES
from backend.county import baseline as county_baseline
from backend.county import milestones as county_milestones
from backend.county import targets as programme_targets
from backend.errors import DomainError, refuse_together
from backend.numbers import Unreadable, read_decimal, read_yuan
from backend.registry import schemas as registry_schemas
from backend.registry import service as registry
from backend.registry.screens import SCREEN_NAMES
from backend.registry.staff import page_county, staff_county
from backend.web.format import Formatter, fen_as_yuan
from backend.web.forms import (
    FormField,
    FormState,
    error_state,
    form_values,
    to_struct,
)
from backend.web.layout import PAGE_ERRORS, page_language, render

SETTINGS_FIELDS = [
    FormField("target_township_pct", "number", required=True),
    FormField("target_village_pct", "number", required=True),
    FormField("target_poor_village_pct", "number", required=True),
    FormField("subsidy_fen_per_parcel", "yuan", required=True),
    FormField("subsidy_monthly_cap_fen", "yuan", required=True),
    FormField("subsidy_farm_only", "checkbox"),
    FormField("parcel_free_days", "number", required=True),
    FormField("parcel_daily_fee_fen", "yuan", required=True),
    FormField("parcel_fee_cap_fen", "yuan", required=True),
    FormField("parcel_return_days", "number", required=True),
    FormField("checkin_reminder_weekday", "select", "weekdays", required=True),
    FormField("checkin_reminder_hour", "number", required=True),
    FormField("month_close_day", "number", required=True),
    # Optional: an empty box keeps the rule as it is.
    FormField("subsidy_withdraw_after_failures", "number"),
]


async def county_settings_values(county_id: uuid.UUID) -> dict[str, Any]:
    county = await registry.get_county(county_id)
    values: dict[str, Any] = {}
    for spec in SETTINGS_FIELDS:
        value = getattr(county, spec.name)
        values[spec.name] = fen_as_yuan(value) if spec.kind == "yuan" else value
    return values


def weekday_choices(fmt: Formatter) -> list[dict[str, str]]:
    return [{"value": str(n), "text": fmt.t(f"county_page.weekday.{n}")} for n in range(1, 8)]


# The programme's start and the county's targets ------------------------------------------------


def target_fields(names: dict[str, str]) -> list[FormField]:
    """A box per target name: amounts typed in 元, counts as whole numbers, percent as typed; an
    empty box: no target (the county's targets here, a township's on the township page)."""
    kinds = {"fen": "yuan", "count": "number", "pct": "text"}
    return [FormField(f"target_{name}", kinds[unit]) for name, unit in names.items()]


TARGET_FIELDS = [
    FormField("programme_start", "date", required=True),
    *target_fields(programme_targets.TARGET_NAMES),
]


async def target_form_values(county_id: uuid.UUID) -> dict[str, Any]:
    programme = await programme_targets.programme(county_id)
    values: dict[str, Any] = {"programme_start": programme["programme_start"].isoformat()}
    targets = [(row["name"], row["target"]) for row in programme["targets"]]
    return values | target_boxes(targets, programme_targets.TARGET_NAMES)


def target_boxes(targets: list[tuple[str, float]], names: dict[str, str]) -> dict[str, Any]:
    """Set targets as their boxes show them (amounts in 元)."""
    return {
        f"target_{name}": fen_as_yuan(int(target)) if names[name] == "fen" else target
        for name, target in targets
    }


def target_form_input(values: dict[str, Any]) -> tuple[datetime.date, list[tuple[str, float]]]:
    """The typed form as the programme's start and targets; a box that is not a number of its
    kind is refused here, with the box it concerns."""
    try:
        start = datetime.date.fromisoformat(str(values.get("programme_start", "")))
    except ValueError:
        raise DomainError("county_invalid_programme_start", field="programme_start") from None
    return start, typed_targets(values, programme_targets.TARGET_NAMES)


# A target's decimals by its unit (元 are read to the fen): counts whole; percent to three
# places, so a growth of "1.250" is 1.25 %, not refused as a thousands separator.
TARGET_PLACES = {"pct": 3, "count": 0}


def typed_targets(values: dict[str, Any], names: dict[str, str]) -> list[tuple[str, float]]:
    """The typed boxes as (name, target), amounts in fen; boxes that are not a number of their
    kind are refused here, each with the box it concerns."""
    chosen: list[tuple[str, float]] = []
    refused: list[DomainError] = []
    for name, unit in names.items():
        box = f"target_{name}"
        text = str(values.get(box) or "").strip().replace("%", "")
        if not text:
            continue
        try:
            # A sign is read for every unit: check_targets says what a target may be.
            if unit == "fen":
                number = read_yuan(text, signed=True)
            else:
                number = read_decimal(text, TARGET_PLACES[unit], signed=True)
        except Unreadable as refusal:
            refused.append(refusal.problem(box, text, "county_invalid_target"))
            continue
        chosen.append((name, int(number * 100) if unit == "fen" else float(number)))
    refuse_together(refused)
    return chosen


# The baseline (基数) ------------------------------------------------------------------------------

# Annual figures, typed in 万元 as counties report them (an amount in 元 would run to nine digits).
BASELINE_FIELDS = [FormField("baseline_year", "number", required=True)] + [
    FormField(f"baseline_{key}", "text") for key in county_baseline.KEYS
]
FEN_PER_WAN = 1_000_000


async def baseline_form_values(county_id: uuid.UUID) -> dict[str, Any]:
    found = await county_baseline.get(county_id)
    if found is None:
        return {}
    values: dict[str, Any] = {"baseline_year": found["year"]}
    for key in county_baseline.KEYS:
        wan = decimal.Decimal(found[key]) / FEN_PER_WAN
        values[f"baseline_{key}"] = f"{wan.normalize():f}" if found[key] else ""
    return values


def baseline_form_input(values: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """The typed form as a year and amounts in fen ("12,5" from a comma keyboard is 12.5 万元)."""
    try:
        year = int(str(values.get("baseline_year") or "").strip())
    except ValueError:
        # No year at all: refused by `put` with the range it takes (refused here, the message
        # showed its placeholders: "应在 {first} 到 {last} 年之间").
        year = 0
    amounts = {}
    refused: list[DomainError] = []
    for key in county_baseline.KEYS:
        box = f"baseline_{key}"
        text = str(values.get(box) or "").strip()
        try:
            amounts[key] = int(read_decimal(text, 4) * FEN_PER_WAN) if text else 0
        except Unreadable as refusal:
            refused.append(refusal.problem(box, text, "county_invalid_baseline_amount"))
    refuse_together(refused)
    return year, amounts


# The 代发 price table -----------------------------------------------------------------------------

PRICE_BAND_COLUMNS = 6  # the bands in use, and room for one more


def _price_fen(text: str, box: str) -> int:
    """元 as typed ("12", "¥12.5", "12,5" from a Uyghur or Chinese keyboard) to fen."""
    try:
        return int(read_yuan(text) * 100)
    except Unreadable as refusal:
        raise refusal.problem(box, text, "price_fee_format") from None


def _band_grams(text: str, box: str) -> int:
    """A weight band in kg as typed ("0.5", "2,5") to grams, 1 g to 200 kg."""
    try:
        grams = int(read_decimal(text, 3) * 1000)
    except Unreadable as refusal:
        raise refusal.problem(box, text, "price_weight_format") from None
    if not 0 < grams <= 200_000:
        raise DomainError("price_weight_format", field=box)
    return grams


def _grams_as_kg(grams: int) -> str:
    whole, rest = divmod(int(grams), 1000)
    return f"{whole}.{rest:03d}".rstrip("0") if rest else str(whole)


def price_form_values(county_prices: dict[str, list[list[int]]]) -> dict[str, str]:
    """The stored table as the form shows it: one column per weight band used by any carrier
    (the built-in bands while the county has none), a fee cell per carrier and band."""
    weights = sorted({grams for bands in county_prices.values() for grams, _ in bands})
    weights = (weights or [grams for grams, _ in DEFAULT_BANDS])[:PRICE_BAND_COLUMNS]
    values = {f"band_{i}": _grams_as_kg(grams) for i, grams in enumerate(weights)}
    for carrier, bands in county_prices.items():
        for grams, fee in bands:
            if grams in weights:
                values[f"fee_{carrier}_{weights.index(grams)}"] = fen_as_yuan(fee)
    return values


def price_form_values_typed(form: Any) -> dict[str, str]:
    """The submitted grid as typed (what the form shows again after a refusal)."""
    values: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        values[f"band_{i}"] = str(form.get(f"band_{i}") or "").strip()[:20]
        for carrier in CARRIERS:
            values[f"fee_{carrier}_{i}"] = str(form.get(f"fee_{carrier}_{i}") or "").strip()[:20]
    return values


def price_form_input(values: dict[str, str]) -> dict[str, list[list[int]]]:
    """The typed grid as the price table check_prices takes. A fee that is not an amount, or a
    fee in a column without a weight, is refused here, with the cell it concerns. A carrier with
    some fees typed keeps the built-in fee (the grey one) in the cells left empty, so no weight
    falls out of its table."""
    greyed = price_placeholders(values)

    weights: list[int | None] = []
    for i in range(PRICE_BAND_COLUMNS):
        text = values[f"band_{i}"]
        weights.append(_band_grams(text, f"band_{i}") if text else None)
    prices: dict[str, list[list[int]]] = {}
    for carrier in CARRIERS:
        bands = []
        typed = any(values[f"fee_{carrier}_{i}"] for i in range(PRICE_BAND_COLUMNS))
        for i, grams in enumerate(weights):
            name = f"fee_{carrier}_{i}"
            text = values[name] or (greyed.get(name, "") if typed else "")
            if not text:
                continue
            fee = _price_fen(text, name)
            if grams is None:
                raise DomainError("price_weight_format", field=f"band_{i}")
            bands.append([grams, fee])
        if bands:
            prices[carrier] = bands
    return prices


def price_placeholders(values: dict[str, str]) -> dict[str, str]:
    """The built-in fee of each cell whose column weight is a built-in band: shown greyed, what a
    carrier left empty is charged."""
    shown: dict[str, str] = {}
    for i in range(PRICE_BAND_COLUMNS):
        try:
            grams = _band_grams(values.get(f"band_{i}") or "", f"band_{i}")
        except DomainError:
            continue  # no weight yet, or one the table's check will refuse
        for carrier in CARRIERS:
            for upto, fee in DEFAULT_PRICES.get(carrier, DEFAULT_BANDS):
                if upto == grams:
                    shown[f"fee_{carrier}_{i}"] = fen_as_yuan(fee)
    return shown


# The county's milestones (中期目标) --------------------------------------------------------------

MILESTONE_BLANK_ROWS = 3  # empty rows offered below the milestones set


def milestone_fields(rows: int) -> list[FormField]:
    """A row of boxes per milestone: the figure, the value and the due month."""
    rows = min(rows, county_milestones.MAX_MILESTONES)
    return [
        spec
        for index in range(rows)
        for spec in (
            FormField(f"milestone_figure_{index}", "select", "milestone_figures",
                      label="county_page.milestones.figure"),
            FormField(f"milestone_target_{index}", "number", label="county_page.milestones.target"),
            FormField(f"milestone_due_{index}", "month", label="county_page.milestones.due"),
        )
    ]  # fmt: skip


async def milestone_form_values(county_id: uuid.UUID) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for index, row in enumerate(await county_milestones.milestones(county_id)):
        values[f"milestone_figure_{index}"] = row["figure"]
        values[f"milestone_target_{index}"] = str(row["target"])
        values[f"milestone_due_{index}"] = row["due"]
    return values


def milestone_form_input(values: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]], list[int]]:
    """The rows typed (a row with neither value nor month is left out) and, for each, the form's
    row it came from (to put a refusal at its box)."""
    chosen, rows = [], []
    for index in range(county_milestones.MAX_MILESTONES):
        figure = values.get(f"milestone_figure_{index}", "")
        target = values.get(f"milestone_target_{index}", "")
        due = values.get(f"milestone_due_{index}", "")
        if not target and not due:
            continue
        chosen.append((figure, target, due))
        rows.append(index)
    return chosen, rows


def milestone_box(field: str | None, rows: list[int]) -> str | None:
    """`milestones[1].target` (the API's field) as the form's box of that row."""
    found = re.fullmatch(r"milestones\[(\d+)\]\.(\w+)", field or "")
    return f"milestone_{found[2]}_{rows[int(found[1])]}" if found else field


def milestone_figure_choices() -> list[dict[str, str]]:
    return [
        {"value": figure, "key": f"county_page.milestones.figure.{figure}"}
        for figure in county_milestones.FIGURES
    ]


# The page ----------------------------------------------------------------------------------------


async def settings_page(
    request: Request,
    user: CurrentUser,
    state: FormState | None = None,
    prices: FormState | None = None,
    programme: FormState | None = None,
    base: FormState | None = None,
    goals: FormState | None = None,
) -> Template:
    county_id = await staff_county(user)
    fmt = Formatter(page_language(request))
    values = await county_settings_values(county_id)
    if goals is None:
        goals = FormState(values=await milestone_form_values(county_id))
    shown_rows = max(
        (int(name.rsplit("_", 1)[1]) + 1 for name in goals.values if name.startswith("milestone_")),
        default=0,
    )
    if prices is None:
        stored = await counter_service.county_prices(county_id)
        prices = FormState(values=price_form_values(stored))
    return render(
        request,
        "county/county_settings.html",
        facts=await page_county(county_id),
        nav="registry",
        screen=None,
        screens=SCREEN_NAMES,
        fields=SETTINGS_FIELDS,
        lists={"weekdays": weekday_choices(fmt), "milestone_figures": milestone_figure_choices()},
        form=state or FormState(values=values),
        saved=request.query_params.get("saved") == "1",
        prices=prices,
        price_placeholders=price_placeholders(prices.values),
        price_carriers=counter_service.CARRIERS,
        price_columns=range(PRICE_BAND_COLUMNS),
        prices_saved=request.query_params.get("saved") == "prices",
        target_fields=TARGET_FIELDS,
        programme=programme or FormState(values=await target_form_values(county_id)),
        programme_saved=request.query_params.get("saved") == "targets",
        baseline_fields=BASELINE_FIELDS,
        baseline=base or FormState(values=await baseline_form_values(county_id)),
        baseline_saved=request.query_params.get("saved") == "baseline",
        milestone_fields=milestone_fields(shown_rows + MILESTONE_BLANK_ROWS),
        milestones=goals,
        milestones_saved=request.query_params.get("saved") == "milestones",
    )


class CountySettingsController(Controller):
    """The county's settings and its price table."""

    path = "/county/registry"
    include_in_schema = False
    guards = [requires_staff]
    exception_handlers = PAGE_ERRORS

    @get("/county")
    async def county_settings(self, request: Request, user: LoggedIn) -> Template:
        return await settings_page(request, user)

    @post("/county", status_code=200)
    async def update_county_settings(self, request: Request, user: LoggedIn) -> Response:
        county_id = await staff_county(user)
        values = form_values(await request.form(), SETTINGS_FIELDS)
        try:
            schema = registry_schemas.CountySettings
            await registry.update_county(
                user, county_id, to_struct(values, schema, SETTINGS_FIELDS)
            )
        except (DomainError, msgspec.ValidationError) as exc:
            state = error_state(exc, values, page_language(request))
            return await settings_page(request, user, state)
        return Redirect("/county/registry/county?saved=1", status_code=303)

    @post("/county/prices", status_code=200)
    async def update_county_prices(self, request: Request, user: LoggedIn) -> Response:
        """The county's 代发 price table: fees in 元, checked by check_prices; a refusal shows
        the grid again as typed, with the message, and changes nothing."""
        county_id = await staff_county(user)
        values = price_form_values_typed(await request.form())
        try:
            prices = price_form_input(values)
            await counter_service.set_county_prices(county_id, prices)
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            return await settings_page(request, user, prices=state)
        return Redirect("/county/registry/county?saved=prices#prices", status_code=303)

    @post("/county/targets", status_code=200)
    async def update_county_targets(self, request: Request, user: LoggedIn) -> Response:
        """The programme's start and the county's targets (an empty box: no target); a refusal
        shows the form again as typed, with the message at the box, and changes nothing."""
        county_id = await staff_county(user)
        values = form_values(await request.form(), TARGET_FIELDS)
        try:
            start, chosen = target_form_input(values)
            try:
                await programme_targets.set_programme(user, county_id, start, chosen)
            except DomainError as exc:
                exc.field = target_box(exc.field, chosen)
                raise
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            return await settings_page(request, user, programme=state)
        return Redirect("/county/registry/county?saved=targets#targets", status_code=303)

    @post("/county/milestones", status_code=200)
    async def update_county_milestones(self, request: Request, user: LoggedIn) -> Response:
        """The county's milestones (rows without value and month are left out); a refusal shows
        the rows again as typed, with the message at the box, and changes nothing."""
        county_id = await staff_county(user)
        specs = milestone_fields(county_milestones.MAX_MILESTONES)
        values = form_values(await request.form(), specs)
        chosen, rows = milestone_form_input(values)
        try:
            try:
                await county_milestones.set_milestones(user, county_id, chosen)
            except DomainError as exc:
                exc.field = milestone_box(exc.field, rows)
                raise
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            return await settings_page(request, user, goals=state)
        return Redirect("/county/registry/county?saved=milestones#milestones", status_code=303)

    @post("/county/baseline", status_code=200)
    async def update_county_baseline(self, request: Request, user: LoggedIn) -> Response:
        """The baseline year and its figures in 万元; a refusal shows the form again as typed,
        with the message at the box, and changes nothing."""
        county_id = await staff_county(user)
        values = form_values(await request.form(), BASELINE_FIELDS)
        try:
            year, amounts = baseline_form_input(values)
            try:
                await county_baseline.put(user, county_id, year, amounts)
            except DomainError as exc:
                exc.field = f"baseline_{exc.field}" if exc.field else exc.field
                raise
        except DomainError as exc:
            state = error_state(exc, values, page_language(request))
            return await settings_page(request, user, base=state)
        return Redirect("/county/registry/county?saved=baseline#baseline", status_code=303)


def target_box(field: str | None, chosen: list[tuple[str, float]]) -> str | None:
    """`targets[2].target` (the API's field) as the form's box of that target."""
    found = re.fullmatch(r"targets\[(\d+)\]\..*", field or "")
    return f"target_{chosen[int(found[1])][0]}" if found else field


ROUTE_HANDLERS = [CountySettingsController]
