"""The province benchmark's phones (issue 17): one keeper's phone per station of the province,
recording and pushing at a given rate of entries per second across all of them, while a province
officer and each county's staff read their pages. Used by scripts/bench_province.py.

The afternoon peak of a province: 3,000 stations × ~50 entries a day × 10 (the peak over the
day's mean) / 86,400 s ≈ 17 entries/s; an online phone pushes each entry as it is recorded.
Keepers are created in the benchmark's own process with a cheap argon2 hash (as the test suite
does): the server verifies a hash with the cost it was made with, so 3,000 logins do not measure
password hashing.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid

import httpx
from bench_county import PASSWORD, progress
from loadtest import Phone, Stats

PEAK_FACTOR, ENTRIES_A_DAY = 10, 50


def peak_rate(stations: int) -> float:
    """Entries per second at the afternoon peak."""
    return stations * ENTRIES_A_DAY * PEAK_FACTOR / 86_400


def keeper_phone(county_index: int, number: int) -> str:
    return f"136{county_index:02d}{number:06d}"


async def create_keepers(counties: int) -> list[tuple[str, str]]:
    """A keeper per station that has none yet (phone, station id), by county and station code."""
    from argon2 import PasswordHasher

    from backend import db
    from backend.accounts import service as accounts
    from backend.accounts.schemas import UserCreate

    accounts.PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    keepers, started = [], time.monotonic()
    async with db.read_transaction():
        taken = {row["phone"] for row in await db.fetch("SELECT phone FROM accounts_user")}
    for index in range(counties):
        async with db.read_transaction():
            county = (
                await db.fetch(
                    "SELECT id FROM registry_county WHERE code = $1", f"P{index + 1:02d}"
                )
            )[0]["id"]
            stations = await db.fetch(
                "SELECT id FROM registry_station WHERE county = $1 ORDER BY code", county
            )
        for number, row in enumerate(stations):
            phone = keeper_phone(index, number)
            if phone not in taken:
                await accounts.create_user(
                    None,  # type: ignore[arg-type]
                    db.as_uuid(county),
                    UserCreate(phone=phone, name=f"站长{number}", password=PASSWORD,
                               station_id=db.as_uuid(row["id"])),
                )  # fmt: skip
            keepers.append((phone, str(row["id"])))
        progress("keepers", index + 1, counties, started)
    return keepers


async def _log_in(http: httpx.AsyncClient, url: str, keepers) -> list[Phone]:
    gate = asyncio.Semaphore(16)

    async def one(n: int, phone: str, station: str) -> Phone:
        async with gate:
            answer = await http.post(
                f"{url}/api/v1/auth/login", json={"phone": phone, "password": PASSWORD}
            )
            answer.raise_for_status()
            return Phone(phone, answer.json()["token"], station, random.Random(n))

    return await asyncio.gather(*(one(n, p, s) for n, (p, s) in enumerate(keepers)))


async def _phone_loop(phone: Phone, http, url: str, stats: Stats, until: float, mean: float):
    """Records an entry every `mean` s on average (Poisson) and pushes it at once."""
    rng = phone.rng
    while True:
        wait = rng.expovariate(1 / mean)
        if time.monotonic() + wait >= until:
            return  # (a phone's mean wait is minutes: never sleep past the run)
        await asyncio.sleep(wait)
        phone.record()
        await phone.push(http, url, stats, retry=False)


async def _reader(http, url: str, headers: dict, paths: list[str], stats, until: float, kind):
    while time.monotonic() < until:
        for path in paths:
            await stats.timed(kind, http.get(f"{url}{path}", headers=headers))
        await asyncio.sleep(1)


async def run_phones(
    url: str, keepers, rate: float, seconds: int, readers: dict[str, tuple[dict, list[str]]]
) -> dict:
    """Every keeper's phone at `rate` entries/s in all for `seconds`, beside the readers
    (kind → (headers, paths), read in a loop); the latencies, errors and phones."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        began = time.monotonic()
        phones = await _log_in(http, url, keepers)
        print(f"{len(phones)} phones logged in: {time.monotonic() - began:.0f} s")
        stats, mean = Stats(), len(phones) / rate
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_phone_loop(phone, http, url, stats, until, mean) for phone in phones),
            *(_reader(http, url, h, paths, stats, until, kind)
              for kind, (h, paths) in readers.items()),
        )  # fmt: skip
        for phone in phones:  # drain what a failed push left behind
            if phone.outbox:
                await phone.push(http, url, stats, retry=False)
    return {"stats": stats, "phones": phones}


async def ledger_check(url: str, phones: list[Phone]) -> dict[str, int]:
    """Every entry the phones created is in the ledger exactly once."""
    import asyncpg

    created = [uuid.UUID(i) for phone in phones for i in phone.created]
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT id, COUNT(*) AS n FROM ledger_event WHERE id = ANY($1) GROUP BY id", created
        )
    finally:
        await connection.close()
    return {
        "created": len(created),
        "lost": len(created) - len(rows),
        "doubled": sum(row["n"] - 1 for row in rows),
    }


def summary(stats: Stats) -> list[str]:
    from loadtest import percentile

    lines = []
    for kind, values in sorted(stats.latency.items()):
        lines.append(
            f"{kind}: n={len(values)} p50 {percentile(values, 0.5):.0f} ms, "
            f"p95 {percentile(values, 0.95):.0f} ms, p99 {percentile(values, 0.99):.0f} ms"
            + (f", mean {statistics.mean(values) * 1000:.0f} ms" if values else "")
        )
    lines.append(f"errors: {dict(stats.errors) or 0}")
    return lines
