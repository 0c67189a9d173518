"""The sync push body is typed in the OpenAPI schema (issue #13) while the server still decodes
the batch untyped and judges each event alone; and no operation went missing on the way."""

from __future__ import annotations

import re
from pathlib import Path

from backend.ledger.schemas import EVENT_TYPES
from tests.support import event, push, received, statuses

# Every operation the served schema had before the house step: clients and docs name them.
OPERATION_IDS = [
    "changePassword",
    "closeStation",
    "createCounty",
    "createHousehold",
    "createNotice",
    "createStation",
    "createTownship",
    "createUser",
    "createVillage",
    "deletePushSubscription",
    "exportCountyCsv",
    "exportCountyWorkbook",
    "getCarrierCounts",
    "getCashbook",
    "getCounty",
    "getCountyKpis",
    "getCountyRollup",
    "getCountySubsidies",
    "getDispatchPrices",
    "getInbox",
    "getPushKey",
    "getShelf",
    "getStation",
    "getStationSummary",
    "getVillagerSmsCounts",
    "health",
    "householdAtCounter",
    "householdCard",
    "listCounties",
    "listDeliveries",
    "listHouseholds",
    "listJobs",
    "listNotices",
    "listParcels",
    "listProvinceReports",
    "listPurchases",
    "listStationEvents",
    "listStations",
    "listTownships",
    "listUsers",
    "listVillages",
    "login",
    "logout",
    "markInboxItemRead",
    "me",
    "notifyAgain",
    "pullEvents",
    "pushEvents",
    "ready",
    "refreshCountyRollup",
    "reopenStation",
    "savePushSubscription",
    "setCountyPrices",
    "setLanguage",
    "setShelf",
    "setStationPrices",
    "suggestRecipientPhone",
    "updateCounty",
    "updateHousehold",
    "updateStation",
    "updateTownship",
    "updateUser",
    "updateVillage",
]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
OPERATION_IN_PROSE = re.compile(r"\b((?:GET|POST|PUT|PATCH|DELETE)(?:\|[A-Z]+)*) (/api/[^\s`?…]*)")


async def served_schema(client) -> dict:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict) -> dict[tuple[str, str], str]:
    """(METHOD, path with its parameters unnamed) → operationId."""
    return {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path)): operation["operationId"]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_every_operation_is_still_served(client):
    served = operations(await served_schema(client))
    assert sorted(set(OPERATION_IDS) - set(served.values())) == []
    for methods, path in OPERATION_IN_PROSE.findall(DOCS.read_text(encoding="utf-8")):
        path = re.sub(r"\{[^}]*\}", "{}", path.rstrip(".,:;)"))
        for method in methods.split("|"):
            assert (method, path) in served, f"docs/api.md names {method} {path}"


async def test_the_push_body_names_every_event_kind_and_its_data(client):
    schema = await served_schema(client)
    body = schema["paths"]["/api/v1/sync"]["post"]["requestBody"]["content"]["application/json"]
    reference = body["schema"]["$ref"].rsplit("/", 1)[1]
    events = schema["components"]["schemas"][reference]["properties"]["events"]
    assert events["type"] == "array"
    assert events["description"] == "at most 500 events"
    kinds = {}
    for alternative in events["items"]["oneOf"]:
        (kind,) = alternative["properties"]["type"]["enum"]
        kinds[kind] = alternative
        assert set(alternative["required"]) == {"id", "type", "occurred_at", "data"}
        assert alternative["additionalProperties"] is False
    assert sorted(kinds) == sorted(EVENT_TYPES)
    received_data = kinds["parcel.received"]["properties"]["data"]
    assert set(received_data["required"]) == {"tracking_no", "carrier", "recipient_phone"}
    assert "SF" in received_data["properties"]["carrier"]["enum"]
    counted = kinds["cash.counted"]["properties"]["data"]["properties"]["counted_fen"]
    assert counted["type"] == "integer" and counted["minimum"] == 0


async def test_events_outside_the_schema_are_still_judged_one_by_one(client, world):
    """The schema documents; it does not decide: a batch with events no schema alternative
    matches is answered 200, each such event `rejected` with its own code, the rest accepted."""
    results = await push(
        client,
        world.keeper_a,
        [
            received(),
            event("parcel.teleported", {}),
            {"id": "not-a-uuid", "type": "checkin.recorded", "occurred_at": "x", "data": {}},
            "not even an object",
            event("checkin.recorded", {"note": "好"}),
        ],
    )
    assert statuses(results) == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert [r["error"]["code"] for r in results if r["status"] == "rejected"] == [
        "unknown_event_type",
        "invalid_id",
        "invalid_event",
    ]
