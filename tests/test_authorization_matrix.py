"""Every route × every role × own and foreign station/county: who gets in, who gets 401/403.
The township officer (role `township`) serves the home county's township, where station A and
the home household are.

A route without a rule here fails `test_every_route_has_a_rule`: a new endpoint cannot ship
without saying who may call it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from backend.registry.tables import Household, Township, Village
from tests.support import PASSWORD, Actor, World, login

# Who may call, given the caller and whether the path points at their own (home) objects.
Rule = Callable[[str, str], bool]


def public(actor: str, target: str) -> bool:
    return True


def logged_in(actor: str, target: str) -> bool:
    return actor != "anonymous"


def keepers(actor: str, target: str) -> bool:
    return actor in {"keeper_a", "keeper_b", "foreign_keeper"}


def any_staff(actor: str, target: str) -> bool:
    return actor in {"staff", "foreign_staff", "admin"}


def admins(actor: str, target: str) -> bool:
    return actor == "admin"


def own_station(actor: str, target: str) -> bool:
    """The path's station is station A of the home county, or the foreign county's station."""
    if actor == "admin":
        return True
    if target == "home":
        return actor in {"keeper_a", "staff"}
    return actor in {"foreign_keeper", "foreign_staff"}


def keeper_of_station(actor: str, target: str) -> bool:
    return actor == ("keeper_a" if target == "home" else "foreign_keeper")


def staff_of_station(actor: str, target: str) -> bool:
    return own_station(actor, target) and actor not in {"keeper_a", "foreign_keeper"}


def staff_of_county(actor: str, target: str) -> bool:
    if actor == "admin":
        return True
    return actor == ("staff" if target == "home" else "foreign_staff")


def officer_or_any_staff(actor: str, target: str) -> bool:
    return actor == "officer" or any_staff(actor, target)


def province_or_admin(actor: str, target: str) -> bool:
    """A province officer (of both counties) or an admin."""
    return actor in {"province", "admin"}


def officer_or_staff_of_county(actor: str, target: str) -> bool:
    """The home county's staff, or the officer for the home township's rows."""
    return (actor == "officer" and target == "home") or staff_of_county(actor, target)


def officer_or_staff_of_station(actor: str, target: str) -> bool:
    return (actor == "officer" and target == "home") or staff_of_station(actor, target)


@dataclass(frozen=True)
class RouteRule:
    rule: Rule
    # Calling it changes the caller's own session (logout): checked by its own test instead.
    anonymous_only: bool = False


ROUTE_RULES: dict[tuple[str, str], RouteRule] = {
    ("GET", "/healthz"): RouteRule(public),
    ("GET", "/readyz"): RouteRule(public),
    ("GET", "/"): RouteRule(public),
    ("POST", "/api/v1/auth/login"): RouteRule(public),
    ("POST", "/api/v1/auth/logout"): RouteRule(logged_in, anonymous_only=True),
    ("GET", "/api/v1/auth/me"): RouteRule(logged_in),
    ("POST", "/api/v1/auth/password"): RouteRule(logged_in),
    ("POST", "/api/v1/auth/language"): RouteRule(logged_in),
    ("GET", "/api/v1/counties"): RouteRule(any_staff),
    ("POST", "/api/v1/counties"): RouteRule(admins),
    ("GET", "/api/v1/counties/{county_id}"): RouteRule(staff_of_county),
    ("PATCH", "/api/v1/counties/{county_id}"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/townships"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/townships"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/villages"): RouteRule(officer_or_staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/villages"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/stations"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/stations"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/households"): RouteRule(officer_or_staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/households"): RouteRule(officer_or_staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/imports"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/imports/template.xlsx"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/stations.xlsx"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/station-standards"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/trace-points"): RouteRule(staff_of_county),
    ("GET", "/api/v1/stations/{station_id}/file"): RouteRule(officer_or_staff_of_station),
    ("PUT", "/api/v1/stations/{station_id}/file"): RouteRule(officer_or_staff_of_station),
    ("POST", "/api/v1/stations/{station_id}/photos"): RouteRule(officer_or_staff_of_station),
    ("GET", "/api/v1/stations/{station_id}/photos/{photo_name}"): RouteRule(
        officer_or_staff_of_station
    ),
    ("DELETE", "/api/v1/stations/{station_id}/photos/{photo_id}"): RouteRule(
        officer_or_staff_of_station
    ),
    ("GET", "/api/v1/counties/{county_id}/users"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/users"): RouteRule(staff_of_county),
    ("PATCH", "/api/v1/users/{user_id}"): RouteRule(staff_of_county),
    ("PATCH", "/api/v1/townships/{township_id}"): RouteRule(staff_of_county),
    ("PATCH", "/api/v1/villages/{village_id}"): RouteRule(staff_of_county),
    ("GET", "/api/v1/households/{household_id}"): RouteRule(officer_or_staff_of_county),
    ("PATCH", "/api/v1/households/{household_id}"): RouteRule(officer_or_staff_of_county),
    ("GET", "/api/v1/stations/{station_id}"): RouteRule(own_station),
    ("PATCH", "/api/v1/stations/{station_id}"): RouteRule(officer_or_staff_of_station),
    ("POST", "/api/v1/stations/{station_id}/close"): RouteRule(staff_of_station),
    ("POST", "/api/v1/stations/{station_id}/reopen"): RouteRule(staff_of_station),
    # The ledger
    ("POST", "/api/v1/sync"): RouteRule(keepers),
    ("GET", "/api/v1/sync"): RouteRule(keepers),
    ("GET", "/api/v1/stations/{station_id}/parcels"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/purchases"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/cashbook"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/recipients/suggestion"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/events"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/summary"): RouteRule(own_station),
    # The counter at speed (issue 12)
    ("GET", "/api/v1/stations/{station_id}/shelf"): RouteRule(own_station),
    ("PUT", "/api/v1/stations/{station_id}/shelf"): RouteRule(keeper_of_station),
    ("POST", "/api/v1/stations/{station_id}/parcels/{parcel_id}/notify"): RouteRule(
        keeper_of_station
    ),
    ("GET", "/api/v1/stations/{station_id}/carriers"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/prices"): RouteRule(own_station),
    ("PUT", "/api/v1/stations/{station_id}/prices"): RouteRule(keeper_of_station),
    ("GET", "/api/v1/stations/{station_id}/household"): RouteRule(own_station),
    ("GET", "/api/v1/counties/{county_id}/sms"): RouteRule(staff_of_county),
    ("PUT", "/api/v1/counties/{county_id}/prices"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/households/{household_id}/card.svg"): RouteRule(
        officer_or_staff_of_county
    ),
    # Notifications and jobs (issue 5)
    ("GET", "/api/v1/jobs"): RouteRule(any_staff),
    ("GET", "/api/v1/push/key"): RouteRule(logged_in),
    ("POST", "/api/v1/push/subscriptions"): RouteRule(keepers),
    ("DELETE", "/api/v1/push/subscriptions"): RouteRule(keepers),
    ("GET", "/api/v1/inbox"): RouteRule(keepers),
    ("POST", "/api/v1/inbox/{item_id}/read"): RouteRule(keepers),
    ("GET", "/api/v1/counties/{county_id}/notices"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/notices"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/deliveries"): RouteRule(staff_of_county),
    # The county centre: API (issue 6)
    ("GET", "/api/v1/counties/{county_id}/rollup"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/rollup/refresh"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/kpis"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/coverage"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/export.xlsx"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/export.csv"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/subsidies"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/targets"): RouteRule(staff_of_county),
    ("PUT", "/api/v1/counties/{county_id}/targets"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/milestones"): RouteRule(staff_of_county),
    ("PUT", "/api/v1/counties/{county_id}/milestones"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/baseline"): RouteRule(staff_of_county),
    ("PUT", "/api/v1/counties/{county_id}/baseline"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/province-reports"): RouteRule(staff_of_county),
    # Training records (issue 15)
    ("GET", "/api/v1/counties/{county_id}/trainings"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/trainings"): RouteRule(staff_of_county),
    ("GET", "/county/training"): RouteRule(any_staff),
    ("POST", "/county/training"): RouteRule(any_staff),
    ("GET", "/county/training/import"): RouteRule(any_staff),
    ("POST", "/county/training/import"): RouteRule(any_staff),
    ("PUT", "/api/v1/counties/{county_id}/trainings/trainees/{trainee_id}/outcome"): RouteRule(
        staff_of_county
    ),
    ("POST", "/county/training/trainees/{trainee_id}/outcome"): RouteRule(any_staff),
    # County-to-village delivery and tracking (issue 16); hub accounts: tests/test_delivery.py
    ("POST", "/api/v1/counties/{county_id}/hub-dispatches"): RouteRule(staff_of_county),
    ("GET", "/api/v1/stations/{station_id}/months"): RouteRule(own_station),
    ("GET", "/api/v1/stations/{station_id}/months/{month}"): RouteRule(own_station),
    ("POST", "/api/v1/stations/{station_id}/months/{month}/submit"): RouteRule(keeper_of_station),
    ("POST", "/api/v1/stations/{station_id}/months/{month}/close"): RouteRule(staff_of_station),
    ("POST", "/api/v1/stations/{station_id}/months/{month}/reopen"): RouteRule(staff_of_station),
    ("GET", "/api/v1/counties/{county_id}/months/{month}"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/months/{month}/close"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/delivery"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/delivery/couriers"): RouteRule(staff_of_county),
    ("GET", "/county/delivery"): RouteRule(any_staff),
    ("GET", "/api/v1/townships/{township_id}/overview"): RouteRule(officer_or_staff_of_county),
    ("PUT", "/api/v1/townships/{township_id}/targets"): RouteRule(staff_of_county),
    ("GET", "/county/township"): RouteRule(officer_or_any_staff),
    ("GET", "/county/province"): RouteRule(province_or_admin),
    ("GET", "/api/v1/province/counties"): RouteRule(province_or_admin),
    ("POST", "/api/v1/province/officers"): RouteRule(admins),
    ("POST", "/county/township/targets"): RouteRule(any_staff),
    ("GET", "/api/v1/track"): RouteRule(public),
    ("GET", "/track"): RouteRule(public),
    # The hub's scanner page: county staff here; hub accounts in tests/test_delivery_hub_page.py
    ("GET", "/county/hub"): RouteRule(any_staff),
    ("POST", "/county/hub"): RouteRule(any_staff),
    # County pages
    ("GET", "/county"): RouteRule(any_staff),
    ("GET", "/county/login"): RouteRule(public),
    ("POST", "/county/login"): RouteRule(public),
    ("POST", "/county/logout"): RouteRule(logged_in, anonymous_only=True),
    ("GET", "/county/static/county.css"): RouteRule(public),
    ("GET", "/county/static/county.js"): RouteRule(public),
    ("GET", "/county/static/hub.js"): RouteRule(public),
    ("GET", "/county/stations"): RouteRule(any_staff),
    ("GET", "/county/stations/{station_id}"): RouteRule(staff_of_station),
    ("GET", "/county/coverage"): RouteRule(any_staff),
    ("GET", "/county/scorecard"): RouteRule(any_staff),
    ("GET", "/county/trends"): RouteRule(any_staff),
    ("GET", "/county/checkins"): RouteRule(any_staff),
    ("GET", "/county/notices"): RouteRule(any_staff),
    ("POST", "/county/notices"): RouteRule(any_staff),
    ("GET", "/county/subsidies"): RouteRule(any_staff),
    ("GET", "/county/cash"): RouteRule(any_staff),
    ("GET", "/county/months"): RouteRule(any_staff),
    ("POST", "/county/months"): RouteRule(any_staff),
    ("GET", "/county/reports"): RouteRule(any_staff),
    ("GET", "/county/registry/county"): RouteRule(any_staff),
    ("POST", "/county/registry/county"): RouteRule(any_staff),
    ("POST", "/county/registry/county/prices"): RouteRule(any_staff),
    ("POST", "/county/registry/county/targets"): RouteRule(any_staff),
    ("POST", "/county/registry/county/milestones"): RouteRule(any_staff),
    ("POST", "/county/registry/county/baseline"): RouteRule(any_staff),
    ("GET", "/county/registry/townships"): RouteRule(any_staff),
    ("POST", "/county/registry/townships"): RouteRule(any_staff),
    ("GET", "/county/registry/townships/{township_id}"): RouteRule(staff_of_county),
    ("POST", "/county/registry/townships/{township_id}"): RouteRule(staff_of_county),
    ("GET", "/county/registry/villages"): RouteRule(any_staff),
    ("POST", "/county/registry/villages"): RouteRule(any_staff),
    ("GET", "/county/registry/villages/{village_id}"): RouteRule(staff_of_county),
    ("POST", "/county/registry/villages/{village_id}"): RouteRule(staff_of_county),
    ("GET", "/county/registry/stations"): RouteRule(any_staff),
    ("POST", "/county/registry/stations"): RouteRule(any_staff),
    ("GET", "/county/registry/stations/{station_id}"): RouteRule(officer_or_staff_of_station),
    ("POST", "/county/registry/stations/{station_id}"): RouteRule(officer_or_staff_of_station),
    ("POST", "/county/registry/stations/{station_id}/close"): RouteRule(staff_of_station),
    ("POST", "/county/registry/stations/{station_id}/reopen"): RouteRule(staff_of_station),
    ("POST", "/county/registry/stations/{station_id}/file"): RouteRule(officer_or_staff_of_station),
    ("POST", "/county/registry/stations/{station_id}/photos"): RouteRule(
        officer_or_staff_of_station
    ),
    ("POST", "/county/registry/stations/{station_id}/photos/{photo_id}/delete"): RouteRule(
        officer_or_staff_of_station
    ),
    ("GET", "/county/registry/households"): RouteRule(officer_or_any_staff),
    ("POST", "/county/registry/households"): RouteRule(officer_or_any_staff),
    ("GET", "/county/registry/import"): RouteRule(any_staff),
    ("POST", "/county/registry/import"): RouteRule(any_staff),
    ("GET", "/county/registry/households/{household_id}"): RouteRule(officer_or_staff_of_county),
    ("POST", "/county/registry/households/{household_id}"): RouteRule(officer_or_staff_of_county),
    ("GET", "/county/registry/keepers"): RouteRule(any_staff),
    ("POST", "/county/registry/keepers"): RouteRule(any_staff),
    ("GET", "/county/registry/keepers/{user_id}"): RouteRule(staff_of_county),
    ("POST", "/county/registry/keepers/{user_id}"): RouteRule(staff_of_county),
    ("POST", "/county/registry/keepers/{user_id}/password"): RouteRule(staff_of_county),
    ("POST", "/county/registry/keepers/{user_id}/phone"): RouteRule(staff_of_county),
    # Traceability (issue 15): the public page and its QR need no login
    ("GET", "/api/v1/counties/{county_id}/trace-batches"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/trace-batches"): RouteRule(staff_of_county),
    ("GET", "/t/{name}"): RouteRule(public),
    ("GET", "/county/trace"): RouteRule(any_staff),
    ("POST", "/county/trace"): RouteRule(any_staff),
    ("GET", "/county/trace/{batch_id}/labels"): RouteRule(staff_of_county),
    # The county's catalogue and its 代销 per product and batch (issue 15)
    ("GET", "/api/v1/counties/{county_id}/products"): RouteRule(staff_of_county),
    ("POST", "/api/v1/counties/{county_id}/products"): RouteRule(staff_of_county),
    ("PUT", "/api/v1/counties/{county_id}/products/{product_id}"): RouteRule(staff_of_county),
    ("GET", "/api/v1/counties/{county_id}/product-sales"): RouteRule(staff_of_county),
    ("GET", "/api/v1/stations/{station_id}/products"): RouteRule(own_station),
    ("PUT", "/api/v1/counties/{county_id}/product-texts"): RouteRule(staff_of_county),
    ("GET", "/county/products"): RouteRule(any_staff),
    ("POST", "/county/products"): RouteRule(any_staff),
    ("POST", "/county/products/{product_id}"): RouteRule(staff_of_county),
    ("GET", "/county/products/sales"): RouteRule(any_staff),
    ("POST", "/county/products/sales"): RouteRule(any_staff),
}

# Routes served as files or pages whose access is tested elsewhere.
# /metrics answers loopback or a token, not users: tests/test_operations.py checks it.
NOT_IN_MATRIX = re.compile(r"^(/app|/schema|/metrics)")


def app_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if NOT_IN_MATRIX.match(path):
            continue
        for method in sorted(getattr(route, "methods", [])):
            if method in {"HEAD", "OPTIONS"}:
                continue
            found.append((method, path))
    return found


def test_every_route_has_a_rule(app):
    missing = [route for route in app_routes(app) if route not in ROUTE_RULES]
    assert not missing, f"routes without an authorization rule: {missing}"
    stale = [route for route in ROUTE_RULES if route not in app_routes(app)]
    assert not stale, f"rules for routes that no longer exist: {stale}"


async def _path_ids(world: World) -> dict[str, dict[str, str]]:
    async def first(table, county_id):
        row = await table.select(table.id).where(table.county == county_id).first()
        return str(row["id"])

    return {
        "home": {
            "county_id": str(world.county_id),
            "station_id": str(world.station_a),
            "user_id": str(world.keeper_b.id),
            "township_id": str(world.township_id),
            "village_id": str(world.village_id),
            "household_id": await first(Household, world.county_id),
            "item_id": "00000000-0000-4000-8000-000000000001",  # an inbox item nobody has
            "parcel_id": "00000000-0000-4000-8000-000000000002",  # a parcel nobody has
            "batch_id": "00000000-0000-4000-8000-000000000003",  # a trace batch nobody has
            "product_id": "00000000-0000-4000-8000-000000000006",  # a product nobody has
            "trainee_id": "00000000-0000-4000-8000-000000000004",  # a trainee nobody has
            "photo_id": "00000000-0000-4000-8000-000000000005",  # a station photo nobody has
            "photo_name": "00000000-0000-4000-8000-000000000005.jpg",
            "name": "TEST-00000000",  # a trace code nobody has
            "month": "2025-01",  # a finished month
        },
        "foreign": {
            "county_id": str(world.foreign_county_id),
            "station_id": str(world.foreign_station),
            "user_id": str(world.foreign_keeper.id),
            "township_id": await first(Township, world.foreign_county_id),
            "village_id": await first(Village, world.foreign_county_id),
            "household_id": await first(Household, world.foreign_county_id),
            "item_id": "00000000-0000-4000-8000-000000000001",
            "parcel_id": "00000000-0000-4000-8000-000000000002",
            "batch_id": "00000000-0000-4000-8000-000000000003",
            "product_id": "00000000-0000-4000-8000-000000000006",
            "trainee_id": "00000000-0000-4000-8000-000000000004",
            "photo_id": "00000000-0000-4000-8000-000000000005",
            "photo_name": "00000000-0000-4000-8000-000000000005.jpg",
            "name": "FAR-00000000",
            "month": "2025-01",
        },
    }


ACTORS = [
    "anonymous",
    "keeper_a",
    "keeper_b",
    "staff",
    "foreign_keeper",
    "foreign_staff",
    "admin",
    "officer",
    "province",
]
OFFICER_PHONE = "13600000099"
PROVINCE_PHONE = "13300000009"


async def _officer(client, world: World) -> Actor:
    """The information officer of the home county's township, made as staff make one."""
    body = {"phone": OFFICER_PHONE, "name": "乡信息员", "password": PASSWORD, "role": "township",
            "township_id": str(world.township_id)}  # fmt: skip
    made = await client.post(
        f"/api/v1/counties/{world.county_id}/users", json=body, headers=world.staff.headers
    )
    assert made.status_code == 201, made.text
    answer = await login(client, OFFICER_PHONE)
    return Actor(uuid.UUID(answer["user"]["id"]), OFFICER_PHONE, answer["token"], "township")


