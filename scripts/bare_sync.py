#!/usr/bin/env python3
"""The baseline for scripts/bench_sync.py: a bare Litestar + msgspec + SQLite endpoint that only
appends the pushed events (WAL, synchronous=FULL, one commit per request) and answers each
`accepted`. No accounts, validation, hashing or projections: what a push costs at the least on
the same server stack (uvicorn, uvloop, httptools) as `cunzhan serve`.

    .venv/bin/python scripts/bare_sync.py --port 8765 --database /tmp/bare.db
"""

from __future__ import annotations

import argparse
import sqlite3
import uuid
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, Request, post


class Event(msgspec.Struct):
    id: uuid.UUID
    type: str
    occurred_at: str
    data: dict[str, Any]


class Batch(msgspec.Struct):
    device_id: uuid.UUID
    events: list[Event]


class Result(msgspec.Struct):
    id: str
    status: str


class Answer(msgspec.Struct):
    results: list[Result]


def create_app(path: str) -> Litestar:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "busy_timeout = 30000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS bare_event (id TEXT PRIMARY KEY, station TEXT, device_id TEXT,"
        " type TEXT, occurred_at TEXT, data TEXT)"
    )

    @post("/sync", status_code=200)
    async def sync(request: Request, data: Batch) -> Answer:
        station = request.headers.get("authorization", "")
        rows = [
            (str(e.id), station, str(data.device_id), e.type, e.occurred_at,
             msgspec.json.encode(e.data).decode())
            for e in data.events
        ]  # fmt: skip
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO bare_event VALUES (?, ?, ?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
        return Answer(results=[Result(id=row[0], status="accepted") for row in rows])

    @post("/healthz", status_code=200)
    async def healthz() -> str:
        return "ok"

    return Litestar(route_handlers=[sync, healthz], logging_config=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.database),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
