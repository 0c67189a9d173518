"""The county pages of scripts/bench_county.py: every page a staff member opens, timed from a real
`cunzhan serve` process (p50/p95 over N requests, and the server's CPU per request read from
/proc, which a busy machine inflates far less than the latency), the month's workbook, and the
table of figures beside issue 17's goals."""

from __future__ import annotations

import datetime
import os
import statistics
import time
import zoneinfo

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
PAGE_GOAL_MS = 300
WORKBOOK_GOAL_S = 1.0
REBUILD_GOAL_S = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def staff_pages(built: dict) -> dict[str, str]:
    """Every page of the county's menu (templates/county/base.html) and the pages under them, for
    the month so far and, where a month is chosen, the last full month (the subsidies page's
    month of ~29,000 parcels at 300 stations)."""
    today = datetime.datetime.now(TZ).date()
    previous = f"{today.replace(day=1) - datetime.timedelta(days=1):%Y-%m}"
    station = built["station_ids"][len(built["station_ids"]) // 2]
    county = built["county_id"]
    return {
        "dashboard /county/": "/county/",
        "stations": "/county/stations",
        f"stations {previous}": f"/county/stations?month={previous}",
        "station page": f"/county/stations/{station}",
        "check-ins": "/county/checkins",
        "coverage": "/county/coverage",
        f"coverage {previous}": f"/county/coverage?month={previous}",
        "township": "/county/township",
        "scorecard": "/county/scorecard",
        "trends": "/county/trends",
        "notices": "/county/notices",
        "training": "/county/training",
        "subsidies": "/county/subsidies",
        f"subsidies {previous}": f"/county/subsidies?month={previous}",
        f"subsidies {previous}, one station": f"/county/subsidies?month={previous}&station=S0001",
        "cash": "/county/cash",
        f"cash {previous}": f"/county/cash?month={previous}",
        f"cash {previous}, one station": f"/county/cash?month={previous}&station={station}",
        "month review": "/county/months",
        "reports": "/county/reports",
        "hub": "/county/hub",
        "delivery": "/county/delivery",
        "trace": "/county/trace",
        "products": "/county/products",
        "product sales": "/county/products/sales",
        "registry: townships": "/county/registry/townships",
        "registry: villages": "/county/registry/villages",
        "registry: stations": "/county/registry/stations",
        "registry: households": "/county/registry/households",
        "registry: keepers": "/county/registry/keepers",
        "registry: county settings": "/county/registry/county",
        "rollup API (month, all stations)": (
            f"/api/v1/counties/{county}/rollup?from={today.replace(day=1)}&to={today}"
        ),
    }


def workbooks(built: dict) -> dict[str, str]:
    today = datetime.datetime.now(TZ).date()
    previous = today.replace(day=1) - datetime.timedelta(days=1)
    base = f"/api/v1/counties/{built['county_id']}/export.xlsx?month="
    return {
        f"export.xlsx {today:%Y-%m} (so far)": f"{base}{today:%Y-%m}",
        f"export.xlsx {previous:%Y-%m}": f"{base}{previous:%Y-%m}",
    }


def _timed(client, headers: dict, path: str, requests: int, pid: int) -> dict:
    first = client.get(path, headers=headers)
    if first.status_code != 200:
        return {"status": first.status_code}
    timings = []
    cpu_before = cpu_seconds(pid)
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 95),
        "cpu_ms": (cpu_seconds(pid) - cpu_before) * 1000 / requests,
        "bytes": len(first.content),
    }


def _wanted(label: str, chosen: list[str]) -> bool:
    return not chosen or any(word in label for word in chosen)


def measure_pages(
    env: dict, built: dict, requests: int, staff: tuple[str, str], chosen: list[str] | None = None
) -> dict:
    """Each page: one request to warm it, then `requests` timed; each workbook 3 times. With
    `chosen` words, only the pages (and workbooks) whose label contains one of them."""
    chosen = chosen or []
    import httpx

    from tests.server_process import Server

    server = Server(env)
    server.start(timeout=180)
    try:
        assert server.process is not None
        pid = server.process.pid
        client = httpx.Client(base_url=server.url, timeout=120)
        phone, password = staff
        answer = client.post("/api/v1/auth/login", json={"phone": phone, "password": password})
        answer.raise_for_status()
        client.cookies.clear()
        headers = {"authorization": f"Bearer {answer.json()['token']}", "accept-language": "zh-CN"}
        page_headers = {**headers, "accept": "text/html"}
        figures = {
            label: _timed(client, headers if path.startswith("/api/") else page_headers, path,
                          requests, pid)
            for label, path in staff_pages(built).items()
            if _wanted(label, chosen)
        }  # fmt: skip
        for label, path in workbooks(built).items():
            if _wanted(label, chosen):
                figures[label] = _timed(client, headers, path, 3, pid)
        return figures
    finally:
        server.kill()


def print_table(pages: dict, rollup: dict | None, requests: int) -> None:
    """The figures beside the goals: p95 ≤ 300 ms per page, a workbook ≤ 1 s, a rebuild ≤ 60 s."""
    print("\n| what | p50 ms | p95 ms | server CPU ms/request | bytes | goal | met |")
    print("|---|---|---|---|---|---|---|")
    for label, figures in pages.items():
        if "p50_ms" not in figures:
            print(f"| {label} | status {figures['status']} | | | | | |")
            continue
        workbook = label.startswith("export.xlsx")
        goal = WORKBOOK_GOAL_S * 1000 if workbook else PAGE_GOAL_MS
        measured = figures["p50_ms"] if workbook else figures["p95_ms"]
        print(
            f"| {label} | {figures['p50_ms']:,.0f} | {figures['p95_ms']:,.0f} | "
            f"{figures['cpu_ms']:,.0f} | {figures['bytes']:,} | "
            f"{'median' if workbook else 'p95'} ≤ {goal:,.0f} ms | "
            f"{'yes' if measured <= goal else '**no**'} |"
        )
    if rollup is not None and rollup.get("rebuild_s") is not None:
        met = "yes" if rollup["rebuild_s"] <= REBUILD_GOAL_S else "**no**"
        print(
            f"| full rebuild ({rollup['rebuild_days']:,} station-days) | | "
            f"{rollup['rebuild_s']:.1f} s wall | {rollup['rebuild_cpu_s']:.1f} s CPU | | "
            f"≤ {REBUILD_GOAL_S:.0f} s | {met} |"
        )
    print(f"(pages: {requests} requests each after one to warm; workbooks: 3 each)")
