"""Batch scan-in (连续入库) in the browser at 4× CPU slowdown: sustained parcels per minute.

Starts `cunzhan serve` on a fresh SQLite database with the demo county, opens the PWA in Debian's
Chromium at 360 px with the CPU slowed 4× (CDP `Emulation.setCPUThrottlingRate`, what Lighthouse
uses for a mid-range phone), and has a scanner gun type N tracking numbers at 8 ms a key, each
followed by a phone typed as the keeper would (`--phone-ms` a key; 8 = as fast as a gun, the app's
own limit). It reports the time from the first key to the last parcel listed, the parcels per minute
that makes, and checks every number reached the server once.

    .venv/bin/python scripts/bench_counter.py [--parcels 60] [--phone-ms 8] [--offline]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import Server, environment, run

CHROMIUM = "/usr/bin/chromium"
KEEPER = "13800000030"
PASSWORD = "demo1234"  # noqa: S105  (the demo logins of the README)


async def bench_keys(page, count: int, phone_ms: int) -> None:
    rng = random.Random(7)
    for i in range(count):
        await page.keyboard.type(f"75{rng.randrange(10**12, 10**13)}", delay=8)
        await page.keyboard.press("Enter")
        await page.keyboard.type(f"1390000{i:04d}", delay=phone_ms)
        await page.keyboard.press("Enter")


async def bare_page_typing(context, args: argparse.Namespace) -> float:
    """The same keys into two bare inputs at the same slowdown: what the harness itself costs
    (each key is a round trip to the browser; a real gun has none). Seconds a parcel."""
    page = await context.new_page()
    await page.set_content("<input id=a><input id=b>")
    cdp = await context.new_cdp_session(page)
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
    await page.focus("#a")
    count = min(args.parcels, 20)
    started = time.perf_counter()
    await bench_keys(page, count, args.phone_ms)
    elapsed = time.perf_counter() - started
    await page.close()
    return elapsed / count


async def bench(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as folder:
        env = environment(Path(folder), f"sqlite:///{folder}/bench.db")
        run(env, "migrate", "--quiet")
        run(env, "demo")
        server = Server(env)
        server.start(timeout=60)
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
                )
                context = await browser.new_context(
                    viewport={"width": 360, "height": 740}, locale="zh-CN"
                )
                page = await context.new_page()
                await page.goto(f"{server.url}/app/")
                await page.fill("form.login-form [name=phone]", KEEPER)
                await page.fill("form.login-form [name=password]", PASSWORD)
                await page.click("form.login-form button[type=submit]")
                await page.wait_for_selector(".home")
                await page.evaluate("location.hash = '#/batch'")
                await page.wait_for_selector("form[data-form='batch']")
                cdp = await context.new_cdp_session(page)
                ceiling = await bare_page_typing(context, args)
                await cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
                if args.offline:
                    await context.set_offline(True)
                rng = random.Random(7)
                numbers = [f"75{rng.randrange(10**12, 10**13)}" for _ in range(args.parcels)]
                started = time.perf_counter()
                await bench_keys(page, args.parcels, args.phone_ms)
                await page.wait_for_function(
                    "n => document.querySelectorAll('[data-batch-item]').length >= n",
                    arg=args.parcels,
                    timeout=600_000,
                )
                elapsed = time.perf_counter() - started
                await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
                if args.offline:
                    await context.set_offline(False)
                login = httpx.post(
                    f"{server.url}/api/v1/auth/login",
                    json={"phone": KEEPER, "password": PASSWORD},
                ).json()
                headers = {"authorization": f"Bearer {login['token']}"}
                station = login["user"]["station_id"]
                deadline = time.monotonic() + 120
                on_server: set[str] = set()
                while time.monotonic() < deadline:
                    rows = httpx.get(
                        f"{server.url}/api/v1/stations/{station}/parcels",
                        params={"state": "on_shelf"},
                        headers=headers,
                    ).json()
                    on_server = {row["tracking_no"] for row in rows}
                    if set(numbers) <= on_server:
                        break
                    await asyncio.sleep(1)
                await browser.close()
        finally:
            server.stop()
    per_minute = args.parcels / elapsed * 60
    whole = set(numbers) <= on_server
    print(f"batch scan-in, {args.parcels} parcels, CPU {args.cpu}× slower, scan 8 ms/key, phone "
          f"{args.phone_ms} ms/key, {'offline' if args.offline else 'online'}")  # fmt: skip
    print(f"  first key → last parcel listed: {elapsed:.1f} s")
    print(f"  sustained: {per_minute:.0f} parcels/min ({elapsed / args.parcels:.2f} s a parcel)")
    print(f"  the harness alone (same keys, bare page, same slowdown): {ceiling:.2f} s a parcel "
          f"= {60 / ceiling:.0f}/min ceiling; the app's own share ≈ "
          f"{max(0.0, elapsed / args.parcels - ceiling):.2f} s a parcel")  # fmt: skip
    print(f"  on the server afterwards, each once and whole: {'yes' if whole else 'NO'}")
    return 0 if whole else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=60)
    parser.add_argument("--cpu", type=float, default=4.0, help="CPU slowdown (CDP)")
    parser.add_argument("--phone-ms", type=int, default=8, help="ms a key for the phone number")
    parser.add_argument("--offline", action="store_true", help="the phone is offline throughout")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