async def _province(client, world: World) -> Actor:
    """A province officer on both counties, made as an admin makes one."""
    body = {"phone": PROVINCE_PHONE, "name": "省厅", "password": PASSWORD,
            "county_ids": [str(world.county_id), str(world.foreign_county_id)]}  # fmt: skip
    made = await client.post("/api/v1/province/officers", json=body, headers=world.admin.headers)
    assert made.status_code == 201, made.text
    answer = await login(client, PROVINCE_PHONE)
    return Actor(uuid.UUID(answer["user"]["id"]), PROVINCE_PHONE, answer["token"], "province")


async def _call(client, method: str, url: str, actor: Actor | None):
    headers = actor.headers if actor else {}
    if method in {"POST", "PATCH", "PUT"}:
        return await client.request(method, url, json={}, headers=headers)
    return await client.request(method, url, headers=headers)


@pytest.mark.slow
async def test_authorization_matrix(client, app, world):
    ids = await _path_ids(world)
    actors = {name: getattr(world, name) for name in ACTORS if hasattr(world, name)}
    actors["officer"] = await _officer(client, world)
    actors["province"] = await _province(client, world)
    failures = []
    calls = 0
    for method, path in app_routes(app):
        spec = ROUTE_RULES[(method, path)]
        targets = ["home", "foreign"] if "{" in path else ["home"]
        for target in targets:
            url = path.format(**ids[target])
            for name in ACTORS:
                if spec.anonymous_only and name != "anonymous":
                    continue
                actor = actors.get(name)
                response = await _call(client, method, url, actor)
                calls += 1
                allowed = spec.rule(name, target)
                if name == "anonymous" and spec.rule is not public:
                    allowed = False
                status = response.status_code
                if status >= 500:
                    failures.append(f"{method} {url} as {name}: {status}")
                elif allowed and status in (401, 403):
                    failures.append(f"{method} {url} as {name}: refused {status}")
                elif not allowed and status not in (401, 403, 404):
                    failures.append(f"{method} {url} as {name}: let in with {status}")
                elif not allowed and name == "anonymous" and status != 401:
                    failures.append(f"{method} {url} anonymous: {status}, not 401")
                if status >= 400:
                    assert response.headers["content-type"].startswith(
                        "application/problem+json"
                    ), f"{method} {url} as {name}: {status} is not a problem document"
    assert not failures, "\n".join(failures)
    assert calls > 100
