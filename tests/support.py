"""Helpers for tests: a small world of two counties built through the real services and API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from piccolo.conf.apps import Finder
from piccolo.table import sort_table_classes

from backend import db
from backend.accounts.schemas import UserCreate
from backend.accounts.service import create_user
from backend.registry import service as registry
from backend.registry.schemas import (
    CountyCreate,
    HouseholdCreate,
    StationCreate,
    TownshipCreate,
    VillageCreate,
)

PASSWORD = "test-pass-1"


@contextlib.asynccontextmanager
async def running(app):
    """The app's lifespan (on_startup … on_shutdown) around a block, as a server process runs it.
    It is entered and left in a task of its own: its task group must be left by the task that
    entered it, and pytest-asyncio sets a fixture up and tears it down in different tasks."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    holder = asyncio.get_running_loop().create_task(hold())
    waiting = asyncio.ensure_future(started.wait())
    await asyncio.wait({holder, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if holder.done():
        waiting.cancel()
        holder.result()  # start-up failed: raise its error here
    try:
        yield app
    finally:
        stop.set()
        await holder


def asgi_client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url="http://testserver.local",
    )


@dataclass
class Answered:
    """A request as its client saw it: the status and how long until the last byte of the
    answer; `finished` is the app's call, still running what it does after answering."""

    status: int
    seconds: float
    finished: asyncio.Task


async def until_answered(
    app, method: str, path: str, headers: dict[str, str], json_body: Any = None
) -> Answered:
    """Call the app as a server does and return once the answer is complete, while the app may
    still run its background tasks (httpx's ASGI transport waits for those too, which a real
    client never does)."""
    body = json.dumps(json_body).encode() if json_body is not None else b""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (name.lower().encode(), value.encode())
            for name, value in {**headers, "content-type": "application/json"}.items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    answered = asyncio.Event()
    status = 0
    request_sent = False

    async def receive():
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the client stays until the end

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    started = time.monotonic()
    call = asyncio.create_task(app(scope, receive, send))
    waiting = asyncio.create_task(answered.wait())
    await asyncio.wait({call, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if call.done():
        call.result()  # the app failed before answering: show why
    return Answered(status, time.monotonic() - started, call)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def truncate_all() -> None:
    tables = sort_table_classes(Finder().get_table_classes())
    names = [table._meta.tablename for table in tables]
    async with db.write_transaction():
        if db.is_sqlite():
            for name in reversed(names):
                await db.execute(f'DELETE FROM "{name}"')
        else:
            await db.execute(
                "TRUNCATE " + ", ".join(f'"{name}"' for name in names) + " RESTART IDENTITY CASCADE"
            )


@dataclass
class Actor:
    id: uuid.UUID
    phone: str
    token: str
    role: str
    station_id: uuid.UUID | None = None
    county_id: uuid.UUID | None = None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class World:
    county_id: uuid.UUID
    foreign_county_id: uuid.UUID
    township_id: uuid.UUID
    village_id: uuid.UUID
    poor_village_id: uuid.UUID
    station_a: uuid.UUID
    station_b: uuid.UUID
    foreign_station: uuid.UUID
    household_code: str
    non_poverty_household_code: str
    foreign_household_code: str
    keeper_a: Actor
    keeper_b: Actor
    staff: Actor
    foreign_keeper: Actor
    foreign_staff: Actor
    admin: Actor
    extra: dict[str, Any] = field(default_factory=dict)

    def actors(self) -> list[Actor]:
        return [
            self.keeper_a,
            self.keeper_b,
            self.staff,
            self.foreign_keeper,
            self.foreign_staff,
            self.admin,
        ]


async def login(client, phone: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"phone": phone, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return response.json()


async def _actor(client, county_id, phone, role, station_id=None) -> Actor:
    if role == "admin":
        from backend.accounts.service import hash_password
        from backend.accounts.tables import User

        await User.insert(
            User(phone=phone, name="管理员", password_hash=await hash_password(PASSWORD), role=role)
        )
    else:
        await create_user(
            None,  # type: ignore[arg-type]
            county_id,
            UserCreate(
                phone=phone,
                name=f"用户{phone[-4:]}",
                password=PASSWORD,
                role=role,
                station_id=station_id,
            ),
        )
    answer = await login(client, phone)
    return Actor(
        id=uuid.UUID(answer["user"]["id"]),
        phone=phone,
        token=answer["token"],
        role=role,
        station_id=station_id,
        county_id=county_id if role != "admin" else None,
    )


async def _county(name: str, code: str, timezone: str):
    county = await registry.create_county(
        None, CountyCreate(name=name, code=code, timezone=timezone)
    )
    township = await registry.create_township(None, county.id, TownshipCreate(name=f"{name}镇"))
    village = await registry.create_village(
        None, county.id, VillageCreate(township_id=township.id, name="东村", poor=False)
    )
    poor_village = await registry.create_village(
        None, county.id, VillageCreate(township_id=township.id, name="西村", poor=True)
    )
    return county, township, village, poor_village


async def _station(county_id, village_id, code: str):
    return await registry.create_station(
        None, county_id, StationCreate(village_id=village_id, name=f"{code}服务站", code=code)
    )


# The test world's counties' zones: 测试县's, then 远方县's (a tests' clock may need to keep
# away from either's midnight).
WORLD_ZONES = ("Asia/Shanghai", "Asia/Urumqi")


async def build_world(client) -> World:
    home_zone, foreign_zone = WORLD_ZONES
    county, township, village, poor_village = await _county("测试县", "TEST", home_zone)
    foreign, _, foreign_village, _ = await _county("远方县", "FAR", foreign_zone)
    station_a = await _station(county.id, village.id, "A001")
    station_b = await _station(county.id, poor_village.id, "B001")
    foreign_station = await _station(foreign.id, foreign_village.id, "F001")
    await registry.create_household(
        None, county.id, HouseholdCreate(village_id=poor_village.id, code="T-0001", poverty=True)
    )
    await registry.create_household(
        None, county.id, HouseholdCreate(village_id=village.id, code="T-0002", poverty=False)
    )
    await registry.create_household(
        None,
        foreign.id,
        HouseholdCreate(village_id=foreign_village.id, code="F-0001", poverty=True),
    )
    return World(
        county_id=county.id,
        foreign_county_id=foreign.id,
        township_id=township.id,
        village_id=village.id,
        poor_village_id=poor_village.id,
        station_a=station_a.id,
        station_b=station_b.id,
        foreign_station=foreign_station.id,
        household_code="T-0001",
        non_poverty_household_code="T-0002",
        foreign_household_code="F-0001",
        keeper_a=await _actor(client, county.id, "13700000001", "keeper", station_a.id),
        keeper_b=await _actor(client, county.id, "13700000002", "keeper", station_b.id),
        staff=await _actor(client, county.id, "13700000010", "county_staff"),
        foreign_keeper=await _actor(
            client, foreign.id, "13600000001", "keeper", foreign_station.id
        ),
        foreign_staff=await _actor(client, foreign.id, "13600000010", "county_staff"),
        admin=await _actor(client, None, "13500000000", "admin"),
    )


# Ledger events -------------------------------------------------------------------------------

SHANGHAI = "+08:00"
_tracking_counter = [0]


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso(offset_hours: float = 0.0) -> str:
    """The current time as a phone in China would write it, shifted by `offset_hours`."""
    import datetime

    moment = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    return (moment + datetime.timedelta(hours=offset_hours)).isoformat(timespec="seconds")


def tracking(prefix: str = "SF", digits: int = 13) -> str:
    _tracking_counter[0] += 1
    return f"{prefix}{uuid.uuid4().int % 10**digits:0{digits}d}"


def event(event_type: str, data: dict[str, Any], occurred_at: str | None = None, **extra):
    return {
        "id": extra.pop("id", None) or new_id(),
        "type": event_type,
        "occurred_at": occurred_at or now_iso(),
        "data": data,
    }


def received(tracking_no: str | None = None, phone: str = "13812345678", **data) -> dict:
    body = {
        "tracking_no": tracking_no or tracking(),
        "carrier": "SF",
        "recipient_phone": phone,
        **data,
    }
    return event("parcel.received", body)


async def push(client, actor: Actor, events: list[dict], device_id: str | None = None):
    response = await client.post(
        "/api/v1/sync",
        json={
            "device_id": device_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, actor.phone)),
            "events": events,
        },
        headers=actor.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def statuses(results: list[dict]) -> list[str]:
    return [result["status"] for result in results]
