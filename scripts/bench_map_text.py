#!/usr/bin/env python3
"""How long a staff member waits when changing the catalogue's rule (a 代销 text mapped to a
product, a product's category), on a county built by scripts/gen_county.py (or bench_county.py
--keep), through a real `cunzhan serve`.

    .venv/bin/python scripts/bench_map_text.py --data-dir /work/bench/c5m [--text 苹果]

The change moves the county's figures at once (rollups.follow_catalogue): a text mapped to a
farm product moves none; to a product that is not farm produce, the months of that text's sales
are recounted (or the county rebuilt, when they are most of it). A category changed is followed
by the next page read (timed: the month's kpis read first after it, then again). Measured
for the bench's own text (`--text`, sold at every station on every day: the worst case) and for
a text one station's keeper writes (`--narrow`, 60 sales over the last 40 days, pushed here
through sync). The baseline, measured in the same run after the two products are added, is what
every change cost before: the county's full rebuild (`rollups.rebuild_county`, timed in this
process), inside the mapping's request or the rollup job. Everything is undone at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_county import KEEPER_PHONE, PASSWORD, STAFF_PHONE

from tests.server_process import Server, environment, run

FARM = {"code": "BM-F1", "name": "基准苹果", "category": "farm", "unit": "斤"}
OTHER = {"code": "BM-O1", "name": "基准礼盒", "category": "other", "unit": "个"}


def product_id(client: httpx.Client, base: str, headers: dict, product: dict) -> str:
    listed = client.get(f"{base}/products", headers=headers).json()
    rows = listed if isinstance(listed, list) else listed.get("products", [])
    for row in rows:
        if row["code"] == product["code"]:
            return row["id"]
    created = client.post(f"{base}/products", json=product, headers=headers)
    created.raise_for_status()
    return created.json()["id"]


def timed_mapping(client, base, headers, text: str, target: str | None) -> float:
    began = time.perf_counter()
    answer = client.put(
        f"{base}/product-texts", json={"text": text, "product_id": target}, headers=headers
    )
    answer.raise_for_status()
    return time.perf_counter() - began


def county_rebuild_seconds(county: str) -> float:
    from backend.county import rollups

    began = time.perf_counter()
    asyncio.run(rollups.rebuild_county(uuid.UUID(county)))
    return time.perf_counter() - began


def first_county() -> str:
    from backend.piccolo_conf import DB  # noqa: F401 - the engine the settings name
    from backend.registry.tables import County

    async def first() -> dict:
        return await County.select(County.id).first()

    return str(asyncio.run(first())["id"])


def login(client: httpx.Client, phone: str) -> dict:
    answer = client.post("/api/v1/auth/login", json={"phone": phone, "password": PASSWORD})
    answer.raise_for_status()
    client.cookies.clear()
    return {"authorization": f"Bearer {answer.json()['token']}", "accept-language": "zh-CN"}


def push_narrow_sales(client: httpx.Client, text: str) -> None:
    """60 sales of `text` by the bench keeper's station over the last 40 days."""
    headers = login(client, KEEPER_PHONE)
    now = datetime.datetime.now(datetime.UTC)
    events = [
        {
            "id": str(uuid.uuid4()),
            "type": "sale.recorded",
            "occurred_at": (now - datetime.timedelta(days=n * 40 / 60)).isoformat(),
            "data": {
                "product": text,
                "quantity": 1,
                "unit": "个",
                "amount_fen": 2500,
                "commission_fen": 0,
                "channel": "微信",
            },
        }
        for n in range(60)
    ]
    answer = client.post(
        "/api/v1/sync", json={"device_id": str(uuid.uuid4()), "events": events}, headers=headers
    )
    answer.raise_for_status()
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}, answer.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--text", default="苹果", help="a text every station's keeper wrote")
    parser.add_argument("--narrow", default="基准茶壶", help="a text one station's keeper writes")
    args = parser.parse_args()
    workdir = Path(args.data_dir)
    env = environment(workdir / "data", f"sqlite:///{workdir}/bench.db",
                      CUNZHAN_LOG_LEVEL="WARNING")  # fmt: skip
    os.environ.update({k: v for k, v in env.items() if k.startswith("CUNZHAN_")})
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"

    run(env, "migrate", "--quiet")  # a county built by an earlier release
    server = Server(env)
    server.start(timeout=180)
    try:
        client = httpx.Client(base_url=server.url, timeout=600)
        headers = login(client, STAFF_PHONE)
        county = first_county()
        base = f"/api/v1/counties/{county}"
        farm, other = (product_id(client, base, headers, p) for p in (FARM, OTHER))
        push_narrow_sales(client, args.narrow)
        rebuild_s = county_rebuild_seconds(county)  # under the new products: nothing behind
        print(f"baseline, the county's full rebuild (every mapping before): {rebuild_s:.1f} s")
        client.get(f"{base}/product-sales", headers=headers).raise_for_status()  # caught up

        month = f"{datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=8):%Y-%m}"

        def report(label: str, seconds: float) -> None:
            print(f"{label}: {seconds:.2f} s ({seconds / rebuild_s:.3f} of the rebuild)")

        def mapped(text: str, label: str, target: str | None) -> None:
            report(f"{text!r} mapped {label}", timed_mapping(client, base, headers, text, target))

        def category(to: str) -> None:
            edit = {k: v for k, v in OTHER.items() if k != "code"} | {"category": to}
            answer = client.put(f"{base}/products/{other}", json=edit, headers=headers)
            answer.raise_for_status()
            for read in ("first", "second"):
                began = time.perf_counter()
                client.get(f"{base}/kpis?month={month}", headers=headers).raise_for_status()
                report(f"{OTHER['name']} made {to}: the month's kpis, {read} read",
                       time.perf_counter() - began)  # fmt: skip

        mapped(args.narrow, "to a farm product (no figure moves)", farm)
        mapped(args.narrow, "to a product not farm produce (its months recounted)", other)
        category("farm")
        category("other")
        mapped(args.narrow, "unmapped again (recounted back)", None)
        mapped(args.text, "to a farm product (no figure moves)", farm)
        mapped(args.text, "to a product not farm produce (the county rebuilt)", other)
        mapped(args.text, "unmapped again (rebuilt back)", None)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
